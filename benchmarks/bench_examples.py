"""Benchmark of every example configuration with its full settings (as a user would run it).

Usage: nice -n 10 python benchmarks/bench_examples.py [--only NAME ...] [--out DIR] [--n-jobs N]
Prints, per file of examples/, the wall time, the slowest steps and whether it stayed under the two-minute
target (two cores). Timings are printed, never asserted: tests must not depend on wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from her2mri.study import load_config, run_study

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TARGET_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help="example stems to run (default: all)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--n-jobs", type=int, default=None, help="override n_jobs of every config")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="her2mri-bench-examples-"))
    paths = sorted(EXAMPLES.glob("*.yaml"))
    if args.only:
        paths = [p for p in paths if p.stem in set(args.only)]
    print(f"{len(paths)} example configs; {os.cpu_count()} CPUs visible; load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; target {TARGET_S:.0f} s each")
    rows = []
    for path in paths:
        config = load_config(path)
        if args.n_jobs is not None:
            config = config.model_copy(update={"n_jobs": args.n_jobs})
        start = time.perf_counter()
        result = run_study(config, out / path.stem)
        wall = time.perf_counter() - start
        durations = result.document["provenance"]["durations_s"]
        slowest = sorted(durations.items(), key=lambda kv: -kv[1])[:3]
        verdict = "ok" if wall <= TARGET_S else "OVER TARGET"
        rows.append((path.stem, wall, verdict))
        print(f"{path.stem:<36}{wall:8.1f} s  {result.status:<9}{verdict:<12}"
              + ", ".join(f"{k} {v:.1f} s" for k, v in slowest), flush=True)
    print(f"total {sum(w for _, w, _ in rows):.1f} s; over target: {[n for n, _, v in rows if v != 'ok'] or 'none'}")


if __name__ == "__main__":
    main()
