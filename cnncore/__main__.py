"""Command line: `python -m cnncore info` prints the configuration."""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="cnncore", description="cnncore command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print version, ISA levels, threads, OpenMP runtime and kernels")
    sub.add_parser("bench", help="measure the FMA peak and convolution speed (see --help)",
                   add_help=False)
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


if __name__ == "__main__":
    sys.exit(main())
