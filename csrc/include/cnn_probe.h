/* Measurement probes (not operators): the machine's fp32 multiply-add peak, for the benchmarks'
 * "% of peak". One kernel per ISA (csrc/probe/fma_peak__<isa>.c, compiled with that ISA's flags,
 * like the micro-kernels) and the runner that spreads it over threads (csrc/probe/fma_peak.c). */
#ifndef CNN_PROBE_H
#define CNN_PROBE_H

#include <stddef.h>
#include <stdint.h>

/* `iterations` rounds of independent multiply-adds; returns a value depending on every
 * accumulator, so nothing is optimized away. Flops per round per ISA below. */
typedef float (*cnn_fma_peak_ukernel)(size_t iterations);
float cnn_f32_fma_peak_ukernel__avx512(size_t iterations);
float cnn_f32_fma_peak_ukernel__avx2(size_t iterations);
float cnn_f32_fma_peak_ukernel__generic(size_t iterations);
#define CNN_FMA_PEAK_FLOPS_PER_ITER_avx512 (16 * 16 * 2)
#define CNN_FMA_PEAK_FLOPS_PER_ITER_avx2 (12 * 8 * 2)
#define CNN_FMA_PEAK_FLOPS_PER_ITER_generic (8 * 4 * 2)

/* Use the probe of ISA level `level` (a CNN_ISA_* the CPU has; called by cnn_isa_select). */
void cnn_fma_peak_select(int level);
/* Run the current probe on `threads` threads for `iterations` rounds each; returns the flops done. */
double cnn_fma_peak_run(int64_t iterations, int threads, float* sink);

#endif
