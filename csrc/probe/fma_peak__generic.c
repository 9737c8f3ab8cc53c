/* Multiply-add peak probe in portable C (baseline SSE2 has no FMA: a multiply and an add). */
#include "cnn_probe.h"

float cnn_f32_fma_peak_ukernel__generic(size_t iterations) {
    float acc[8][4];
    for (int k = 0; k < 8; k++)
        for (int l = 0; l < 4; l++) acc[k][l] = (float)(k + l);
    for (size_t i = 0; i < iterations; i++)
        for (int k = 0; k < 8; k++)
            for (int l = 0; l < 4; l++) acc[k][l] = acc[k][l] * 0.999999f + 1e-7f;
    float s = 0.0f;
    for (int k = 0; k < 8; k++)
        for (int l = 0; l < 4; l++) s += acc[k][l];
    return s;
}
