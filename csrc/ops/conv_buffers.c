/* Padded-input and upsampled-gradient buffers for the convolution operators. */
#include <string.h>

#include "cnn_conv_buffers.h"

int cnn_conv_pad_input(const cnn_conv_desc* d, const float* x, int64_t cb, float** out,
                       int64_t* hp, int64_t* wp) {
    const int64_t need_h = (d->oh - 1) * d->sh + (d->kh - 1) * d->dh + 1;
    const int64_t need_w = (d->ow - 1) * d->sw + (d->kw - 1) * d->dw + 1;
    const int64_t bottom = cnn_max64(0, need_h - d->h - d->ph), right = cnn_max64(0, need_w - d->w - d->pw);
    const int64_t H = d->h + d->ph + bottom, W = d->w + d->pw + right, nb = d->n * cb;
    *hp = H;
    *wp = W;
    *out = NULL;
    if (!d->ph && !d->pw && !bottom && !right) return CNN_OK;
    float* dst = cnn_alloc((size_t)(nb * H * W * CNN_BLOCK), sizeof(float));
    if (!dst) return CNN_ENOMEM;
#pragma omp parallel for num_threads(cnn_threads_for(nb * H * W / 2048 + 1)) schedule(static)
    for (int64_t b = 0; b < nb; b++) {
        float* p = dst + b * H * W * CNN_BLOCK;
        memset(p, 0, sizeof(float) * H * W * CNN_BLOCK);
        for (int64_t r = 0; r < d->h; r++)
            memcpy(p + ((r + d->ph) * W + d->pw) * CNN_BLOCK, x + (b * d->h + r) * d->w * CNN_BLOCK,
                   sizeof(float) * d->w * CNN_BLOCK);
    }
    *out = dst;
    return CNN_OK;
}

float* cnn_conv_upsample_grad(const cnn_conv_desc* d, const float* dy, int64_t cb, int64_t* hb_out,
                              int64_t* wb_out) {
    const int64_t hb = d->h + d->dh * (d->kh - 1), wb = d->w + d->dw * (d->kw - 1), nb = d->n * cb;
    const int64_t offh = d->dh * (d->kh - 1) - d->ph, offw = d->dw * (d->kw - 1) - d->pw;
    float* buf = cnn_alloc((size_t)(nb * hb * wb * CNN_BLOCK), sizeof(float));
    if (!buf) return NULL;
#pragma omp parallel for num_threads(cnn_threads_for(nb * hb * wb / 2048 + 1)) schedule(static)
    for (int64_t b = 0; b < nb; b++) {
        float* dst = buf + b * hb * wb * CNN_BLOCK;
        memset(dst, 0, sizeof(float) * hb * wb * CNN_BLOCK);
        for (int64_t r = 0; r < d->oh; r++) {
            const int64_t rr = r * d->sh + offh;
            if (rr < 0 || rr >= hb) continue;
            for (int64_t c = 0; c < d->ow; c++) {
                const int64_t cc = c * d->sw + offw;
                if (cc < 0 || cc >= wb) continue;
                memcpy(dst + (rr * wb + cc) * CNN_BLOCK, dy + ((b * d->oh + r) * d->ow + c) * CNN_BLOCK,
                       sizeof(float) * CNN_BLOCK);
            }
        }
    }
    *hb_out = hb;
    *wb_out = wb;
    return buf;
}
