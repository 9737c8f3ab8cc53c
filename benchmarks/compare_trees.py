"""Training-step time of two built cnncore trees, interleaved (A B A B ... in separate
processes) on a noisy machine: the median of the per-pair ratios is the comparison.

    python benchmarks/compare_trees.py --before /path/to/old/tree --after . --model resnet20

Each tree must be built in place (`python setup.py build_ext --inplace`).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(tree, args):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    out = subprocess.run([sys.executable, os.path.join(HERE, "train_step.py"), "--model", args.model,
                          "--batch", str(args.batch), "--steps", str(args.steps), "--image", args.image],
                         env=env, capture_output=True, text=True, check=True, cwd="/")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--model", default="seed_cnn")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--image", default="3,32,32", help="C,H,W of the random images")
    args = ap.parse_args()
    pairs = []
    for _ in range(args.pairs):
        a, b = run(args.before, args), run(args.after, args)
        assert a["cnncore"].startswith(os.path.abspath(args.before)), a["cnncore"]
        assert b["cnncore"].startswith(os.path.abspath(args.after)), b["cnncore"]
        pairs.append((a, b))
    ratios = [b["median_ms"] / a["median_ms"] for a, b in pairs]
    print(json.dumps({
        "model": args.model, "batch": args.batch,
        "before_ms": [round(a["median_ms"], 2) for a, _ in pairs],
        "after_ms": [round(b["median_ms"], 2) for _, b in pairs],
        "after_over_before_median": round(statistics.median(ratios), 4),
        "before_peak_rss_mib": round(statistics.median(a["peak_rss_mib"] for a, _ in pairs), 1),
        "after_peak_rss_mib": round(statistics.median(b["peak_rss_mib"] for _, b in pairs), 1)}))


if __name__ == "__main__":
    main()
