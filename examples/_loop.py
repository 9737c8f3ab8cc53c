"""What the examples share: the training loop (Adam on random minibatches, the loss printed as it
goes) and the command line (--steps, --batch-size, --seed)."""
import argparse

import numpy as np

from cnncore import optim


def train_loop(model, loss_fn, inputs, targets, steps, batch_size, lr, seed, log_every, quiet):
    """`steps` Adam steps on minibatches drawn (seeded) from inputs/targets; returns the losses."""
    opt = optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    losses = []
    for step in range(steps):
        idx = rng.choice(len(inputs), batch_size, replace=False)
        opt.zero_grad()
        loss = loss_fn(model(inputs[idx]), targets[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if not quiet and (step % log_every == 0 or step == steps - 1):
            print("step %3d  loss %.4f" % (step, losses[-1]))
    return losses


def main(doc, train, default_steps, argv=None):
    """Parse the example's command line and run its train()."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--steps", type=int, default=default_steps)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train(args.steps, args.batch_size, seed=args.seed)
