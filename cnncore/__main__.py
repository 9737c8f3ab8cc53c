"""Command line: `python -m cnncore info | bench | train`."""
import argparse
import sys


def _train(args):
    import numpy as np

    import cnncore
    from cnncore import data, models, optim, train

    if args.threads:
        cnncore.set_num_threads(args.threads)
    cnncore.manual_seed(args.seed)
    x_train, y_train, x_test, y_test, classes = data.load_dataset(args.dataset, args.data_path, seed=args.seed)
    in_channels = x_train.shape[1]
    if args.model not in models.MODELS:
        print("unknown model %r (have: %s)" % (args.model, ", ".join(sorted(models.MODELS))), file=sys.stderr)
        return 2
    factor = -(-models.MIN_INPUT_SIZE.get(args.model, 8) // min(x_train.shape[2:]))
    if factor > 1:  # nearest-neighbour upsampling to the smallest size the model's pooling allows
        x_train, x_test = (np.repeat(np.repeat(a, factor, axis=2), factor, axis=3) for a in (x_train, x_test))
    kwargs = {"aux_logits": False} if args.model == "googlenet" else {}
    model = models.get_model(args.model, num_classes=classes, in_channels=in_channels, **kwargs)
    if args.pretrained:
        _load_pretrained(model, args.pretrained)
    if args.freeze_body:
        head = models.head_of(model)
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith(head + ".")
        print("body frozen: training %s only" % head)
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
    loader = data.DataLoader(x_train, y_train, args.batch_size, shuffle=True, seed=args.seed, transform=transform)
    scheduler = optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(loader)) \
        if args.schedule == "onecycle" else \
        optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(args.epochs, 1)) if args.schedule == "cosine" else None
    print("cnncore %s: training %s on %s (%d train / %d test images, %s) for %d epochs, batch %d, "
          "%s, isa %s, %d threads" % (cnncore.__version__, args.model, args.dataset, len(x_train),
                                      len(x_test), "x".join(map(str, x_train.shape[1:])), args.epochs,
                                      args.batch_size, args.optimizer, cnncore.get_isa(),
                                      cnncore.get_num_threads()))
    history = train.fit(model, opt, loader, args.epochs, val_data=(x_test, y_test), scheduler=scheduler,
                        scheduler_interval="step" if args.schedule == "onecycle" else "epoch",
                        checkpoint=args.checkpoint, resume=args.resume, progress=not args.no_progress)
    loss, acc = train.evaluate(model, x_test, y_test)
    speed = np.median(history["images_per_s"]) if len(history) else float("nan")
    print("final test accuracy: %.2f%% (%d/%d)  test loss %.4f" % (100 * acc, round(acc * len(y_test)),
                                                                  len(y_test), loss))
    print("training speed: %.0f images/s (median over epochs)" % speed)
    if args.plot:
        history.plot(args.plot)
        print("training curves written to %s" % args.plot)
    if args.min_accuracy is not None and acc < args.min_accuracy:
        print("FAILED: test accuracy %.4f below --min-accuracy %.4f" % (acc, args.min_accuracy), file=sys.stderr)
        return 1
    return 0


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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="cnncore", description="cnncore command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print version, ISA levels, threads, OpenMP runtime and kernels")
    sub.add_parser("bench", help="speed of layers and models beside the FMA peak, NumPy and PyTorch; "
                                 "per-layer profiles (see bench --help)", add_help=False)
    t = sub.add_parser("train", help="train a model on a dataset and report accuracy and speed")
    t.add_argument("--model", default="seed_cnn", help="seed_cnn, lenet5, resnet20, resnet18, resnet50, mobilenet_v2, "
                   "alexnet, vgg16, vgg16_bn, googlenet, efficientnet_b0 (small images are upsampled as the "
                   "model needs)")
    t.add_argument("--pretrained", default=None, help="start from these weights (.npz, .safetensors, or a "
                   "torch.save'd state_dict); tensors whose shape differs (the head) stay initialized")
    t.add_argument("--freeze-body", action="store_true", help="train the classifier head only")
    t.add_argument("--dataset", default="digits", choices=["digits", "mnist", "cifar10"])
    t.add_argument("--data-path", default=None, help="folder with the MNIST IDX / CIFAR-10 batch files")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--optimizer", default="adam", choices=["sgd", "adam", "adamw"])
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--schedule", default="cosine", choices=["none", "cosine", "onecycle"])
    t.add_argument("--augment", action="store_true", help="random crops with padding")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=None)
    t.add_argument("--checkpoint", default=None, help="write a checkpoint here after every epoch")
    t.add_argument("--resume", default=None, help="continue from this checkpoint")
    t.add_argument("--plot", default=None, help="write training curves to this PNG (needs matplotlib)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--min-accuracy", type=float, default=None, help="exit 1 if the final test accuracy is lower")
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        from cnncore import bench

        return bench.main(rest)
    if rest:
        parser.error("unrecognized arguments: %s" % " ".join(rest))
    if args.command == "info":
        import cnncore

        cnncore.show_config()
        return 0
    return _train(args)


if __name__ == "__main__":
    sys.exit(main())
