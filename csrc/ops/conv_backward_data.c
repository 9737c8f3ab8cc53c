/* Convolution backward-data: per stride phase of dx (cnn_conv_phase.h), the direct convolution of
 * the output gradient with the phase's taps of the transposed, flipped packed weights. */
#include <string.h>

#include "cnn_act.h"
#include "cnn_conv_direct.h"
#include "cnn_conv_phase.h"

typedef struct {
    const cnn_conv_desc* d;
    const float* dy;
    const int32_t* icb_lo_t;
    const int32_t* nicb_t;
    int64_t nicb_max_t;
} bwd_data;

/* One phase (a cnn_phase_conv): the direct engine over dy with the phase's taps. */
static int run_phase(void* ctx, const cnn_phase_axis* ay, const cnn_phase_axis* ax, const float* taps,
                     float* out) {
    const bwd_data* r = ctx;
    const cnn_conv_desc* d = r->d;
    const int64_t icb = cnn_blocks(d->c_in), ocb = cnn_blocks(d->c_out);
    /* padding below zero (a forward padding past the kernel's reach): the engine pads, never
     * crops, so dy is cropped into a copy; it happens only with such paddings */
    const int64_t top = cnn_max64(0, -ay->pad), left = cnn_max64(0, -ax->pad);
    float* crop = NULL;
    if (top || left) {
        if (top >= d->oh || left >= d->ow) {
            memset(out, 0, sizeof(float) * d->n * icb * ay->nout * ax->nout * CNN_BLOCK);
            return CNN_OK;
        }
        crop = cnn_phase_window(r->dy, d->n * ocb, d->oh, d->ow, -top, -left, d->oh - top, d->ow - left);
        if (!crop) return CNN_ENOMEM;
    }
    direct_args a = {
        .x = crop ? crop : r->dy, .n = d->n, .icb = ocb, .h = d->oh - top, .w = d->ow - left,
        .c_in = d->c_out, .c_out = d->c_in, .ocb = icb, .oh = ay->nout, .ow = ax->nout,
        .kh = ay->ntaps, .kw = ax->ntaps, .sh = 1, .sw = 1, .ph = ay->pad + top, .pw = ax->pad + left,
        .dh = ay->dil, .dw = ax->dil, .packed = taps, .icb_lo = r->icb_lo_t, .nicb = r->nicb_t,
        .nicb_max = r->nicb_max_t, .bias16 = NULL, .act = CNN_ACT_NONE, .y = out};
    const int rc = cnn_conv_run_direct(&a);
    cnn_free(crop);
    return rc;
}

int cnn_conv2d_backward_data(const cnn_conv_desc* d, const float* dy, const float* packed_t,
                             const int32_t* icb_lo_t, const int32_t* nicb_t, int64_t nicb_max_t,
                             float* dx) {
    const int64_t icb = cnn_blocks(d->c_in);
    bwd_data r = {.d = d, .dy = dy, .icb_lo_t = icb_lo_t, .nicb_t = nicb_t, .nicb_max_t = nicb_max_t};
    return cnn_phase_backward_data(d, d->n * icb, packed_t, icb * nicb_max_t, 256, 0, run_phase, &r, dx);
}
