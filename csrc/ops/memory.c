/* 64-byte aligned allocation for operators' temporary buffers, and the glibc malloc tuning that
 * keeps freed activation-sized blocks in the process. */
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <string.h>

#include "cnn_common.h"

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
