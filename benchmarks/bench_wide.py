"""Wide-table benchmark: her2mri's study engine against a plain scikit-learn pipeline of the same design.

Usage::

    nice -n 10 python benchmarks/bench_wide.py [--rows 1000] [--features 2000] [--informative 20]
        [--repeats 5] [--splits 5] [--inner 5] [--selection filter|lasso|both] [--habit] [--skip-sklearn]

The table is synthetic (seeded): ``rows`` lesions of distinct patients, ``features`` radiomics-like columns of
which ``informative`` carry the HER2-positive signal, in correlated groups as real radiomics are. Both sides run
the same design: repeated patient-grouped stratified k-fold CV, the seven classifiers of the registry each tuned
by inner k-fold CV over the registry grids, with correlation + univariate filters or, separately, LASSO
selection in front of the classifier. scikit-learn's side is ``GridSearchCV`` (log-loss scoring, as her2mri tunes) inside
``cross_val_predict`` over a ``Pipeline`` (the selectors refitted at every grid point, as a plain pipeline does),
outer folds spread over ``--n-jobs`` processes like her2mri's. her2mri's side is
``her2mri.study.run_study`` with ``design.kind: nested_cv`` and the same folds, timed twice: the fitting
(models step) and the whole run with its statistics (bootstrap CIs, calibration, report).

``--habit`` adds the HABIT comparison job (1,000 × 100, six classifiers, 5-fold CV, no repeats), twice: tuned by
inner CV (nested) and, as HABIT runs it, each classifier at its default hyper-parameters. HABIT itself is not on
PyPI and cannot be installed here; the plain scikit-learn figure of the same job stands in for it.

Timings depend on the machine's load: the script prints ``os.getloadavg()`` with the figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SIX = ("lr", "dt", "svm", "knn", "rf", "gbdt")
SEVEN = ("lr", "dt", "svm", "knn", "mlp", "rf", "gbdt")


def make_wide_table(rows: int = 1000, features: int = 2000, informative: int = 20, seed: int = 0) -> pd.DataFrame:
    """A synthetic wide cohort: one lesion per patient, binary HER2 status, radiomics-like ``t1__f####`` columns."""
    rng = np.random.default_rng(seed)
    n_groups = max(features // 10, 1)
    factors = rng.normal(size=(rows, n_groups))
    loading = rng.uniform(0.3, 0.9, size=features)
    group = np.arange(features) % n_groups
    X = loading * factors[:, group] + np.sqrt(1 - loading**2) * rng.normal(size=(rows, features))
    beta = np.zeros(features)
    chosen = rng.choice(features, size=informative, replace=False)
    beta[chosen] = rng.choice([-1.0, 1.0], size=informative) * rng.uniform(0.25, 0.5, size=informative)
    logit = -1.2 + X @ beta
    y = rng.uniform(size=rows) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(X * 10 + 50, columns=[f"t1__f{j:04d}" for j in range(features)])
    ids = pd.DataFrame({
        "patient_id": [f"P{i:05d}" for i in range(rows)],
        "lesion_id": [f"P{i:05d}-L1" for i in range(rows)],
        "her2_status": np.where(y, "positive", "negative"),
    })
    return pd.concat([ids, frame.round(4)], axis=1)


def selectors_for(selection: str) -> list[dict[str, Any]]:
    if selection == "lasso":
        return [{"method": "lasso"}]
    return [{"method": "correlation", "params": {"threshold": 0.8}}, {"method": "univariate", "params": {"alpha": 0.05}}]


def study_config(path: Path, classifiers: tuple[str, ...], selection: str, *, kind: str, splits: int,
                 repeats: int, inner: int, n_jobs: int = 1, report: bool = True,
                 tuning: bool = True) -> dict[str, Any]:
    return {
        "schema_version": 1, "seed": 1, "n_jobs": n_jobs,
        "cohort": {"path": str(path)},
        "tasks": ["positive_vs_negative"],
        "design": {"kind": kind, "n_splits": splits, "n_repeats": repeats, "inner_splits": inner},
        "blocks": {"wide": {"patterns": ["t1__*"]}},
        "models": [{"name": c, "classifier": c, "blocks": ["wide"], "selectors": selectors_for(selection),
                    "tuning": tuning} for c in classifiers],
        "interpretability": {"shap": False},
        "survival": {"enabled": False},
        "subgroups": {"columns": []},
        "report": {"enabled": report},
    }


def run_her2mri(table: pd.DataFrame, classifiers: tuple[str, ...], selection: str, *, kind: str, splits: int,
                repeats: int, inner: int, n_jobs: int, tuning: bool = True) -> tuple[float, float, dict[str, Any], float]:
    from her2mri.study import config_from_dict, run_study

    folder = Path(tempfile.mkdtemp(prefix="her2mri-wide-"))
    path = folder / "cohort.csv"
    table.to_csv(path, index=False)
    config = config_from_dict(study_config(path, classifiers, selection, kind=kind, splits=splits, repeats=repeats,
                                           inner=inner, n_jobs=n_jobs, tuning=tuning))
    start, cpu = time.perf_counter(), time.process_time()
    result = run_study(config, folder / "study")
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    fitting = float(result.document["provenance"]["durations_s"]["models"])
    return wall, fitting, result.document, cpu


def run_sklearn(table: pd.DataFrame, classifiers: tuple[str, ...], selection: str, *, splits: int, repeats: int,
                inner: int, n_jobs: int = 1, tuning: bool = True) -> tuple[float, dict[str, float], float]:
    """GridSearchCV inside cross_val_predict, same selectors, classifiers, grids and patient folds."""
    from sklearn.base import clone
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, cross_val_predict
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from her2mri.features import SELECTORS
    from her2mri.models.pipeline import WIDE_COLUMNS, model_grid
    from her2mri.models.registry import MODELS

    X = table.filter(like="t1__").to_numpy(dtype=float)
    y = (table["her2_status"] == "positive").to_numpy().astype(int)
    groups = table["patient_id"].to_numpy()
    aucs: dict[str, float] = {}
    start, cpu = time.perf_counter(), time.process_time()
    for name in classifiers:
        steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        for index, step in enumerate(selectors_for(selection)):
            steps.append((f"select{index}", SELECTORS[step["method"]](**step.get("params", {}))))
        steps.append(("model", MODELS[name].make(0)))
        pipe = Pipeline(steps)
        grid = model_grid(name, wide=X.shape[1] >= WIDE_COLUMNS)  # the grids her2mri searches
        scores = np.zeros(len(y))
        for repeat in range(repeats):
            outer = StratifiedGroupKFold(n_splits=splits, shuffle=True, random_state=repeat)
            search = GridSearchCV(clone(pipe), grid, scoring="neg_log_loss",
                                  cv=StratifiedGroupKFold(n_splits=inner, shuffle=True, random_state=repeat)) \
                if tuning else clone(pipe)
            scores += cross_val_predict(search, X, y, groups=groups, cv=outer, method="predict_proba",
                                        params={"groups": groups} if tuning else None, n_jobs=n_jobs)[:, 1]
        aucs[name] = float(roc_auc_score(y, scores / repeats))
    return time.perf_counter() - start, aucs, time.process_time() - cpu


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def _summary(document: dict[str, Any]) -> str:
    block = document["tasks"]["positive_vs_negative"]
    parts = []
    for name, entry in block["models"].items():
        cv = entry["sets"].get("cv", {})
        slope = (cv.get("calibration") or {}).get("slope")
        auc = cv.get("auc")
        auc = auc.get("estimate") if isinstance(auc, dict) else auc
        repeat = (cv.get("per_repeat_calibration_slope") or {}).get("mean")
        parts.append(f"{name} AUC {float('nan') if auc is None else auc:.3f} "
                     f"slope {slope if slope is None else round(slope, 2)}"
                     + ("" if repeat is None else f" (per repeat {repeat:.2f})"))
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--features", type=int, default=2000)
    parser.add_argument("--informative", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--inner", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--selection", default="both", choices=["filter", "lasso", "both"])
    parser.add_argument("--classifiers", default=",".join(SEVEN))
    parser.add_argument("--kind", default="nested_cv", choices=["cv", "nested_cv"])
    parser.add_argument("--habit", action="store_true", help="also the 1,000 x 100 six-classifier 5-fold CV job")
    parser.add_argument("--only-habit", action="store_true", help="only the 1,000 x 100 job")
    parser.add_argument("--skip-sklearn", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    classifiers = tuple(args.classifiers.split(","))
    if args.only_habit:
        args.habit = True
    table = make_wide_table(args.rows, args.features, args.informative) if not args.only_habit else None
    selections = ("filter", "lasso") if args.selection == "both" else (args.selection,)
    if table is None:
        selections = ()
    else:
        print(f"table {args.rows} x {args.features} ({args.informative} informative), "
              f"{int((table['her2_status'] == 'positive').sum())} positive; {_load()}")
    for selection in selections:
        wall, fitting, document, cpu = run_her2mri(table, classifiers, selection, kind=args.kind, splits=args.splits,
                                              repeats=args.repeats, inner=args.inner, n_jobs=args.n_jobs)
        print(f"[{selection}] her2mri {args.kind} {args.repeats}x{args.splits} (inner {args.inner}), "
              f"{len(classifiers)} classifiers: fitting {fitting:.1f} s, whole run {wall:.1f} s"
              + (f" ({cpu:.1f} CPU s)" if args.n_jobs == 1 else "") + f"; {_load()}", flush=True)
        print(f"  {_summary(document)}")
        if not args.skip_sklearn:
            seconds, aucs, sk_cpu = run_sklearn(table, classifiers, selection, splits=args.splits, repeats=args.repeats,
                                        inner=args.inner, n_jobs=args.n_jobs)
            print(f"[{selection}] scikit-learn GridSearchCV in cross_val_predict: {seconds:.1f} s"
                  + (f" ({sk_cpu:.1f} CPU s)" if args.n_jobs == 1 else "")
                  + f"; her2mri fitting / sklearn = {fitting / seconds:.2f}"
                  + (f"; CPU her2mri whole run / sklearn = {cpu / sk_cpu:.2f}" if args.n_jobs == 1 else "")
                  + f"; {_load()}", flush=True)
            print("  " + "; ".join(f"{k} AUC {v:.3f}" for k, v in aucs.items()))
    if args.habit:
        small = make_wide_table(1000, 100, 20, seed=1)
        wall, fitting, _, cpu = run_her2mri(small, SIX, "filter", kind="nested_cv", splits=5, repeats=1, inner=5,
                                            n_jobs=args.n_jobs)
        print(f"[1000 x 100, six classifiers, 5-fold CV] her2mri fitting {fitting:.1f} s wall (whole run {wall:.1f} s"
              + (f", {cpu:.1f} CPU s" if args.n_jobs == 1 else "") + f"); {_load()}", flush=True)
        seconds, _, sk_cpu = run_sklearn(small, SIX, "filter", splits=5, repeats=1, inner=5, n_jobs=args.n_jobs)
        print(f"  plain scikit-learn {seconds:.1f} s wall" + (f", {sk_cpu:.1f} CPU s" if args.n_jobs == 1 else "")
              + f"; fitting wall ratio {fitting / seconds:.2f}"
              + (f"; CPU ratio (her2mri whole run / sklearn) {cpu / sk_cpu:.2f}" if args.n_jobs == 1 else "")
              + f"; {_load()}")
        # HABIT's own job: each classifier at its default hyper-parameters in 5-fold CV (no inner tuning)
        wall, fitting, _, cpu = run_her2mri(small, SIX, "filter", kind="cv", splits=5, repeats=1, inner=5,
                                            n_jobs=args.n_jobs, tuning=False)
        print(f"[1000 x 100, six classifiers, 5-fold CV, default hyper-parameters] her2mri fitting {fitting:.1f} s "
              f"wall (whole run {wall:.1f} s" + (f", {cpu:.1f} CPU s" if args.n_jobs == 1 else "") + f"); {_load()}",
              flush=True)
        seconds, _, sk_cpu = run_sklearn(small, SIX, "filter", splits=5, repeats=1, inner=5, n_jobs=args.n_jobs,
                                         tuning=False)
        print(f"  plain scikit-learn {seconds:.1f} s wall" + (f", {sk_cpu:.1f} CPU s" if args.n_jobs == 1 else "")
              + f"; fitting wall ratio {fitting / seconds:.2f}"
              + (f"; CPU ratio (her2mri whole run / sklearn) {cpu / sk_cpu:.2f}" if args.n_jobs == 1 else "")
              + f"; {_load()}")


if __name__ == "__main__":
    main()
