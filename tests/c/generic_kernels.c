/* C-level test of the kernels a build offers, without Python: `make cross-aarch64` compiles csrc/
 * for aarch64 (where only the generic kernels exist) and runs this under qemu-user. Natively on
 * x86-64 it checks every level the CPU has.
 *
 * Checks: dispatch never offers a level the build or CPU lacks; the NCHW <-> NCHW16c reorder
 * round-trips; a convolution (stride, padding, channels not a multiple of 16) and a depthwise
 * convolution match a plain-loop reference; the FMA probe runs. Exit status 0 when all pass. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn_isa.h"
#include "cnn_ops.h"
#include "cnn_probe.h"

static int failures = 0;

static void check(int ok, const char* what) {
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) failures++;
}

static float frand(unsigned* s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

/* Plain NCHW convolution, float accumulation in double. */
static void ref_conv(const cnn_conv_desc* d, const float* x, const float* w, float* y) {
    int64_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t co = 0; co < d->c_out; co++)
            for (int64_t oy = 0; oy < d->oh; oy++)
                for (int64_t ox = 0; ox < d->ow; ox++) {
                    double acc = 0;
                    int64_t g = co / cog;
                    for (int64_t ci = 0; ci < cig; ci++)
                        for (int64_t ky = 0; ky < d->kh; ky++)
                            for (int64_t kx = 0; kx < d->kw; kx++) {
                                int64_t iy = oy * d->sh - d->ph + ky * d->dh, ix = ox * d->sw - d->pw + kx * d->dw;
                                if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;
                                acc += (double)x[((n * d->c_in + g * cig + ci) * d->h + iy) * d->w + ix] *
                                       w[((co * cig + ci) * d->kh + ky) * d->kw + kx];
                            }
                    y[((n * d->c_out + co) * d->oh + oy) * d->ow + ox] = (float)acc;
                }
}

static double max_err(const float* a, const float* b, int64_t count) {
    double e = 0;
    for (int64_t i = 0; i < count; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= e)) e = d; /* NaN propagates */
    }
    return e;
}

static void test_conv(int depthwise) {
    cnn_conv_desc d = {0};
    d.n = 2; d.c_in = depthwise ? 20 : 5; d.h = 7; d.w = 6;
    d.c_out = 20; d.kh = d.kw = 3; d.sh = d.sw = depthwise ? 2 : 1; d.ph = d.pw = 1; d.dh = d.dw = 1;
    d.groups = depthwise ? 20 : 1;
    d.oh = (d.h + 2 * d.ph - d.dh * (d.kh - 1) - 1) / d.sh + 1;
    d.ow = (d.w + 2 * d.pw - d.dw * (d.kw - 1) - 1) / d.sw + 1;
    int64_t icb = cnn_blocks(d.c_in), ocb = cnn_blocks(d.c_out);
    int64_t nx = d.n * d.c_in * d.h * d.w, ny = d.n * d.c_out * d.oh * d.ow;
    int64_t nw = d.c_out * (d.c_in / d.groups) * d.kh * d.kw;
    float* x = malloc(sizeof(float) * nx);
    float* w = malloc(sizeof(float) * nw);
    float* xb = malloc(sizeof(float) * d.n * icb * d.h * d.w * 16);
    float* yb = malloc(sizeof(float) * d.n * ocb * d.oh * d.ow * 16);
    float* y = malloc(sizeof(float) * ny);
    float* ref = malloc(sizeof(float) * ny);
    unsigned seed = 1;
    for (int64_t i = 0; i < nx; i++) x[i] = frand(&seed);
    for (int64_t i = 0; i < nw; i++) w[i] = frand(&seed);
    for (int64_t i = 0; i < d.n * ocb * d.oh * d.ow * 16; i++) yb[i] = NAN; /* unwritten shows */
    cnn_nchw_to_nchw16c(x, d.n, d.c_in, d.h * d.w, xb);
    int rc;
    if (depthwise) {
        float* packed = malloc(sizeof(float) * ocb * d.kh * d.kw * 16);
        cnn_dwconv_pack(&d, w, 0, packed);
        rc = cnn_dwconv2d_forward(&d, xb, packed, NULL, 0, 0.0f, yb);
        free(packed);
    } else {
        int64_t nicb_max = cnn_conv_pack_nicb_max(&d, 0);
        int32_t* lo = malloc(sizeof(int32_t) * ocb);
        int32_t* cnt = malloc(sizeof(int32_t) * ocb);
        float* packed = malloc(sizeof(float) * ocb * nicb_max * d.kh * d.kw * 256);
        cnn_conv_pack(&d, w, 0, nicb_max, lo, cnt, packed);
        rc = cnn_conv2d_forward(&d, xb, packed, lo, cnt, nicb_max, NULL, 0, 0.0f, yb);
        free(packed);
        free(lo);
        free(cnt);
    }
    cnn_nchw16c_to_nchw(yb, d.n, d.c_out, d.oh * d.ow, y);
    ref_conv(&d, x, w, ref);
    char what[128];
    double err = max_err(y, ref, ny);
    snprintf(what, sizeof what, "%s at %s: max error %.2g", depthwise ? "depthwise conv 3x3/2" : "conv 3x3 5->20",
             cnn_isa_name(cnn_isa_current()), err);
    check(rc == CNN_OK && err < 1e-4, what);
    free(x); free(w); free(xb); free(yb); free(y); free(ref);
}

static void test_layout(void) {
    int64_t n = 2, c = 19, hw = 5, nb = n * cnn_blocks(c) * hw * 16;
    float* x = malloc(sizeof(float) * n * c * hw);
    float* b = malloc(sizeof(float) * nb);
    float* back = malloc(sizeof(float) * n * c * hw);
    for (int64_t i = 0; i < n * c * hw; i++) x[i] = (float)i;
    cnn_nchw_to_nchw16c(x, n, c, hw, b);
    cnn_nchw16c_to_nchw(b, n, c, hw, back);
    int pad_zero = 1;
    for (int64_t i = 0; i < n; i++)
        for (int64_t p = 0; p < hw; p++)
            for (int64_t l = c % 16; l < 16; l++) pad_zero &= b[((i * cnn_blocks(c) + 1) * hw + p) * 16 + l] == 0.0f;
    check(memcmp(x, back, sizeof(float) * n * c * hw) == 0 && pad_zero, "NCHW <-> NCHW16c round trip, padded lanes zero");
    free(x); free(b); free(back);
}

int main(void) {
    int best = cnn_isa_detect();
#if !defined(__x86_64__)
    check(best == CNN_ISA_GENERIC, "not x86-64: only the generic level is detected");
#endif
    check(cnn_isa_select(CNN_ISA_AVX512) == best, "asking for avx512 gives at most the best level");
    test_layout();
    for (int level = CNN_ISA_GENERIC; level <= best; level++) {
        cnn_isa_select(level);
        test_conv(0);
        test_conv(1);
        float sink = 0;
        check(cnn_fma_peak_run(1000, 2, &sink) > 0, "FMA probe runs on 2 threads");
    }
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures != 0;
}
