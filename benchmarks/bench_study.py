"""Benchmark of the demonstration study: wall time and the chosen models' AUC ratio to the true posterior.

Usage: python benchmarks/bench_study.py [--fast] [--hierarchy positive_first|zero_first] [--out DIR]
Prints the wall time, the time of each step, and per task the ratio (chosen-model AUC / true-posterior AUC)
on the training (out-of-fold), internal and external sets.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from her2mri.cohort.demo import demo_cohort_path, make_demo_cohort
from her2mri.study import config_from_dict, run_study
from her2mri.study.demo import demo_config_dict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--hierarchy", default="positive_first", choices=["positive_first", "zero_first"])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="her2mri-bench-"))
    config = demo_config_dict(fast=args.fast, hierarchy=args.hierarchy)
    if not demo_cohort_path().is_file():
        path = out / "demo_cohort.csv"
        make_demo_cohort().to_csv(path, index=False)
        config["cohort"]["path"] = str(path)
    start = time.perf_counter()
    result = run_study(config_from_dict(config), out / "study")
    wall = time.perf_counter() - start
    print(f"demo study ({'fast' if args.fast else 'full'}, {args.hierarchy}): {wall:.1f} s wall, status {result.status}")
    for step, seconds in result.document["provenance"]["durations_s"].items():
        print(f"  {step:<18}{seconds:8.2f} s")
    for task, block in result.document["tasks"].items():
        ratios = block.get("true_posterior_ratio") or {}
        text = ", ".join(f"{s} {v['model_auc']:.3f}/{v['true_auc']:.3f} = {v['ratio']:.3f}" for s, v in ratios.items())
        print(f"{task} (chosen {block['best_model']}): {text}")


if __name__ == "__main__":
    main()
