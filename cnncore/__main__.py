"""Command line: `python -m cnncore [--version] [--debug] info | bench | train | run`.

Bad arguments and missing data end with usage and a one-line message naming the flag, what it
expected and where to get it, exit status 2 and no traceback (`--debug` shows it)."""
import argparse
import contextlib
import os
import sys

from ._cli import HelpFormatter, fraction, nonnegative_float, positive_float, positive_int

# What the loaders (cnncore.data) read, and where it comes from.
DATA_FILES = {
    "mnist": "a folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
             "t10k-labels-idx1-ubyte (or their .gz), the four files of the MNIST database",
    "cifar10": "a folder with data_batch_1 ... data_batch_5 and test_batch: cifar-10-batches-py, extracted "
               "from cifar-10-python.tar.gz (CIFAR-10's python version, from its University of Toronto page)",
}
MODEL_NAMES = ("seed_cnn", "lenet5", "resnet20", "resnet18", "resnet50", "mobilenet_v2", "alexnet", "vgg16",
               "vgg16_bn", "googlenet", "efficientnet_b0")


class UsageError(Exception):
    """A bad argument found after parsing: (flag, message)."""

    def __init__(self, flag, message):
        super().__init__("%s: %s" % (flag, message))


def _load_data(args):
    from cnncore import data

    if args.dataset == "digits":
        return data.load_dataset("digits", None, seed=args.seed)
    expected = "expected %s" % DATA_FILES[args.dataset]
    if args.data_path is None:
        raise UsageError("--data-path", "missing for --dataset %s; %s" % (args.dataset, expected))
    if not os.path.isdir(args.data_path):
        raise UsageError("--data-path", "%s is not a folder; %s" % (args.data_path, expected))
    try:
        return data.load_dataset(args.dataset, args.data_path, seed=args.seed)
    except (OSError, ValueError) as exc:
        problem = str(exc)
        problem = problem[len("path: "):] if problem.startswith("path: ") else problem
        raise UsageError("--data-path", "%s; %s" % (problem, expected)) from exc


def _check_paths(args):
    if args.pretrained is not None and not os.path.isfile(args.pretrained):
        raise UsageError("--pretrained", "no weights file at %s (write one with cnncore.save)" % args.pretrained)
    if args.resume is not None and not os.path.isfile(args.resume):
        raise UsageError("--resume", "no checkpoint file at %s (write one with --checkpoint)" % args.resume)
    for flag, path in (("--checkpoint", args.checkpoint), ("--plot", args.plot)):
        if path is not None and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise UsageError(flag, "the folder of %s does not exist" % path)
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError as exc:
            raise UsageError("--plot", "needs matplotlib (pip install matplotlib)") from exc


def _start_distributed(args):
    """(rank, world size) of an MPI job (--distributed), or (0, 1)."""
    if not args.distributed:
        return 0, 1
    from cnncore import distributed as dist

    try:
        dist.init_process_group()
    except ImportError as exc:
        raise UsageError("--distributed", "needs MPI: pip install 'cnncore[mpi]' (Open MPI and mpi4py), "
                         "then start the ranks with mpirun -np N python -m cnncore train ...") from exc
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        raise UsageError("--batch-size", "expected a multiple of the %d ranks (the global batch is split "
                         "evenly), got %d" % (world, args.batch_size))
    return rank, world


def _train(args):
    _check_paths(args)
    rank, world = _start_distributed(args)
    if rank == 0:
        return _train_run(args, rank, world)
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # rank 0 reports
        return _train_run(args, rank, world)


def _epoch_log(rank, distributed):
    """fit's per-epoch line: printed by rank 0 only; its speed is per rank when distributed."""
    if rank != 0:
        return None
    if not distributed:
        return print
    return lambda line: print(line.replace(" img/s", " img/s per rank"))


def _train_run(args, rank, world):
    import numpy as np

    import cnncore
    from cnncore import data, models, nn, optim, train

    if args.threads:
        cnncore.set_num_threads(args.threads)
    cnncore.manual_seed(args.seed)
    x_train, y_train, x_test, y_test, classes = _load_data(args)
    in_channels = x_train.shape[1]
    factor = -(-models.MIN_INPUT_SIZE.get(args.model, 8) // min(x_train.shape[2:]))
    if factor > 1:  # nearest-neighbour upsampling to the smallest size the model's pooling allows
        x_train, x_test = (np.repeat(np.repeat(a, factor, axis=2), factor, axis=3) for a in (x_train, x_test))
    model = models.get_model(args.model, num_classes=classes, in_channels=in_channels)
    if args.pretrained:
        _load_pretrained(model, args.pretrained)
    if args.freeze_body:
        head = models.head_of(model)
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith(head + ".")
        print("body frozen: training %s only" % head)
    if args.sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    net = model
    if args.distributed:
        from cnncore import distributed as dist

        net = dist.DistributedDataParallel(model)
    params = [p for p in model.parameters() if p.requires_grad]
    if args.optimizer == "sgd":
        opt = optim.SGD(params, lr=args.lr, momentum=0.9, weight_decay=args.weight_decay, nesterov=True)
    elif args.optimizer == "adam":
        opt = optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)
    else:
        opt = optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    transform = None
    if args.augment:
        h = x_train.shape[2]
        transform = data.RandomCrop(h, padding=max(1, h // 8))
    if args.distributed:  # this rank's shard; its own augmentation draws
        loader = data.DataLoader(x_train, y_train, args.batch_size // world, seed=args.seed + rank,
                                 transform=transform,
                                 sampler=data.DistributedSampler(len(x_train), shuffle=True, seed=args.seed))
    else:
        loader = data.DataLoader(x_train, y_train, args.batch_size, shuffle=True, seed=args.seed,
                                 transform=transform)
    scheduler = optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(loader)) \
        if args.schedule == "onecycle" else \
        optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(args.epochs, 1)) if args.schedule == "cosine" else None
    print("cnncore %s: training %s on %s (%d train / %d test images, %s) for %d epochs, batch %d, "
          "%s, isa %s, %d threads%s" % (cnncore.__version__, args.model, args.dataset, len(x_train),
                                        len(x_test), "x".join(map(str, x_train.shape[1:])), args.epochs,
                                        args.batch_size, args.optimizer, cnncore.get_isa(),
                                        cnncore.get_num_threads(),
                                        " per rank, %d ranks" % world if args.distributed else ""))
    if args.resume is not None:
        fresh = models.get_model(args.model, num_classes=classes, in_channels=in_channels)
        if args.sync_bn:
            fresh = nn.SyncBatchNorm.convert_sync_batchnorm(fresh)
        if args.distributed:  # a distributed run's checkpoint holds DistributedDataParallel's keys
            holder = nn.Module()
            holder.module = fresh
            fresh = holder
        try:
            train.load_checkpoint(args.resume, fresh)
        except (OSError, ValueError, KeyError) as exc:
            raise UsageError("--resume", "%s is not a checkpoint of a %s on %s%s: %s"
                             % (args.resume, args.model, args.dataset,
                                " written by a --distributed run" if args.distributed else "", exc)) from exc
    history = train.fit(net, opt, loader, args.epochs, val_data=(x_test, y_test) if rank == 0 else None,
                        scheduler=scheduler, scheduler_interval="step" if args.schedule == "onecycle" else "epoch",
                        checkpoint=args.checkpoint if rank == 0 else None, resume=args.resume,
                        progress=not args.no_progress and rank == 0, log=_epoch_log(rank, args.distributed))
    loss, acc = train.evaluate(model, x_test, y_test)
    speed = world * np.median(history["images_per_s"]) if len(history) else float("nan")
    print("final test accuracy: %.2f%% (%d/%d)  test loss %.4f" % (100 * acc, round(acc * len(y_test)),
                                                                  len(y_test), loss))
    print("training speed: %.0f images/s (median over epochs%s)"
          % (speed, ", all %d ranks" % world if args.distributed else ""))
    if args.plot and rank == 0:
        history.plot(args.plot)
        print("training curves written to %s" % args.plot)
    if args.distributed:
        from cnncore import distributed as dist

        dist.barrier()  # no rank leaves while rank 0 still writes
        dist.destroy_process_group()
    if args.min_accuracy is not None and acc < args.min_accuracy:
        print("FAILED: test accuracy %.4f below --min-accuracy %.4f" % (acc, args.min_accuracy), file=sys.stderr)
        return 1
    return 0


def _version():
    from importlib import metadata

    try:
        return metadata.version("cnncore")
    except metadata.PackageNotFoundError:  # a source tree on PYTHONPATH, not installed
        import cnncore

        return cnncore.__version__


class _VersionAction(argparse.Action):
    """--version without importing the compiled kernels."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print("cnncore %s" % _version())
        parser.exit()


def _load_pretrained(model, path):
    """Load the weights of `path` (cnncore.load formats) whose names and shapes match; report the
    rest (a head for another number of classes stays freshly initialized)."""
    import numpy as np

    import cnncore

    state = cnncore.load(path)
    own = model.state_dict()
    keep = {k: v for k, v in state.items() if k in own and np.shape(v) == np.shape(own[k])}
    model.load_state_dict(keep, strict=False)
    skipped = sorted(set(own) - set(keep))
    print("pretrained weights from %s: %d tensors loaded%s" % (
        path, len(keep), "; kept initialized: %s" % ", ".join(skipped) if skipped else ""))


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m cnncore", description="cnncore command line",
                                     formatter_class=HelpFormatter)
    parser.add_argument("--version", action=_VersionAction, help="print cnncore's version and exit")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, show the traceback instead of a one-line message")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{info,bench,train,run}")
    sub.add_parser("info", formatter_class=HelpFormatter,
                   help="print version, ISA levels, threads, OpenMP runtime and kernels")
    sub.add_parser("bench", help="speed of layers and models beside the FMA peak, NumPy and PyTorch; "
                                 "per-layer profiles (see bench --help)", add_help=False)
    t = sub.add_parser("train", formatter_class=HelpFormatter,
                       help="train a model on a dataset and report accuracy and speed",
                       description="Train a model on a dataset and report test accuracy and speed.",
                       epilog="data: digits is bundled with cnncore. --dataset mnist needs --data-path: %s.\n"
                              "--dataset cifar10 needs --data-path: %s." % (DATA_FILES["mnist"], DATA_FILES["cifar10"]))
    t.add_argument("--model", default="seed_cnn", choices=MODEL_NAMES,
                   help="the architecture (small images are upsampled to the size it needs)")
    t.add_argument("--pretrained", default=None, metavar="PATH",
                   help="start from these weights (.npz, .safetensors, or a torch.save'd state_dict); "
                        "tensors whose shape differs (the head) stay initialized")
    t.add_argument("--freeze-body", action="store_true", help="train the classifier head only")
    t.add_argument("--dataset", default="digits", choices=["digits", "mnist", "cifar10"],
                   help="digits is bundled; mnist and cifar10 are read from --data-path")
    t.add_argument("--data-path", default=None, metavar="FOLDER",
                   help="folder with the MNIST IDX / CIFAR-10 batch files (see below)")
    t.add_argument("--epochs", type=positive_int, default=10, help="passes over the training set")
    t.add_argument("--batch-size", type=positive_int, default=64, help="images per step")
    t.add_argument("--optimizer", default="adam", choices=["sgd", "adam", "adamw"],
                   help="sgd is Nesterov with momentum 0.9")
    t.add_argument("--lr", type=positive_float, default=1e-3, help="(peak) learning rate")
    t.add_argument("--weight-decay", type=nonnegative_float, default=0.0, help="L2 (sgd, adam) or decoupled (adamw)")
    t.add_argument("--schedule", default="cosine", choices=["none", "cosine", "onecycle"],
                   help="learning-rate schedule")
    t.add_argument("--augment", action="store_true", help="random crops with padding")
    t.add_argument("--seed", type=int, default=0, help="seed of the initialization, split and shuffling")
    t.add_argument("--threads", type=positive_int, default=None,
                   help="threads (default: OMP_NUM_THREADS, else the CPUs this process may use)")
    t.add_argument("--checkpoint", default=None, help="write a checkpoint here after every epoch")
    t.add_argument("--resume", default=None, help="continue from this checkpoint")
    t.add_argument("--plot", default=None, help="write training curves to this PNG (needs matplotlib)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel over the ranks of `mpirun -np N` (needs the mpi extra): "
                        "--batch-size is the global batch, rank 0 prints and writes; threads default "
                        "to the CPUs / ranks per host")
    t.add_argument("--sync-bn", action="store_true",
                   help="batch norm statistics over the global batch (SyncBatchNorm) with --distributed")
    t.add_argument("--min-accuracy", type=fraction, default=None, help="exit 1 if the final test accuracy is lower")
    # the top-level --debug also works after `train`; SUPPRESS keeps the top-level value otherwise
    t.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    r = sub.add_parser("run", formatter_class=HelpFormatter, help="run an ONNX model with cnncore",
                       description="Run an ONNX model with cnncore (needs the onnx package) and print the "
                                   "outputs' shapes and each sample's top classes.")
    r.add_argument("model", metavar="MODEL", help="the .onnx file")
    r.add_argument("--input", default=None, metavar="X.npy",
                   help="the input batch as a .npy array (default: standard normal values, batch 1)")
    r.add_argument("--top", type=positive_int, default=5, help="classes to print per sample")
    r.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser._run_parser = r
    return parser, t


def main(argv=None):
    parser, train_parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        from cnncore import bench

        return bench.main([a for a in rest if a != "--debug"])
    if rest:
        parser.error("unrecognized arguments: %s" % " ".join(rest))
    if args.command == "info":
        import cnncore

        cnncore.show_config()
        return 0
    if args.command == "run":
        from cnncore.onnx._cli import CliError, run

        try:
            return run(args.model, args.input, args.top)
        except CliError as exc:
            if args.debug:
                raise
            parser._run_parser.error(str(exc))
    try:
        return _train(args)
    except UsageError as exc:
        if args.debug:
            raise
        train_parser.error(str(exc))


if __name__ == "__main__":
    sys.exit(main())
