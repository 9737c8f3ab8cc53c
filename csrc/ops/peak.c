/* The machine's fp32 multiply-add peak, measured: every thread runs the current ISA's probe
 * kernel; the caller times the call. Returns the total number of flops executed. */
#include "cnn_isa.h"
#include "cnn_ops.h"

double cnn_fma_peak_run(int64_t iterations, int threads, float* sink) {
    float total = 0.0f;
#pragma omp parallel num_threads(threads < 1 ? 1 : threads) reduction(+ : total)
    total += cnn_peak_cfg.run((size_t)iterations);
    *sink = total;
    return (double)iterations * (double)cnn_peak_cfg.flops_per_iteration * (threads < 1 ? 1 : threads);
}
