"""Training-step time under OpenMP wait policies, interleaved (one process per run, the policies
in turn) so that machine load hits all alike: the median and the spread (90th percentile / median
of the steps) per policy, and the load (os.getloadavg) during the runs.

    python benchmarks/wait_policy.py [--model seed_cnn] [--threads 1,2] [--rounds 4]

A policy is an environment for the run ('cnncore': none of the variables set, so cnncore's
choice; 'gomp': the runtime's own default). GNU libgomp's default spins a waiting thread for a
while (GOMP_SPINCOUNT) before it sleeps: quick when the cores are free, but when another process
has preempted one thread of a parallel region, the others spin at its join and the operator
waits for its slowest thread.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# cnncore: what it does unless told (passive, cnncore/_omp_policy.py); gomp: libgomp's own default
POLICIES = {"cnncore": {}, "gomp": {"CNNCORE_OMP_WAIT_POLICY": "default"},
            "passive": {"OMP_WAIT_POLICY": "passive"}, "active": {"OMP_WAIT_POLICY": "active"},
            "spin10k": {"GOMP_SPINCOUNT": "10000"}, "spin1k": {"GOMP_SPINCOUNT": "1000"}}
VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "CNNCORE_OMP_WAIT_POLICY")


def run(policy, threads, args):
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update(POLICIES[policy], OMP_NUM_THREADS=str(threads), PYTHONPATH=os.path.dirname(HERE))
    out = subprocess.run([sys.executable, os.path.join(HERE, "train_step.py"), "--model", args.model,
                          "--batch", str(args.batch), "--steps", str(args.steps)],
                         env=env, capture_output=True, text=True, check=True, cwd="/")
    return json.loads(out.stdout.strip().splitlines()[-1])["times_ms"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="seed_cnn")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--policies", default="cnncore,gomp", help="comma-separated: " + ",".join(POLICIES))
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    policies = args.policies.split(",")
    times, loads = {}, []
    for _ in range(args.rounds):
        for t in threads:
            for p in policies:
                times.setdefault((p, t), []).extend(run(p, t, args))
                loads.append(os.getloadavg()[0])
    print("%s training step, batch %d, load (1-min average) %.1f-%.1f during the runs"
          % (args.model, args.batch, min(loads), max(loads)))
    for (p, t), ts in sorted(times.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        ts = sorted(ts)
        med = statistics.median(ts)
        print("threads %d  %-8s median %8.2f ms  p90/median %5.2f  max/median %6.2f  (%d steps)"
              % (t, p, med, ts[int(0.9 * (len(ts) - 1))] / med, ts[-1] / med, len(ts)))


if __name__ == "__main__":
    main()
