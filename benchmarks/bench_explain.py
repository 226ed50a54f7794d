"""Benchmark of the model-agnostic explainer: 1,000 demo lesions × all inputs for the SVM, k-NN and MLP.

Usage: python benchmarks/bench_explain.py [--lesions 1000] [--kinds svm knn mlp] [--shap-sample 5]

Each model is fitted (registry settings, no tuning) on 400 labelled lesions of the shipped demo cohort with the
demo study's inputs (clinical + BI-RADS + quantitative blocks). Printed per model kind:

* ``her2mri.models.explain.explain`` on ``--lesions`` lesions (background: 50 training rows): wall time,
  lesions/s, the method, and the additivity error (base + contributions vs the model output);
* one lesion alone: the median wall time of 20 single-lesion calls (what the web app pays per case);
* the shap package's default explainer (``shap.Explainer(f, shap.maskers.Independent(background))``, which
  picks its permutation explainer for this many inputs) on the same model, background and encoded inputs,
  timed on ``--shap-sample`` lesions and **extrapolated** to ``--lesions`` (said so in the output); its values are
  per encoded column (one-hot columns separate), ours per cohort variable;
* the speed ratio (ours / shap's, lesions per second).

The machine's load average is printed first: the figures are wall-clock times on whatever else is running.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import numpy as np


def _data():
    from her2mri.cohort.demo import load_demo_cohort
    from her2mri.study.blocks import column_kinds, resolve_blocks
    from her2mri.study.config import BLOCK_DEFAULTS

    frame = load_demo_cohort().frame
    columns = resolve_blocks(frame, ["clinical", "birads", "quantitative"], BLOCK_DEFAULTS)
    kinds = column_kinds(frame, columns)
    labelled = frame[frame["her2_category"].notna()].reset_index(drop=True)
    y = (labelled["her2_category"] == "positive").astype(int).to_numpy()
    return frame.reset_index(drop=True), labelled, y, columns, kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lesions", type=int, default=1000)
    parser.add_argument("--kinds", nargs="+", default=["svm", "knn", "mlp"])
    parser.add_argument("--shap-sample", type=int, default=5)
    parser.add_argument("--background", type=int, default=50)
    args = parser.parse_args()

    import shap

    from her2mri.models.explain import _encode, explain
    from her2mri.models.pipeline import build_pipeline

    warnings.filterwarnings("ignore")
    frame, labelled, y, columns, kinds = _data()
    train, train_y = labelled[columns].iloc[:400], y[:400]
    n = min(args.lesions, len(frame))
    lesions = frame[columns].iloc[:n]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; {n} lesions × {len(columns)} inputs; "
          f"background {args.background} training rows")
    for kind in args.kinds:
        pipe = build_pipeline(**kinds, model=kind, random_state=0).fit(train, train_y)
        start = time.perf_counter()
        result = explain(pipe, train, lesions, max_background=args.background, random_state=0)
        ours = time.perf_counter() - start
        additivity = float(np.abs(result.base_value + result.values.sum(axis=1)
                                  - pipe.predict_proba(lesions)[:, 1]).max())
        singles = []
        for i in range(20):
            start = time.perf_counter()
            explain(pipe, train, lesions.iloc[[i]], max_background=args.background, random_state=0)
            singles.append(time.perf_counter() - start)
        one = statistics.median(singles)

        encoder, model = pipe[:-1], pipe[-1]
        B = _encode(encoder, train.iloc[np.sort(np.random.default_rng(0).choice(len(train), args.background,
                                                                                  replace=False))])
        Z = _encode(encoder, lesions.iloc[: args.shap_sample])
        names = list(encoder.get_feature_names_out())

        def f(matrix, model=model, names=names):
            import pandas as pd

            return model.predict_proba(pd.DataFrame(matrix, columns=names))[:, 1]

        reference = shap.Explainer(f, shap.maskers.Independent(B, max_samples=len(B)), seed=0)
        start = time.perf_counter()
        reference(Z, silent=True)
        shap_per_lesion = (time.perf_counter() - start) / len(Z)
        shap_total = shap_per_lesion * n
        print(
            f"{kind:>4}: ours {result.method} {ours:7.2f} s for {n} lesions = {n / ours:7.1f} lesions/s; "
            f"one lesion {1000 * one:6.1f} ms (median of 20); additivity error {additivity:.1e}\n"
            f"      shap default ({type(reference).__name__}) {1 / shap_per_lesion:7.2f} lesions/s "
            f"(timed on {len(Z)} lesions, extrapolated to {n}: {shap_total:8.1f} s); "
            f"ratio ours/shap {shap_total / ours:7.1f}×"
        )


if __name__ == "__main__":
    main()
