/* The padded-input buffer of the convolution operators. */
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
