"""`python -m cnncore`: --version, defaults in every --help, and bad arguments or missing data
ending in one line that names the flag, what it expected and where to get it, exit status 2 and
no traceback (unless --debug)."""
import os
import subprocess
import sys

import pytest

import cnncore
from cnncore.__main__ import main


def run_cli(args):
    """The command in a fresh interpreter importing this same cnncore."""
    env = dict(os.environ)
    parent = os.path.dirname(os.path.dirname(os.path.abspath(cnncore.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (parent, env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-m", "cnncore"] + args, capture_output=True, text=True,
                          env=env, timeout=120)


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == "cnncore %s" % cnncore.__version__


@pytest.mark.parametrize("args, defaults", [
    (["train"], ["(default: seed_cnn)", "(default: digits)", "(default: 10)", "(default: 64)",
                 "(default: adam)", "(default: 0.001)", "(default: cosine)", "(default: 0)"]),
    (["bench"], ["(default: 10)", "(default: 2)", "(default: all)"]),
])
def test_help_shows_defaults(args, defaults, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args + ["--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # help text wraps lines
    for d in defaults:
        assert d in text, d


@pytest.mark.parametrize("args, flag, expected", [
    (["--dataset", "mnist"], "--data-path", "train-images-idx3-ubyte"),
    (["--dataset", "mnist", "--data-path", "/nonexistent-folder"], "--data-path", "t10k-labels-idx1-ubyte"),
    (["--dataset", "cifar10", "--data-path", "{tmp}"], "--data-path", "cifar-10-python.tar.gz"),
    (["--epochs", "0"], "--epochs", "expected an integer >= 1"),
    (["--batch-size", "x"], "--batch-size", "expected an integer >= 1"),
    (["--lr", "-1"], "--lr", "expected a number > 0"),
    (["--min-accuracy", "97"], "--min-accuracy", "<= 1"),
    (["--model", "vgg19"], "--model", "invalid choice"),
    (["--resume", "{tmp}/none.npz"], "--resume", "no checkpoint file"),
    (["--checkpoint", "/nonexistent-folder/c.npz"], "--checkpoint", "does not exist"),
])
def test_bad_train_arguments_are_one_line(args, flag, expected, tmp_path, capsys):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    with pytest.raises(SystemExit) as exc:
        main(["train", "--no-progress"] + args)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert flag in err[-1] and expected in err[-1], err[-1]
    assert "Traceback" not in "\n".join(err)


def test_missing_data_as_a_process_exits_2_without_traceback_unless_debug(tmp_path):
    p = run_cli(["train", "--dataset", "cifar10", "--data-path", str(tmp_path)])
    assert p.returncode == 2
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m cnncore train: error: --data-path:") and "data_batch_1" in last
    assert "Traceback" not in p.stderr
    p = run_cli(["--debug", "train", "--dataset", "cifar10", "--data-path", str(tmp_path)])
    assert p.returncode != 0 and "Traceback" in p.stderr
