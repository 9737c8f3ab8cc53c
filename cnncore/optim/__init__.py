"""Optimizers and learning-rate schedulers with torch.optim's names, signatures and formulas.

    opt = cnncore.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    sched = cnncore.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for epoch in range(epochs):
        for x, y in batches:
            opt.zero_grad()
            loss = crit(model(x), y)
            loss.backward()
            opt.step()
        sched.step()

Each parameter's update runs in one fused C loop (cnncore._kernels.sgd_update, adam_update,
rmsprop_update, adagrad_update, adamax_update, nadam_update, radam_update).
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD
from .adaptive import Adagrad, Adamax, NAdam, RAdam, RMSprop

__all__ = ["Adam", "AdamW", "Optimizer", "SGD", "lr_scheduler", "Adagrad", "Adamax", "NAdam", "RAdam",
           "RMSprop"]
