/* Max-pooling micro-kernel: the max of one window of a 16-lane channel block and its argmax
 * (cnn_ukernels.h gives the contract). This one source is compiled once per ISA
 * (maxpool_nchw16c__<isa>.c define CNN_UKERNEL_ISA and include it): the compare-and-select over
 * the 16 lanes is plain C that the compiler vectorizes with that ISA's flags only (at the
 * baseline's four lanes and no blend instruction it was compute-bound). */
#include <math.h>
#include <stdint.h>

#include "cnn_ukernels.h"

#define CNN_CAT_(a, b) a##b
#define CNN_CAT(a, b) CNN_CAT_(a, b)
#define MAXPOOL_WINDOW CNN_CAT(cnn_f32_maxpool_window_nchw16c_ukernel__, CNN_UKERNEL_ISA)
#define L 16

void MAXPOOL_WINDOW(const float* src, int64_t w, int64_t ih0, int64_t nh, int64_t dh, int64_t iw0,
                    int64_t nw, int64_t dw, float* out, int32_t* arg_out) {
    float best[L];
    int32_t arg[L];
    for (int l = 0; l < L; l++) {
        best[l] = -INFINITY;
        arg[l] = (int32_t)(ih0 * w + iw0);
    }
    for (int64_t i = 0; i < nh; i++)
        for (int64_t j = 0; j < nw; j++) {
            const int64_t pos = (ih0 + i * dh) * w + iw0 + j * dw;
            const float* v = src + pos * L;
#pragma omp simd /* else GCC unrolls the lanes first and leaves the selects scalar */
            for (int l = 0; l < L; l++) {
                const float xv = v[l];
                const int take = (xv > best[l]) | (xv != xv); /* greater, or NaN */
                best[l] = take ? xv : best[l];
                arg[l] = take ? (int32_t)pos : arg[l];
            }
        }
    for (int l = 0; l < L; l++) {
        out[l] = best[l];
        arg_out[l] = arg[l];
    }
}
