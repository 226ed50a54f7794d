"""Benchmark of the model-choice rules against the true posterior of the demo generator.

Usage: python benchmarks/bench_model_choice.py [--seeds 1 2 3 4 5] [--n-center1 3000] [--n-center2 1500]
                                               [--inner-splits 5] [--n-jobs 1] [--json FILE] [--summarize FILE]

For each cohort seed: ``make_demo_cohort(n_center1, n_center2, seed)``, the demo design (7:3 patient-grouped
training / internal split in centre 1, centre 2 external), both ``positive_first`` tasks, the seven classifiers
tuned by inner CV exactly as the study runs them, plus logistic regression given exactly the generator's
informative variables for the task (``EVIDENCE`` of :mod:`her2mri.cohort._demo_model`, with the status columns derived from them). Figures per task and set
(internal, external): ratio = AUC / true-posterior AUC on the same lesions, for the model chosen by each rule
(``simplest``, ``one_se``, ``best``, chosen among the seven only), for every single model (the demo's ``lr`` is
LR after the variable-level FDR screen, its level tuned by the inner CV), for plain LR on all inputs (the
registry's L2 grid, ``lr_plain``), for LASSO LR on all inputs (``lr_lasso``) and for LR on the informative variables (same L2 grid); and the paired DeLong p-value of the chosen model against the
best single model of the run on the internal set (best = highest AUC on that set, an oracle no rule can know).
The last lines print the means over seeds and the goal checks. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from her2mri.cohort._demo_model import EVIDENCE
from her2mri.cohort.demo import make_demo_cohort
from her2mri.stats import delong_test
from her2mri.study import config_from_dict, stages
from her2mri.study.analysis import true_task_score
from her2mri.study.choice import choose_model
from her2mri.study.demo import ALL_MODELS, demo_config_dict
from her2mri.study.runner import StudyContext

TASKS = ("positive_vs_negative", "low_vs_zero")
SETS = ("internal", "external:center2")
# cohort columns derived deterministically from an informative variable (status cut-offs); a linear model needs
# them to represent the generator's step-shaped effects of the percentages
DERIVED = {"er_percent": ("er_status", "er_low", "hr_status"), "pr_percent": ("pr_status", "hr_status"),
           "ki67_percent": ("ki67_status",)}
# generator variables that reach the cohort only through the columns drawn from them
COMPONENTS = {"accompanying_signs": ("nipple_retraction", "skin_retraction", "pectoralis_invasion")}


def _informative(kinds: tuple[str, ...]) -> list[str]:
    base = [v for v, kind in EVIDENCE.items() if kind in kinds]
    columns = {c for v in base for c in COMPONENTS.get(v, (v,))}
    return sorted(columns | {d for v in base for d in DERIVED.get(v, ())})


#: comparator: L1-penalised (LASSO) LR on all inputs, C by inner-CV log loss (intercept column scaled so that its
#: penalty is negligible)
LASSO_GRID = {"C": [0.01, 0.03, 0.1, 0.3, 1.0, 10.0], "l1_ratio": [1.0], "solver": ["liblinear"],
              "intercept_scaling": [10.0]}

INFORMATIVE = {"positive_vs_negative": _informative(("positive", "both")), "low_vs_zero": _informative(("low", "both"))}


def _config(csv: Path, inner_splits: int, n_jobs: int = 1) -> Any:
    config = demo_config_dict()
    config.update({
        "cohort": {"path": str(csv)}, "n_jobs": n_jobs,
        "blocks": {f"info_{task}": {"columns": cols} for task, cols in INFORMATIVE.items()},
        "statistics": {"n_bootstrap": 0}, "interpretability": {"shap": False}, "report": {"enabled": False},
    })
    config["design"]["inner_splits"] = inner_splits
    config["models"] = [*config["models"], *[
        {"name": f"lr_info_{i}", "classifier": "lr", "blocks": [f"info_{task}"]} for i, task in enumerate(TASKS)],
        {"name": "lr_plain", "classifier": "lr", "blocks": ["clinical", "birads", "quantitative"]},
        {"name": "lr_lasso", "classifier": "lr", "blocks": ["clinical", "birads", "quantitative"], "grid": LASSO_GRID}]
    return config_from_dict(config, source="<bench>")


def run_seed(seed: int, n1: int, n2: int, inner_splits: int, workdir: Path, n_jobs: int = 1) -> dict[str, Any]:
    csv = workdir / f"demo_{seed}.csv"
    make_demo_cohort(n_center1=n1, n_center2=n2, seed=seed).to_csv(csv, index=False)
    context = StudyContext(config=_config(csv, inner_splits, n_jobs), out_dir=None)
    context.document = {"provenance": {}, "cohort": {}, "design": {}, "tasks": {}, "warnings": []}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in ("cohort", "tasks", "design", "models"):
            getattr(stages, f"step_{step}")(context)
    fit_s = time.perf_counter() - start
    frame, plan = context.frame, context.design
    out: dict[str, Any] = {"seed": seed, "fit_seconds": fit_s, "tasks": {}}
    for index, task in enumerate(TASKS):
        state = context.tasks[task]
        train = plan.train[state.mask[plan.train]]
        y_train = state.labels[train]
        oof = {m: state.models[m].oof_scores for m in ALL_MODELS}
        families = {m: state.models[m].family for m in ALL_MODELS}
        chosen = {rule: choose_model(y_train, oof, families, rule=rule) for rule in ("simplest", "one_se", "best")}
        truth = true_task_score(frame, state.task.positive, tuple(state.task.negative))
        block: dict[str, Any] = {"chosen": {r: c.chosen for r, c in chosen.items()},
                                 "choice": chosen["simplest"].to_dict(), "sets": {},
                                 "demo_lr_tuned": state.models["lr"].hyperparameters["tuned"]}
        for set_name in SETS:
            rows = plan.sets[set_name]
            eligible = state.mask[rows]
            y = state.labels[rows][eligible]
            true_auc = float(roc_auc_score(y, truth[rows][eligible]))
            scores = {m: state.scores[m][set_name][eligible]
                      for m in [*ALL_MODELS, f"lr_info_{index}", "lr_plain", "lr_lasso"]}
            ratio = {m: float(roc_auc_score(y, s)) / true_auc for m, s in scores.items()}
            best_single = max(ALL_MODELS, key=lambda m: ratio[m])
            c = chosen["simplest"].chosen
            p = 1.0 if c == best_single else delong_test(y, scores[c], scores[best_single]).pvalue
            block["sets"][set_name] = {
                "true_auc": true_auc, "ratio": ratio, "lr_informative": ratio[f"lr_info_{index}"],
                "lr_plain": ratio["lr_plain"], "lr_lasso": ratio["lr_lasso"],
                "chosen_ratio": {r: ratio[ch.chosen] for r, ch in chosen.items()},
                "best_single": best_single, "p_chosen_vs_best_single": p,
            }
        out["tasks"][task] = block
    return out


def _summary(results: list[dict[str, Any]]) -> None:
    print("\nmeans over seeds", [r["seed"] for r in results])
    for task in TASKS:
        for set_name in SETS:
            rows = [r["tasks"][task]["sets"][set_name] for r in results]
            mean = {m: float(np.mean([row["ratio"][m] for row in rows])) for m in ALL_MODELS}
            chosen = {rule: float(np.mean([row["chosen_ratio"][rule] for row in rows]))
                      for rule in ("simplest", "one_se", "best")}
            info = float(np.mean([row["lr_informative"] for row in rows]))
            plain = float(np.mean([row.get("lr_plain", row["ratio"]["lr"]) for row in rows]))
            lasso = float(np.mean([row.get("lr_lasso", np.nan) for row in rows]))
            best_model = max(mean, key=mean.get)
            worst_p = min(row["p_chosen_vs_best_single"] for row in rows)
            print(f"  {task:<22}{set_name:<18} chosen(simplest) {chosen['simplest']:.4f}  one_se {chosen['one_se']:.4f}"
                  f"  best {chosen['best']:.4f}  | demo LR {mean['lr']:.4f}  plain LR all {plain:.4f}  "
                  f"LASSO LR all {lasso:.4f}  LR informative {info:.4f}  "
                  f"best single model {best_model} {mean[best_model]:.4f}  | min p(chosen vs per-run best) "
                  f"{worst_p:.3f}")
            goals = {
                ">= best single model": chosen["simplest"] >= mean[best_model] - 1e-12,
                ">= plain LR all": chosen["simplest"] >= plain - 1e-12,
                "within 0.005 of LR informative": chosen["simplest"] >= info - 0.005,
                "never p < 0.05 vs per-run best (internal)": set_name != "internal" or worst_p >= 0.05,
            }
            print("    goals: " + "; ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in goals.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--n-center1", type=int, default=3000)
    parser.add_argument("--n-center2", type=int, default=1500)
    parser.add_argument("--inner-splits", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=1, help="processes for the task x model fits (same results)")
    parser.add_argument("--json", type=Path, default=None, help="append each seed's figures to this JSON-lines file")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp"))
    parser.add_argument("--summarize", type=Path, default=None,
                        help="only print the summary of the seeds saved in this JSON-lines file (from --json)")
    args = parser.parse_args()
    if args.summarize is not None:
        lines = args.summarize.read_text(encoding="utf-8").splitlines()
        _summary([json.loads(line) for line in lines if line.strip()])
        return
    results = []
    for seed in args.seeds:
        result = run_seed(seed, args.n_center1, args.n_center2, args.inner_splits, args.workdir, args.n_jobs)
        results.append(result)
        print(f"seed {seed}: models fitted in {result['fit_seconds']:.0f} s")
        for task, block in result["tasks"].items():
            print(f"  {task}: chosen {block['chosen']}; demo LR at {block['demo_lr_tuned']}")
            for set_name, row in block["sets"].items():
                single = "  ".join(f"{m} {v:.3f}" for m, v in row["ratio"].items())
                print(f"    {set_name:<18} true AUC {row['true_auc']:.3f}  ratios: {single}  "
                      f"p(chosen vs {row['best_single']}) {row['p_chosen_vs_best_single']:.3f}")
        if args.json is not None:
            with args.json.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(result, default=float) + "\n")
    _summary(results)


if __name__ == "__main__":
    main()
