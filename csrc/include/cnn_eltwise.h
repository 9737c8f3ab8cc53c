/* Elementwise operators (ReLU, ReLU6, add) and dropout on flat float arrays: they serve any
 * shape, NCHW and NCHW16c alike (each maps zeros to zeros, so padded lanes stay zero).
 * Threads split the array into fixed chunks; results do not depend on the thread count. */
#ifndef CNN_ELTWISE_H
#define CNN_ELTWISE_H

#include "cnn_common.h"

/* y = max(x, 0) (NaN propagates, as torch.relu). */
void cnn_relu(const float* x, int64_t count, float* y);
/* dx = dy where y > 0, else 0 (y: relu's output). */
void cnn_relu_backward(const float* dy, const float* y, int64_t count, float* dx);
/* y = min(max(x, 0), 6) (NaN propagates). */
void cnn_relu6(const float* x, int64_t count, float* y);
/* dx = dy where 0 < y < 6, else 0 (y: relu6's output). */
void cnn_relu6_backward(const float* dy, const float* y, int64_t count, float* dx);
/* y = act(x) for a cnn_act.h kind with its parameter alpha (f(0) may be nonzero: a caller on
 * NCHW16c data re-zeroes the padded lanes). */
void cnn_act_forward(int kind, float alpha, const float* x, int64_t count, float* y);
/* dx = dy * act'(x), from x and y = act(x) (x may be NULL for the kinds whose gradient is a
 * function of y: cnn_act_grad_from_output). */
void cnn_act_backward(int kind, float alpha, const float* dy, const float* x, const float* y,
                      int64_t count, float* dx);
/* y = a + b. */
void cnn_add(const float* a, const float* b, int64_t count, float* y);

/* ---- dropout ----
 * Element k (its flat index in the logical row-major / NCHW order) is kept when
 * splitmix64(seed, k) >> 11 >= p * 2^53, i.e. with probability 1 - p, and then scaled by 1/(1-p);
 * dropped elements are 0. The mask depends only on (seed, k): the same for any thread count and
 * for both layouts, and the backward is the same function applied to the output gradient. */
uint64_t cnn_dropout_hash(uint64_t seed, uint64_t index);
/* y = dropout(x) on `count` floats in row-major order. */
void cnn_dropout(const float* x, int64_t count, double p, uint64_t seed, float* y);
/* The same on an NCHW16c tensor (N, ceil(C/16), HW, 16): the element of channel ch, image i,
 * pixel q has index (i * c + ch) * hw + q; padded lanes are written as 0. */
void cnn_dropout_nchw16c(const float* x, int64_t n, int64_t c, int64_t hw, double p,
                         uint64_t seed, float* y);

#endif
