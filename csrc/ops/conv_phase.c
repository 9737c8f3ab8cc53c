/* Stride phases of backward-data: per-axis geometry, tap extraction, windows and the scatter of
 * a phase into the input gradient (cnn_conv_phase.h). */
#include <string.h>

#include "cnn_conv_phase.h"

static int64_t mod_pos(int64_t a, int64_t m) { return ((a % m) + m) % m; }

cnn_phase_axis cnn_phase_axis_of(int64_t start, int64_t size, int64_t k, int64_t s, int64_t p, int64_t d) {
    cnn_phase_axis a;
    a.start = start;
    a.nout = start < size ? (size - start + s - 1) / s : 0;
    /* kernel rows i with (start + p - i*d) divisible by s: i_first, i_first + step, ... <= i_last */
    int64_t first = -1, last = -1, second = -1;
    for (int64_t i = 0; i < k; i++) {
        if (mod_pos(start + p - i * d, s)) continue;
        if (first < 0) first = i;
        else if (second < 0) second = i;
        last = i;
    }
    a.tap_step = second < 0 ? 1 : second - first;
    a.ntaps = first < 0 ? 0 : (last - first) / a.tap_step + 1;
    /* phase tap j is kernel row last - j*step (ascending dy rows), flipped tap k-1-last + j*step,
     * reading dy row k + (start + p - last*d)/s + j*step*d/s */
    a.tap0 = first < 0 ? 0 : k - 1 - last;
    a.dil = a.tap_step * d / s;
    if (a.dil < 1) a.dil = 1;
    a.pad = first < 0 ? 0 : (last * d - start - p) / s;
    return a;
}

void cnn_phase_taps(const float* packed, int64_t nblocks, int64_t kh, int64_t kw, int64_t tile,
                    const cnn_phase_axis* ay, const cnn_phase_axis* ax, float* out) {
    for (int64_t b = 0; b < nblocks; b++)
        for (int64_t i = 0; i < ay->ntaps; i++)
            for (int64_t j = 0; j < ax->ntaps; j++) {
                const int64_t ti = ay->tap0 + i * ay->tap_step, tj = ax->tap0 + j * ax->tap_step;
                memcpy(out + ((b * ay->ntaps + i) * ax->ntaps + j) * tile,
                       packed + ((b * kh + ti) * kw + tj) * tile, sizeof(float) * tile);
            }
}

float* cnn_phase_window(const float* x, int64_t nb, int64_t h, int64_t w, int64_t top, int64_t left,
                        int64_t hb, int64_t wb) {
    float* buf = cnn_alloc((size_t)(nb * hb * wb * CNN_BLOCK), sizeof(float));
    if (!buf) return NULL;
    const int64_t r0 = cnn_max64(0, -top), r1 = cnn_min64(h, hb - top);
    const int64_t c0 = cnn_max64(0, -left), c1 = cnn_min64(w, wb - left);
#pragma omp parallel for num_threads(cnn_threads_for(nb * hb * wb / 2048 + 1)) schedule(static)
    for (int64_t b = 0; b < nb; b++) {
        float* dst = buf + b * hb * wb * CNN_BLOCK;
        memset(dst, 0, sizeof(float) * hb * wb * CNN_BLOCK);
        for (int64_t r = r0; r < r1 && c0 < c1; r++)
            memcpy(dst + ((r + top) * wb + c0 + left) * CNN_BLOCK, x + ((b * h + r) * w + c0) * CNN_BLOCK,
                   sizeof(float) * (c1 - c0) * CNN_BLOCK);
    }
    return buf;
}

void cnn_phase_scatter(const float* src, int64_t nb, int64_t h, int64_t w, int64_t sh, int64_t sw,
                       const cnn_phase_axis* ay, const cnn_phase_axis* ax, float* dx) {
    const int64_t rows = nb * ay->nout, nl = ax->nout;
#pragma omp parallel for num_threads(cnn_threads_for(rows * nl / 1024 + 1)) schedule(static)
    for (int64_t q = 0; q < rows; q++) {
        const int64_t b = q / ay->nout, k = q % ay->nout;
        float* d = dx + ((b * h + ay->start + k * sh) * w + ax->start) * CNN_BLOCK;
        const float* s = src ? src + q * nl * CNN_BLOCK : NULL;
        for (int64_t l = 0; l < nl; l++) {
            if (s) memcpy(d + l * sw * CNN_BLOCK, s + l * CNN_BLOCK, sizeof(float) * CNN_BLOCK);
            else memset(d + l * sw * CNN_BLOCK, 0, sizeof(float) * CNN_BLOCK);
        }
    }
}

int cnn_phase_backward_data(const cnn_conv_desc* d, int64_t nb, const float* packed_t, int64_t nblocks,
                            int64_t tile, int writes_dx, cnn_phase_conv conv, void* ctx, float* dx) {
    const int one_phase = d->sh == 1 && d->sw == 1, scatter = !one_phase && !writes_dx;
    const int64_t ph_rows = (d->h + d->sh - 1) / d->sh, ph_cols = (d->w + d->sw - 1) / d->sw;
    float* taps = NULL;
    float* out = dx;
    int rc = CNN_OK;
    if (!one_phase) {
        taps = cnn_alloc((size_t)(nblocks * d->kh * d->kw * tile), sizeof(float));
        if (!taps) rc = CNN_ENOMEM;
    }
    if (scatter) {
        out = cnn_alloc((size_t)(nb * ph_rows * ph_cols * CNN_BLOCK), sizeof(float));
        if (!out) rc = CNN_ENOMEM;
    }
    for (int64_t py = 0; py < d->sh && rc == CNN_OK; py++) {
        const cnn_phase_axis ay = cnn_phase_axis_of(py, d->h, d->kh, d->sh, d->ph, d->dh);
        for (int64_t px = 0; px < d->sw && rc == CNN_OK; px++) {
            const cnn_phase_axis ax = cnn_phase_axis_of(px, d->w, d->kw, d->sw, d->pw, d->dw);
            if (!ay.nout || !ax.nout) continue;
            if (!ay.ntaps || !ax.ntaps) {
                cnn_phase_scatter(NULL, nb, d->h, d->w, d->sh, d->sw, &ay, &ax, dx);
                continue;
            }
            if (!one_phase) cnn_phase_taps(packed_t, nblocks, d->kh, d->kw, tile, &ay, &ax, taps);
            rc = conv(ctx, &ay, &ax, one_phase ? packed_t : taps, out);
            if (scatter && rc == CNN_OK) cnn_phase_scatter(out, nb, d->h, d->w, d->sh, d->sw, &ay, &ax, dx);
        }
    }
    cnn_free(taps);
    if (scatter) cnn_free(out);
    return rc;
}
