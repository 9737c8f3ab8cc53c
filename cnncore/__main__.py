"""Command line: `python -m cnncore info` prints the configuration."""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="cnncore", description="cnncore command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print version, ISA levels, threads, OpenMP runtime and kernels")
    args = parser.parse_args(argv)
    if args.command == "info":
        import cnncore

        cnncore.show_config()
    return 0


if __name__ == "__main__":
    sys.exit(main())
