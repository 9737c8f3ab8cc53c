"""The bench's charts (matplotlib, optional): the roofline and the speed ratios against PyTorch or
NumPy."""
import math

import numpy as np

from .suite import OPS, PASSES

def pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("--plot needs matplotlib: pip install matplotlib (or pip install 'cnncore[bench]')") from exc
    return plt


MARKERS = {"fwd": "o", "bwd_data": "s", "bwd_weights": "^", "bwd": "D", "train": "*", "infer": "P"}


def plot_roofline(results, peak, bandwidth, path, title="", peak1=None):
    """Each row's GFLOP/s against its arithmetic intensity (flops / bytes of inputs, weights and
    outputs), under the roof min(peak, bandwidth * intensity) (and the 1-thread peak `peak1`,
    dashed). Models have no byte count and are left out."""
    plt = pyplot()
    pts = [r for r in results if r.get("intensity") and r.get("gflops")]
    fig, ax = plt.subplots(figsize=(10, 5.2))
    groups = sorted({r["group"] for r in pts}, key=lambda g: OPS.index(g) if g in OPS else 99)
    colors = dict(zip(groups, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    lo = min([r["intensity"] for r in pts] + [0.05]) / 2
    hi = max([r["intensity"] for r in pts] + [100.0]) * 2
    xs = np.logspace(math.log10(lo), math.log10(hi), 200)
    ax.plot(xs, np.minimum(peak, bandwidth * xs), "k-", lw=1.5,
            label="roof: FMA peak %.0f GFLOP/s,\ncopy bandwidth %.1f GB/s" % (peak, bandwidth))
    if peak1 and peak1 < peak:
        ax.plot(xs, np.minimum(peak1, bandwidth * xs), "k--", lw=0.8, label="1-thread FMA peak %.0f GFLOP/s" % peak1)
    for g in groups:
        for ps in PASSES:
            sel = [r for r in pts if r["group"] == g and r["pass"] == ps]
            if sel:
                ax.scatter([r["intensity"] for r in sel], [r["gflops"] for r in sel], color=colors[g],
                           marker=MARKERS.get(ps, "o"), s=36, alpha=0.85, edgecolors="none",
                           label="%s %s" % (g, ps))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (flop / byte of inputs + weights + outputs)")
    ax.set_ylabel("GFLOP/s")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_vs(results, key, label, path, title=""):
    """Horizontal bars of a speed ratio (other time / cnncore time) per row, log scale."""
    plt = pyplot()
    rows = [r for r in results if r.get(key)]
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.19 * max(len(rows), 1)))
    names = ["%s %s b%d" % (r["case"], r["pass"], r["batch"]) for r in rows]
    vals = [r[key] for r in rows]
    y = np.arange(len(rows))[::-1]
    ax.barh(y, vals, color=["tab:green" if v >= 1 else "tab:red" for v in vals], height=0.7)
    for yi, v in zip(y, vals):
        ax.text(v, yi, " %.2f" % v, va="center", fontsize=6)
    ax.axvline(1.0, color="k", lw=1)
    ax.set_xscale("log")
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlim(min(vals + [1.0]) / 1.5, max(vals + [1.0]) * 2)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlabel("%s time / cnncore time (> 1: cnncore faster)" % label)
    ax.set_title(title, fontsize=9)
    ax.grid(True, axis="x", which="both", alpha=0.25)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
