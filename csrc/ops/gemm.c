/* Packed f32 GEMM (cnn_gemm.h): C = A B (+ bias), the engine of the Linear layer's three passes.
 *
 * A is packed into panels of MR rows and B (unless packed ahead) into panels of NR columns, both
 * in parallel. C is cut into MR x NR tiles, numbered column panel by column panel, and each thread
 * takes one contiguous range of tiles (so consecutive tiles share a B panel). k runs in blocks of
 * CNN_GEMM_KC so that one B panel block (KC x NR) stays in L1 across the row panels and the A block
 * (m x KC) in L2 across the column panels; the first block writes C, later ones add to it. Every
 * tile is summed by one thread in the same order whatever the thread count. */
#include <string.h>

#include "cnn_gemm.h"

#ifdef _OPENMP
#include <omp.h>
#endif

cnn_gemm_kernel cnn_gemm_cfg;

int64_t cnn_gemm_nr(void) { return cnn_gemm_cfg.nr; }

int64_t cnn_gemm_packed_b_floats(int64_t k, int64_t n) {
    const int64_t nr = cnn_gemm_cfg.nr;
    return (n + nr - 1) / nr * nr * k;
}

#define PACK_STEPS 32

/* Rows i0 .. i0+rows-1 of the view, all k, into a panel of `width` floats per k (zero-padded). */
static void pack_panel(int64_t k, int64_t i0, int64_t rows, int64_t width, cnn_gemm_operand v,
                       float* dst) {
    if (rows < width)
        for (int64_t s = 0; s < k; s++) memset(dst + s * width + rows, 0, (size_t)(width - rows) * sizeof(float));
    if (v.rs == 1) { /* the rows are contiguous at each k */
        for (int64_t s = 0; s < k; s++)
            memcpy(dst + s * width, v.p + i0 + s * v.cs, (size_t)rows * sizeof(float));
        return;
    }
    /* a transpose: in blocks of PACK_STEPS steps, so the block of the panel being written stays
     * in L1 while each row is read PACK_STEPS floats at a time */
    for (int64_t s0 = 0; s0 < k; s0 += PACK_STEPS) {
        const int64_t s1 = cnn_min64(k, s0 + PACK_STEPS);
        for (int64_t i = 0; i < rows; i++) {
            const float* src = v.p + (i0 + i) * v.rs;
            for (int64_t s = s0; s < s1; s++) dst[s * width + i] = src[s * v.cs];
        }
    }
}

/* Panel p of A (rows of the view) or of B (columns: the view transposed). */
static void pack_a(int64_t m, int64_t k, int64_t mr, cnn_gemm_operand a, int64_t p, float* dst) {
    pack_panel(k, p * mr, cnn_min64(mr, m - p * mr), mr, a, dst + p * mr * k);
}

static void pack_b(int64_t k, int64_t n, int64_t nr, cnn_gemm_operand b, int64_t p, float* dst) {
    const cnn_gemm_operand bt = {b.p, b.cs, b.rs};
    pack_panel(k, p * nr, cnn_min64(nr, n - p * nr), nr, bt, dst + p * nr * k);
}

void cnn_gemm_pack_b(int64_t k, int64_t n, cnn_gemm_operand b, float* packed) {
    const int64_t nr = cnn_gemm_cfg.nr, np = (n + nr - 1) / nr;
#pragma omp parallel for num_threads(cnn_threads_for_work(np, (double)n * k)) schedule(static)
    for (int64_t p = 0; p < np; p++) pack_b(k, n, nr, b, p, packed);
}

/* C = bias (or 0) when there is nothing to sum. */
static void fill_bias(int64_t m, int64_t n, const float* bias, float* c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) c[i * ldc + j] = bias ? bias[j] : 0.0f;
}

int cnn_gemm(int64_t m, int64_t n, int64_t k, cnn_gemm_operand a, cnn_gemm_operand b,
             const float* packed_b, int64_t packed_nr, const float* bias, float* c, int64_t ldc) {
    const cnn_gemm_kernel kern = cnn_gemm_cfg;
    const int64_t mr = kern.mr, nr = kern.nr;
    if (packed_b && packed_nr != nr) return CNN_EINVAL;
    if (m <= 0 || n <= 0) return CNN_OK;
    if (k <= 0) {
        fill_bias(m, n, bias, c, ldc);
        return CNN_OK;
    }
    const int64_t mp = (m + mr - 1) / mr, np = (n + nr - 1) / nr, tiles = mp * np;
    const int nthreads = cnn_threads_for_work(tiles, 2.0 * m * n * k);
    /* Without a packed B, each thread packs one K block of one B panel at a time (KC x NR floats,
     * in L1) right before the tiles that use it: no pass over the whole of B to memory and back,
     * which for a large weight read by few rows (a 25088 x 4096 Linear at batch 16) cost more
     * than the multiply-adds. The arithmetic is the same as with B packed ahead. */
    float* pa = cnn_alloc((size_t)(mp * mr * k), sizeof(float));
    float* pb = packed_b ? NULL : cnn_alloc((size_t)nthreads * CNN_GEMM_KC * nr, sizeof(float));
    if (!pa || (!packed_b && !pb)) {
        cnn_free(pa);
        cnn_free(pb);
        return CNN_ENOMEM;
    }
    const cnn_gemm_operand bt = {b.p, b.cs, b.rs}; /* B's columns as rows */
#pragma omp parallel num_threads(nthreads)
    {
#pragma omp for schedule(static)
        for (int64_t p = 0; p < mp; p++) pack_a(m, k, mr, a, p, pa);
        int64_t t0 = 0, t1 = tiles, tid = 0;
#ifdef _OPENMP
        const int64_t nt = omp_get_num_threads();
        tid = omp_get_thread_num();
        t0 = tiles * tid / nt;
        t1 = tiles * (tid + 1) / nt;
#endif
        float* block = pb ? pb + tid * CNN_GEMM_KC * nr : NULL;
        for (int64_t s0 = 0; s0 < k; s0 += CNN_GEMM_KC) {
            const int64_t kc = cnn_min64(CNN_GEMM_KC, k - s0);
            int64_t have = -1; /* the B panel whose block `block` holds */
            for (int64_t t = t0; t < t1; t++) {
                const int64_t jp = t / mp, ip = t % mp, i0 = ip * mr, j0 = jp * nr;
                const float* bk;
                if (packed_b) {
                    bk = packed_b + jp * nr * k + s0 * nr;
                } else {
                    if (jp != have) {
                        const cnn_gemm_operand v = {bt.p + s0 * bt.cs, bt.rs, bt.cs};
                        pack_panel(kc, j0, cnn_min64(nr, n - j0), nr, v, block);
                        have = jp;
                    }
                    bk = block;
                }
                kern.run((size_t)kc, pa + ip * mr * k + s0 * mr, bk, c + i0 * ldc + j0, (size_t)ldc,
                         (size_t)cnn_min64(mr, m - i0), (size_t)cnn_min64(nr, n - j0), s0 > 0,
                         bias && s0 == 0 ? bias + j0 : NULL);
            }
        }
    }
    cnn_free(pa);
    cnn_free(pb);
    return CNN_OK;
}
