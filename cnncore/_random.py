"""cnncore's random number generator: weight initialization and dropout masks draw from it, so
`cnncore.manual_seed(s)` makes model construction and training reproducible."""
import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed):
    """Seed the generator used for initialization, dropout and data shuffling defaults."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError("seed: expected a non-negative int, got %r" % (seed,))
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator():
    """The current global numpy Generator."""
    return _generator


def uniform(shape, bound):
    """float32 values uniform in [-bound, bound) from the global generator."""
    return _generator.uniform(-bound, bound, size=shape).astype(np.float32)


def next_seed():
    """A fresh 63-bit seed (for dropout masks)."""
    return int(_generator.integers(0, 2 ** 63 - 1))
