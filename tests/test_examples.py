"""The examples train: a few steps of each with a fixed seed, and the loss drops by a clear margin
(the same numbers on every run: the seed fixes the data order and the initialization, and
cnncore's kernels do not depend on the thread count)."""
import importlib.util
import os
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def load_example(name):
    """The example as a module (its folder on sys.path, as when it runs as a script: it imports _loop)."""
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)
    spec = importlib.util.spec_from_file_location("example_" + name, os.path.join(EXAMPLES, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# (example, steps, the last loss must be below this fraction of the first)
CASES = [("unet", 12, 0.8), ("autoencoder", 12, 0.6)]


@pytest.mark.parametrize("name,steps,ratio", CASES)
def test_example_loss_drops(name, steps, ratio):
    losses = load_example(name).train(steps=steps, batch_size=32, quiet=True)
    assert len(losses) == steps
    assert losses[-1] < ratio * losses[0], "%s: losses %s" % (name, [round(v, 4) for v in losses])


def test_example_runs_are_deterministic():
    train = load_example("autoencoder").train
    assert train(steps=3, batch_size=16, quiet=True) == train(steps=3, batch_size=16, quiet=True)


def test_unet_example_output_and_mask(capsys):
    unet = load_example("unet")
    x_train, m_train, _, _ = unet.make_data()
    assert x_train.shape[1:] == (1, 16, 16) and m_train.shape[1:] == (16, 16)
    assert set(int(v) for v in m_train.max(axis=(1, 2))) == set(range(1, 11))  # every digit has strokes
    assert (m_train == 0).mean() > 0.3  # and background
    unet.main(["--steps", "2", "--batch-size", "8"])
    out = capsys.readouterr().out
    assert "step   0  loss" in out and "test pixel accuracy" in out
