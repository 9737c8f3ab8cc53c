/* The one place that decides how many threads an operator uses, and aligned allocation. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <string.h>

#include "cnn_common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static int explicit_threads = 0;

/* Fork safety. GNU libgomp is not fork-safe: a child forked after the parent ran a parallel
 * region inherits the runtime's state but not its worker threads, and its next parallel region
 * with more than one thread waits forever for them. So a forked child runs every kernel on one
 * thread (a team of one never touches the pool) until it calls cnn_set_num_threads itself, which
 * is then its own decision (safe with a runtime that supports it, e.g. LLVM's libomp, or in a
 * child of a parent that never ran a kernel; documented in the README). */
static volatile int forked_child = 0;

static void on_fork_child(void) { forked_child = 1; }

__attribute__((constructor)) static void register_fork_handler(void) {
    pthread_atfork(NULL, NULL, on_fork_child);
}

int cnn_forked_child(void) { return forked_child; }

void cnn_set_num_threads(int n) {
    explicit_threads = n > 0 ? n : 0;
    if (n > 0) forked_child = 0; /* returning to the default (n <= 0) keeps a child on one thread */
}

int cnn_get_num_threads(void) {
    if (forked_child) return 1;
    if (explicit_threads > 0) return explicit_threads;
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int cnn_threads_for(int64_t work_items) {
    int64_t t = cnn_get_num_threads();
    if (work_items < t) t = work_items;
    return t < 1 ? 1 : (int)t;
}

#define CNN_FLOPS_PER_THREAD (1 << 20)

int cnn_threads_for_work(int64_t work_items, double flops) {
    const double by_work = flops / CNN_FLOPS_PER_THREAD + 1.0;
    return cnn_threads_for(by_work < (double)work_items ? (int64_t)by_work : work_items);
}

const char* cnn_openmp_runtime(void) {
#ifdef _OPENMP
    Dl_info info;
    if (dladdr((void*)&omp_get_max_threads, &info) && info.dli_fname) {
        const char* slash = strrchr(info.dli_fname, '/');
        return slash ? slash + 1 : info.dli_fname;
    }
    return "unknown";
#else
    return "none";
#endif
}

void* cnn_alloc(size_t count, size_t elem_size) {
    if (elem_size && count > (SIZE_MAX - 64) / elem_size) return NULL;
    size_t bytes = count * elem_size;
    bytes = (bytes + 63) & ~(size_t)63;
    if (bytes == 0) bytes = 64;
    return aligned_alloc(64, bytes);
}

void* cnn_calloc(size_t count, size_t elem_size) {
    void* p = cnn_alloc(count, elem_size);
    if (p) memset(p, 0, count * elem_size);
    return p;
}

void cnn_free(void* p) { free(p); }

/* Keep freed activation-sized blocks in the process instead of returning them to the kernel:
 * glibc serves blocks above its (dynamic) mmap threshold with fresh mmaps and trims the heap top
 * on free, so every training step page-faulted its outputs in again (the kernel zeroing each
 * page): 20-35% of a memory-bound operator's time, measured on the seed CNN's layers. Returns 1
 * when the setting was applied (glibc), 0 otherwise. */
int cnn_tune_malloc(void) {
#if defined(__GLIBC__)
    int ok = mallopt(M_MMAP_THRESHOLD, 32 << 20);  /* glibc's maximum: heap for blocks < 32 MiB */
    ok &= mallopt(M_TRIM_THRESHOLD, 512 << 20);     /* give memory back only past 512 MiB free */
    ok &= mallopt(M_TOP_PAD, 16 << 20);
    return ok != 0;
#else
    return 0;
#endif
}
