"""Training loop: epochs over a DataLoader with a progress bar (loss, accuracy, images/s),
evaluation on held-out data, checkpoints that resume exactly, and a history that can be plotted.

    history = fit(model, optimizer, loader, epochs=10, val_data=(x_test, y_test))
"""
import os
import pickle
import sys
import time

import numpy as np

from . import _random
from .autograd import no_grad
from .nn.loss import CrossEntropyLoss

__all__ = ["fit", "evaluate", "predict", "History", "save_checkpoint", "load_checkpoint", "training_loss"]

CHECKPOINT_VERSION = 1


class History:
    """Per-epoch records: epoch, lr, train_loss, train_acc, images_per_s, val_loss, val_acc."""

    def __init__(self, records=None):
        self.records = list(records or [])

    def append(self, record):
        self.records.append(dict(record))

    def __getitem__(self, key):
        return [r.get(key) for r in self.records]

    def __len__(self):
        return len(self.records)

    def plot(self, path):
        """Write training curves (loss and accuracy per epoch) to a PNG; needs matplotlib."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError("History.plot needs matplotlib (pip install matplotlib)") from exc
        epochs = self["epoch"]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        ax1.plot(epochs, self["train_loss"], label="train")
        if any(v is not None for v in self["val_loss"]):
            ax1.plot(epochs, self["val_loss"], label="test")
        ax1.set_xlabel("epoch")
        ax1.set_ylabel("loss")
        ax1.legend()
        ax2.plot(epochs, self["train_acc"], label="train")
        if any(v is not None for v in self["val_acc"]):
            ax2.plot(epochs, self["val_acc"], label="test")
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("accuracy")
        ax2.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path


def predict(model, images, batch_size=256):
    """Logits for `images` in eval mode (restores the model's mode afterwards)."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outs = [model(images[i:i + batch_size]).numpy() for i in range(0, len(images), batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)


def evaluate(model, images, labels, batch_size=256):
    """(mean cross-entropy loss, accuracy) of the model on (images, labels), in eval mode."""
    logits = predict(model, images, batch_size)
    crit = CrossEntropyLoss()
    return float(crit(logits, labels)), float(np.mean(logits.argmax(1) == labels))


def save_checkpoint(path, model, optimizer, epoch, history=None, scheduler=None):
    """Everything a run needs to continue exactly: model, optimizer and scheduler state, the epoch,
    the history and cnncore's random generator (dropout masks). A pickle: load only your own."""
    state = {
        "version": CHECKPOINT_VERSION,
        "epoch": int(epoch),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "history": None if history is None else history.records,
        "rng": _random.generator().bit_generator.state,
    }
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return path


def load_checkpoint(path, model, optimizer=None, scheduler=None):
    """Restore a checkpoint written by save_checkpoint; returns (epoch, History)."""
    if not os.path.exists(path):
        raise FileNotFoundError("checkpoint: no file at %s" % path)
    with open(path, "rb") as f:
        state = pickle.load(f)
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
        raise ValueError("checkpoint: %s is not a cnncore checkpoint (version %d)" % (path, CHECKPOINT_VERSION))
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    _random.generator().bit_generator.state = state["rng"]
    return state["epoch"], History(state["history"])


def _progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stderr, dynamic_ncols=True)


def training_loss(outputs, labels, criterion, aux_weight=0.3):
    """(loss, logits) of a training forward's outputs. A model with auxiliary classifiers
    (GoogLeNet in training mode returns (logits, aux2, aux1)) is trained as torchvision's recipe
    does: criterion(logits) + aux_weight * (sum of criterion(aux)); the logits are the first
    output. Any other output is the logits."""
    if not isinstance(outputs, (tuple, list)):
        return criterion(outputs, labels), outputs
    if not outputs:
        raise ValueError("outputs: expected logits or a non-empty tuple (logits, *aux_logits), got ()")
    loss = criterion(outputs[0], labels)
    aux = [criterion(a, labels) for a in outputs[1:] if a is not None]
    if aux:
        total = aux[0]
        for a in aux[1:]:
            total = total + a
        loss = loss + aux_weight * total
    return loss, outputs[0]


def fit(model, optimizer, train_loader, epochs, criterion=None, val_data=None, scheduler=None,
        scheduler_interval="epoch", checkpoint=None, resume=None, progress=True, log=print, aux_weight=0.3):
    """Train `model` for `epochs` epochs; returns a History.

    train_loader: a cnncore.data.DataLoader (reshuffled per epoch from its seed); criterion:
    default CrossEntropyLoss(); val_data: (images, labels) evaluated after each epoch; scheduler:
    stepped after each epoch (scheduler_interval='epoch') or each batch ('step'); checkpoint: a
    path written after each epoch; resume: a checkpoint path to continue from (the run then
    ends at the same weights as an uninterrupted one); log: called with one line per epoch
    (None for silence); progress: a tqdm bar with loss, accuracy and images/s. A model whose
    training forward returns (logits, *aux_logits) (GoogLeNet) is trained on
    training_loss(..., aux_weight): the main loss plus aux_weight times the auxiliary losses.
    """
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError("scheduler_interval: expected 'epoch' or 'step', got %r" % (scheduler_interval,))
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError("epochs: expected an int >= 0, got %r" % (epochs,))
    criterion = CrossEntropyLoss() if criterion is None else criterion
    # models that can skip the gradient of the images (nobody needs it) get told to
    history, start = History(), 0
    if resume is not None:
        start, history = load_checkpoint(resume, model, optimizer, scheduler)
    for epoch in range(start, epochs):
        model.train()
        train_loader.set_epoch(epoch)
        seen = correct = 0
        loss_sum = 0.0
        t0 = time.perf_counter()
        bar = _progress(train_loader, len(train_loader), "epoch %d/%d" % (epoch + 1, epochs), progress)
        for images, labels in bar:
            optimizer.zero_grad()
            loss, logits = training_loss(model(images), labels, criterion, aux_weight)
            loss.backward()
            optimizer.step()
            if scheduler is not None and scheduler_interval == "step":
                scheduler.step()
            n = len(labels)
            seen += n
            loss_sum += float(loss) * n
            correct += int((logits.argmax(1) == labels).sum())
            if bar is not train_loader:
                bar.set_postfix(loss="%.4f" % (loss_sum / seen), acc="%.3f" % (correct / seen),
                                img_s="%.0f" % (seen / max(time.perf_counter() - t0, 1e-9)))
        elapsed = time.perf_counter() - t0
        if bar is not train_loader:
            bar.close()
        record = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"],
                  "train_loss": loss_sum / max(seen, 1), "train_acc": correct / max(seen, 1),
                  "images_per_s": seen / max(elapsed, 1e-9), "val_loss": None, "val_acc": None}
        if scheduler is not None and scheduler_interval == "epoch":
            scheduler.step()
        if val_data is not None:
            record["val_loss"], record["val_acc"] = evaluate(model, val_data[0], val_data[1])
        history.append(record)
        if log is not None:
            line = "epoch %d/%d  loss %.4f  acc %.4f  %.0f img/s" % (
                epoch + 1, epochs, record["train_loss"], record["train_acc"], record["images_per_s"])
            if record["val_acc"] is not None:
                line += "  test loss %.4f  test acc %.4f" % (record["val_loss"], record["val_acc"])
            log(line)
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, optimizer, epoch + 1, history, scheduler)
    return history
