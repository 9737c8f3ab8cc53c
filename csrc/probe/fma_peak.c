/* The machine's fp32 multiply-add peak, measured: every thread runs the selected ISA's probe
 * kernel; the caller times the call. Not an operator: only the benchmarks use it. */
#include "cnn_isa.h"
#include "cnn_probe.h"

static cnn_fma_peak_ukernel probe = cnn_f32_fma_peak_ukernel__generic;
static size_t flops_per_iteration = CNN_FMA_PEAK_FLOPS_PER_ITER_generic;

void cnn_fma_peak_select(int level) {
    switch (level) {
#if defined(__x86_64__)
        case CNN_ISA_AVX512:
            probe = cnn_f32_fma_peak_ukernel__avx512;
            flops_per_iteration = CNN_FMA_PEAK_FLOPS_PER_ITER_avx512;
            break;
        case CNN_ISA_AVX2:
            probe = cnn_f32_fma_peak_ukernel__avx2;
            flops_per_iteration = CNN_FMA_PEAK_FLOPS_PER_ITER_avx2;
            break;
#endif
        default:
            probe = cnn_f32_fma_peak_ukernel__generic;
            flops_per_iteration = CNN_FMA_PEAK_FLOPS_PER_ITER_generic;
            break;
    }
}

double cnn_fma_peak_run(int64_t iterations, int threads, float* sink) {
    float total = 0.0f;
    if (threads < 1) threads = 1;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    total += probe((size_t)iterations);
    *sink = total;
    return (double)iterations * (double)flops_per_iteration * threads;
}
