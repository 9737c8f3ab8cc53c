/* 64-byte aligned allocation for operators' temporary buffers, and the glibc malloc tuning that
 * keeps freed activation-sized blocks in the process. */
#include <stdlib.h>
#if defined(__GLIBC__)
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
