/* Activation micro-kernels (cnn_act.h's definitions) over a flat span of floats. This one source
 * is compiled once per ISA (act__<isa>.c define CNN_UKERNEL_ISA and include it): the loops are
 * plain C that the compiler vectorizes with that ISA's flags only, which matters for the
 * exp-based kinds (Sigmoid, Tanh, SiLU), compute-bound at the baseline's four lanes. */
#include <string.h>

#include "cnn_ukernels.h"

#define CNN_CAT_(a, b) a##b
#define CNN_CAT(a, b) CNN_CAT_(a, b)
#define ACT_FWD CNN_CAT(cnn_f32_act_ukernel__, CNN_UKERNEL_ISA)
#define ACT_BWD CNN_CAT(cnn_f32_act_backward_ukernel__, CNN_UKERNEL_ISA)

void ACT_FWD(int kind, float alpha, const float* x, size_t count, float* y) {
    memcpy(y, x, sizeof(float) * count);
    cnn_act_apply(y, count, kind, alpha);
}

void ACT_BWD(int kind, float alpha, const float* dy, const float* x, const float* y, size_t count,
             float* dx) {
    cnn_act_backward_span(dy, x, y, count, kind, alpha, dx);
}
