/* Convolution backward-data: the direct convolution, with the transposed, flipped packed weights,
 * of the output gradient (zero-upsampled first when the stride is above 1). */
#include "cnn_conv_buffers.h"
#include "cnn_act.h"
#include "cnn_conv_direct.h"

int cnn_conv2d_backward_data(const cnn_conv_desc* d, const float* dy, const float* packed_t,
                             const int32_t* icb_lo_t, const int32_t* nicb_t, int64_t nicb_max_t,
                             float* dx) {
    const int64_t icb = cnn_blocks(d->c_in), ocb = cnn_blocks(d->c_out);
    /* dx is a stride-1 convolution, with flipped transposed weights, of dy padded by
     * dilation*(k-1) - padding; with stride > 1 (or negative padding) dy is first spread out */
    const int64_t qh = d->dh * (d->kh - 1) - d->ph, qw = d->dw * (d->kw - 1) - d->pw;
    const int direct = d->sh == 1 && d->sw == 1 && qh >= 0 && qw >= 0;
    int64_t hb = d->oh, wb = d->ow;
    float* buf = NULL;
    if (!direct) {
        buf = cnn_conv_upsample_grad(d, dy, ocb, &hb, &wb);
        if (!buf) return CNN_ENOMEM;
    }
    direct_args a = {
        .x = direct ? dy : buf, .n = d->n, .icb = ocb, .h = hb, .w = wb, .c_in = d->c_out,
        .c_out = d->c_in, .ocb = icb, .oh = d->h, .ow = d->w, .kh = d->kh, .kw = d->kw, .sh = 1,
        .sw = 1, .ph = direct ? qh : 0, .pw = direct ? qw : 0, .dh = d->dh, .dw = d->dw,
        .packed = packed_t, .icb_lo = icb_lo_t, .nicb = nicb_t, .nicb_max = nicb_max_t,
        .bias16 = NULL, .act = CNN_ACT_NONE, .y = dx};
    const int rc = cnn_conv_run_direct(&a);
    cnn_free(buf);
    return rc;
}
