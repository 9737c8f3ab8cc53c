"""A convolutional autoencoder on the bundled 8x8 digits, trained with MSELoss.

Encoder: two stride-2 convolutions (8x8 -> 4x4 -> 2x2, 32 channels: 128 numbers for 64 pixels,
but squeezed through a 2x2 bottleneck); decoder: two ConvTranspose2d (2x2 -> 4x4 -> 8x8) and a
sigmoid, so the output is an image in [0, 1] like the input. Runs in seconds on two cores:

    python examples/autoencoder.py [--steps 150]
"""
import time

import numpy as np

import _loop
import cnncore
from _loop import train_loop
from cnncore import data, nn


class AutoEncoder(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        w = width
        self.encoder = nn.Sequential(
            nn.Conv2d(1, w, 3, stride=2, padding=1), nn.ReLU(),           # 8x8 -> 4x4
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.ReLU())       # 4x4 -> 2x2
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),  # -> 4x4
            nn.ConvTranspose2d(w, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())   # -> 8x8

    def forward(self, x):
        return self.decoder(self.encoder(x))


def train(steps=150, batch_size=64, lr=0.01, seed=0, log_every=25, quiet=False):
    """Train for `steps` minibatches; returns the list of training losses."""
    cnncore.manual_seed(seed)
    images, _ = data.load_digits()
    order = np.random.default_rng(seed).permutation(len(images))
    x_train, x_test = images[order[:1500]], images[order[1500:]]
    model = AutoEncoder()
    loss_fn = nn.MSELoss()
    start = time.perf_counter()
    losses = train_loop(model, loss_fn, x_train, x_train, steps, batch_size, lr, seed, log_every, quiet)
    if not quiet:
        model.eval()
        with cnncore.no_grad():
            test = float(loss_fn(model(x_test), x_test))
        baseline = float(((x_test - x_train.mean(axis=0)) ** 2).mean())
        print("test MSE %.4f (the mean image: %.4f), %.1f s" % (test, baseline, time.perf_counter() - start))
    return losses


def main(argv=None):
    _loop.main(__doc__, train, 150, argv)


if __name__ == "__main__":
    main()
