/* Softmax cross-entropy on (N, K) logits with integer targets, mean over the batch. */
#ifndef CNN_LOSS_H
#define CNN_LOSS_H

#include "cnn_common.h"

/* *loss = mean over rows i of (logsumexp(x[i, :]) - x[i, target[i]]), computed stably
 * (max-shifted, sums in double, per-row losses added in row order: thread-count independent).
 * grad: NULL, or (N, K) receiving (softmax(x) - onehot(target)) / N.
 * target values must be in [0, k) (checked by the Python layer). n >= 1, k >= 1.
 * Returns CNN_OK or CNN_ENOMEM. */
int cnn_softmax_cross_entropy(const float* x, int64_t n, int64_t k, const int64_t* target,
                              double* loss, float* grad);

#endif
