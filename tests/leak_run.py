"""A small training loop that goes through every kind of kernel (padded, grouped and depthwise
convolution, batch norm and its fused forms, pooling, dropout, linear, cross-entropy, SGD and
Adam), for the leak checks: tests/test_leaks.py runs it in-process; `make valgrind` runs it under
valgrind memcheck (python tests/leak_run.py STEPS)."""
import sys

import numpy as np


def make(seed=0):
    import cnncore
    from cnncore import nn, optim

    cnncore.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.BasicBlock(8, 16, stride=2),
        nn.InvertedResidual(16, 16, 1, 2),
        nn.Conv2d(16, 16, 3, padding=1, groups=2, bias=False), nn.ReLU6(),
        nn.MaxPool2d(2), nn.AvgPool2d(3, 1, 1), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        nn.Dropout(0.2), nn.Linear(64, 5))
    params = list(model.parameters())
    opts = [optim.SGD(params[: len(params) // 2], lr=0.01, momentum=0.9, nesterov=True),
            optim.Adam(params[len(params) // 2:], lr=1e-3, amsgrad=True)]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    y = rng.integers(0, 5, 4)
    return model, opts, nn.CrossEntropyLoss(), x, y


def train(state, steps):
    model, opts, crit, x, y = state
    loss = None
    for _ in range(steps):
        for o in opts:
            o.zero_grad()
        loss = crit(model(x), y)
        loss.backward()
        for o in opts:
            o.step()
    return loss


if __name__ == "__main__":
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    state = make()
    print("loss after %d steps: %.4f" % (steps, train(state, steps)))
