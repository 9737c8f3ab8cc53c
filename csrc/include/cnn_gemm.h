/* Packed single-precision GEMM (ops/gemm.c) and its micro-kernels (ukernels/gemm/).
 *
 * C (m x n, row stride ldc) = A (m x k) B (k x n) (+ bias[j] on column j). Operands are strided
 * views, so transposes cost nothing: element (i, j) of a view is p[i * rs + j * cs]. A is copied
 * into panels of MR rows (for each k, MR consecutive floats), B into panels of NR columns (for each
 * k, NR floats), both zero-padded at the edge; a micro-kernel multiplies one A panel by one B panel
 * over a block of k into an MR x NR tile held in registers. B may be packed once ahead (weights
 * that change once per step): the packing is tied to the kernel's NR (cnn_gemm_nr()). */
#ifndef CNN_GEMM_H
#define CNN_GEMM_H

#include "cnn_common.h"

/* k runs in blocks of this many steps (ops/gemm.c): one B panel block (KC x NR floats) stays in L1. */
#define CNN_GEMM_KC 256

typedef struct {
    const float* p;
    int64_t rs, cs; /* element (i, j) at p[i * rs + j * cs] */
} cnn_gemm_operand;

/* One MR x NR tile: acc = sum over kc steps of a[s*MR + i] * b[s*NR + j]; stores the first mr
 * rows and nr columns to c (row stride ldc) as c = acc + bias[j] (bias NULL: 0), or c += acc when
 * `accumulate`. a and b are packed panels (any alignment). */
typedef void (*cnn_gemm_ukernel)(size_t kc, const float* a, const float* b, float* c, size_t ldc,
                                 size_t mr, size_t nr, int accumulate, const float* bias);

/* A micro-kernel with the tile it computes, as its file exports it. */
typedef struct {
    cnn_gemm_ukernel run;
    int64_t mr, nr;
    const char* name;
} cnn_gemm_kernel;

#define CNN_GEMM_DECLARE(isa) extern const cnn_gemm_kernel cnn_f32_gemm_kernel__##isa;
CNN_GEMM_DECLARE(generic)
#if defined(__x86_64__)
CNN_GEMM_DECLARE(avx2)
CNN_GEMM_DECLARE(avx512)
#endif

/* The kernel chosen for the selected ISA level (dispatch.c calls cnn_gemm_select). */
extern cnn_gemm_kernel cnn_gemm_cfg;
void cnn_gemm_select(int level);

int64_t cnn_gemm_nr(void);
/* Floats of a packed B (k x n) for the current kernel. */
int64_t cnn_gemm_packed_b_floats(int64_t k, int64_t n);
void cnn_gemm_pack_b(int64_t k, int64_t n, cnn_gemm_operand b, float* packed);

/* C = A B (+ bias). B from `b`, or from `packed_b` (not NULL) packed with panel width packed_nr,
 * which must be the current kernel's NR (else CNN_EINVAL). Every element of C is written; the
 * result does not depend on the thread count (each tile is summed by one thread, k in order). */
int cnn_gemm(int64_t m, int64_t n, int64_t k, cnn_gemm_operand a, cnn_gemm_operand b,
             const float* packed_b, int64_t packed_nr, const float* bias, float* c, int64_t ldc);

#endif
