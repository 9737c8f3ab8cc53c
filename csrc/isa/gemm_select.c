/* The GEMM's kernel table: one candidate per ISA level (the kernel exports its tile), chosen
 * with the other tables when cnn_isa_select runs. */
#include "cnn_gemm.h"
#include "cnn_isa.h"

void cnn_gemm_select(int level) {
    switch (level) {
#if defined(__x86_64__) /* elsewhere only the generic kernel is built (setup.py) */
        case CNN_ISA_AVX512: cnn_gemm_cfg = cnn_f32_gemm_kernel__avx512; break;
        case CNN_ISA_AVX2: cnn_gemm_cfg = cnn_f32_gemm_kernel__avx2; break;
#endif
        default: cnn_gemm_cfg = cnn_f32_gemm_kernel__generic; break;
    }
}
