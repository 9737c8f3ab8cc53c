/* Shared definitions for cnncore's C operators: the channel block, error codes, threads. */
#ifndef CNN_COMMON_H
#define CNN_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Activations are NCHW16c: channels in blocks of 16, the block innermost, the last block
 * zero-padded. Every operator keeps the padded lanes of its outputs at zero. */
#define CNN_BLOCK 16

/* Return codes of operators (0 = success). The Cython layer turns them into exceptions. */
#define CNN_OK 0
#define CNN_ENOMEM 1   /* a temporary buffer could not be allocated */
#define CNN_EINVAL 2   /* arguments the Python layer should have rejected */

static inline int64_t cnn_blocks(int64_t channels) { return (channels + CNN_BLOCK - 1) / CNN_BLOCK; }
static inline int64_t cnn_min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t cnn_max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Threads (threads.c): cnn_set_num_threads(n > 0) fixes the count; n <= 0 returns to the
 * default: OMP_NUM_THREADS (or threadpoolctl's limit) if set, else the CPUs this process may use:
 * its affinity mask capped by the cgroup CPU quota (cnn_cpu_limit). */
void cnn_set_num_threads(int n);
int cnn_get_num_threads(void);
int cnn_cpu_limit(void);
/* CPUs granted by the cgroup quota under `root` (v2 cpu.max or v1 cpu/cpu.cfs_*_us), 0 if none. */
int cnn_cgroup_cpu_limit(const char* root);
/* 1 in a process forked from one that had loaded cnncore, until it calls cnn_set_num_threads:
 * kernels then run on one thread (libgomp's pool does not survive fork; see threads.c). */
int cnn_forked_child(void);
/* Threads to use for `work_items` independent items: never more threads than items. */
int cnn_threads_for(int64_t work_items);
/* Threads for `work_items` items that together do `flops` arithmetic: small work stays on one
 * thread instead of paying a fork/join (about a million flops per extra thread). */
int cnn_threads_for_work(int64_t work_items, double flops);
/* Name of the OpenMP runtime library this module is linked to (e.g. "libgomp.so.1"), or "none". */
const char* cnn_openmp_runtime(void);

/* Memory (memory.c). Tune glibc malloc to keep freed activation-sized blocks; 1 if applied. */

/* 64-byte aligned allocation (returns NULL on failure or overflow); free with cnn_free. */
void* cnn_alloc(size_t count, size_t elem_size);
void* cnn_calloc(size_t count, size_t elem_size);
void cnn_free(void* p);

#endif
