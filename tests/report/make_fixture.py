"""Generate the report fixture study directory (tests/report/data/study) from synthetic data.

The files follow the results.json schema (schema_version 1) of the study output directory: results.json,
predictions.csv and shap_<task>.csv.  Statistics are computed here with small self-contained formulas so the
fixture does not depend on the study engine.  Regenerate with::

    python tests/report/make_fixture.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps
from sklearn.metrics import roc_auc_score, roc_curve

OUT = Path(__file__).parent / "data" / "study"
SETS = ("train", "internal", "external:center2")
MODELS = ("lr", "svm", "rf", "gbdt", "dt")
NOISE = {"lr": 0.9, "svm": 0.8, "rf": 0.85, "gbdt": 0.95, "dt": 1.5}


def _cohort(rng: np.random.Generator) -> pd.DataFrame:
    n = {"train": 360, "internal": 150, "external:center2": 120}
    rows = []
    for set_name, count in n.items():
        center = "center2" if set_name.startswith("external") else "center1"
        age = rng.normal(52, 10, count).round()
        size = rng.gamma(4, 6, count).round(1)
        adc = rng.normal(1.0, 0.15, count).round(3)
        eer = rng.beta(6, 4, count).round(3)
        ki67 = rng.choice(["low", "high"], count, p=[0.45, 0.55])
        lesion_type = rng.choice(["mass", "nme"], count, p=[0.8, 0.2])
        shape = np.where(lesion_type == "mass", rng.choice(["oval", "round", "irregular"], count), "not_applicable")
        lp3 = -1.2 + 0.04 * (size - 24) - 2.0 * (adc - 1.0) + 0.8 * (ki67 == "high") + 0.6 * (lesion_type == "nme")
        lp_low = 0.8 + 2.5 * (eer - 0.6) - 1.5 * (adc - 1.0) + 0.7 * (shape == "irregular")
        u = rng.uniform(size=count)
        p_pos = 1 / (1 + np.exp(-lp3))
        p_low = (1 - p_pos) / (1 + np.exp(-lp_low))
        her2 = np.where(u < p_pos, "positive", np.where(u < p_pos + p_low, "low", "zero"))
        dfs = rng.exponential(60 / np.exp(0.5 * lp3), count).clip(1, 84).round(1)
        event = (dfs < 84) & (rng.uniform(size=count) < 0.6)
        for i in range(count):
            rows.append(
                {
                    "lesion_id": f"{center[0].upper()}{len(rows):04d}",
                    "patient_id": f"P{len(rows):04d}",
                    "center": center,
                    "set": set_name,
                    "age": age[i],
                    "tumor_size_mm": size[i],
                    "adc_mean": adc[i],
                    "eer": eer[i],
                    "ki67_status": ki67[i],
                    "lesion_type": lesion_type[i],
                    "mass_shape": shape[i],
                    "her2_category": her2[i],
                    "lp_pos": lp3[i],
                    "lp_low": lp_low[i],
                    "dfs_months": dfs[i],
                    "dfs_event": int(event[i]),
                }
            )
    return pd.DataFrame(rows)


def _wilson(x: int, n: int) -> dict[str, float]:
    if n == 0:
        return {"estimate": None, "ci_low": None, "ci_high": None, "method": "wilson", "n": 0}
    z = 1.959964
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {"estimate": p, "ci_low": centre - half, "ci_high": centre + half, "method": "wilson", "n": n}


def _delong_parts(y: np.ndarray, s: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return float(psi.mean()), psi.mean(axis=1), psi.mean(axis=0)


def _auc(y: np.ndarray, s: np.ndarray) -> dict[str, float]:
    auc, v10, v01 = _delong_parts(y, s)
    var = v10.var(ddof=1) / len(v10) + v01.var(ddof=1) / len(v01)
    se = math.sqrt(var)
    return {"estimate": auc, "ci_low": max(0.0, auc - 1.96 * se), "ci_high": min(1.0, auc + 1.96 * se),
            "method": "delong", "n": int(len(y))}


def _delong_p(y: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> float:
    a1, v10a, v01a = _delong_parts(y, s1)
    a2, v10b, v01b = _delong_parts(y, s2)
    s10 = np.cov(np.vstack([v10a, v10b]))
    s01 = np.cov(np.vstack([v01a, v01b]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / len(v10a) + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / len(v01a)
    if var <= 0:
        return 1.0
    return float(2 * sps.norm.sf(abs(a1 - a2) / math.sqrt(var)))


def _calibration(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    import statsmodels.api as sm

    p = np.clip(p, 1e-6, 1 - 1e-6)
    logit = np.log(p / (1 - p))
    slope_fit = sm.GLM(y, sm.add_constant(logit), family=sm.families.Binomial()).fit()
    citl = sm.GLM(y, np.ones_like(logit), family=sm.families.Binomial(), offset=logit).fit()
    bins = np.quantile(p, np.linspace(0, 1, 11))
    idx = np.clip(np.searchsorted(bins, p, side="right") - 1, 0, 9)
    curve = {"predicted": [], "observed": [], "counts": []}
    for b in range(10):
        m = idx == b
        if m.sum():
            curve["predicted"].append(float(p[m].mean()))
            curve["observed"].append(float(y[m].mean()))
            curve["counts"].append(int(m.sum()))
    err = np.abs(np.array(curve["predicted"]) - np.array(curve["observed"]))
    return {
        "intercept": float(citl.params[0]),
        "slope": float(slope_fit.params[1]),
        "calibration_in_the_large": float(citl.params[0]),
        "brier": float(np.mean((p - y) ** 2)),
        "emax": float(err.max()),
        "e90": float(np.quantile(err, 0.9)),
        "eavg": float(err.mean()),
    }, curve


def _dca(y: np.ndarray, p: np.ndarray) -> dict[str, object]:
    thr = np.round(np.arange(0.01, 1.0, 0.01), 2)
    n, prev = len(y), y.mean()
    nb, nb_all = [], []
    for t in thr:
        call = p >= t
        tp, fp = np.sum(call & (y == 1)), np.sum(call & (y == 0))
        nb.append(float(tp / n - fp / n * t / (1 - t)))
        nb_all.append(float(prev - (1 - prev) * t / (1 - t)))
    nb_arr, all_arr = np.array(nb), np.array(nb_all)
    better = (nb_arr > np.maximum(all_arr, 0)) & (nb_arr > 0)
    best = [float(thr[better].min()), float(thr[better].max())] if better.any() else None
    opt = float(thr[int(np.argmax(nb_arr - np.maximum(all_arr, 0)))]) if better.any() else None
    return {"thresholds": thr.tolist(), "net_benefit": nb, "net_benefit_all": nb_all, "best_range": best}, opt


def _scores(frame: pd.DataFrame, lp: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {}
    for model in MODELS:
        z = lp + rng.normal(0, NOISE[model], len(lp))
        if model == "dt":
            z = np.round(z * 2) / 2
        out[model] = 1 / (1 + np.exp(-0.8 * z))
    return out


def _table1(sub: pd.DataFrame, y: np.ndarray) -> list[dict[str, object]]:
    rows = []
    pos, neg = sub[y == 1], sub[y == 0]
    for var in ("age", "tumor_size_mm", "adc_mean", "eer"):
        p = float(sps.mannwhitneyu(pos[var], neg[var]).pvalue)

        def summary(x: pd.Series) -> str:
            q = x.quantile([0.25, 0.5, 0.75])
            return f"{q[0.5]:.2f} ({q[0.25]:.2f}, {q[0.75]:.2f})"

        rows.append({"variable": var, "level": None, "positive": summary(pos[var]), "negative": summary(neg[var]),
                     "pvalue": p, "test": "Mann–Whitney U"})
    for var in ("ki67_status", "lesion_type", "mass_shape"):
        table = pd.crosstab(sub[var], y)
        p = float(sps.chi2_contingency(table.values)[1]) if table.shape[0] > 1 else 1.0
        for j, level in enumerate(table.index):
            rows.append({"variable": var, "level": str(level),
                         "positive": f"{table.loc[level].get(1, 0)} ({100 * table.loc[level].get(1, 0) / len(pos):.1f}%)",
                         "negative": f"{table.loc[level].get(0, 0)} ({100 * table.loc[level].get(0, 0) / len(neg):.1f}%)",
                         "pvalue": p if j == 0 else None, "test": "χ²" if j == 0 else None})
    ps = np.array([r["pvalue"] for r in rows if r["pvalue"] is not None])
    order = np.argsort(ps)
    adj = np.empty_like(ps)
    adj[order] = np.minimum.accumulate((ps[order] * len(ps) / np.arange(1, len(ps) + 1))[::-1])[::-1]
    k = 0
    for r in rows:
        if r["pvalue"] is not None:
            r["pvalue_adjusted"] = float(min(adj[k], 1.0))
            k += 1
        else:
            r["pvalue_adjusted"] = None
    return rows


def _task(frame: pd.DataFrame, name: str, rng: np.random.Generator, preds: list[dict[str, object]]) -> dict[str, object]:
    if name == "positive_vs_negative":
        keep = np.ones(len(frame), bool)
        y_all = (frame["her2_category"] == "positive").to_numpy().astype(int)
        lp = frame["lp_pos"].to_numpy()
        title, positive, negative = "HER2-positive vs HER2-negative", "positive", ["low", "zero"]
    else:
        keep = (frame["her2_category"] != "positive").to_numpy()
        y_all = (frame["her2_category"] == "low").to_numpy().astype(int)
        lp = frame["lp_low"].to_numpy()
        title, positive, negative = "HER2-low vs HER2-zero", "low", ["zero"]
    sub = frame[keep].reset_index(drop=True)
    y_sub, lp_sub = y_all[keep], lp[keep]
    scores = _scores(sub, lp_sub, rng)
    train = (sub["set"] == "train").to_numpy()
    result: dict[str, object] = {"title": title, "positive": positive, "negative": negative,
                                 "counts": {}, "table1": {}, "models": {}, "delong": {}}
    for s in SETS:
        m = (sub["set"] == s).to_numpy()
        result["counts"][s] = {"positive": int(y_sub[m].sum()), "negative": int((1 - y_sub[m]).sum())}
        rows = _table1(sub[m], y_sub[m])
        if name == "low_vs_zero":  # the study keys Table 1 columns by class label (table1_groups)
            rows = [{("low" if k == "positive" else "zero" if k == "negative" else k): v for k, v in r.items()} for r in rows]
        result["table1"][s] = rows
    result["table1_groups"] = ["low", "zero"] if name == "low_vs_zero" else ["positive", "negative"]
    for model in MODELS:
        p_tr = scores[model][train]
        fpr, tpr, thr = roc_curve(y_sub[train], p_tr)
        threshold = float(thr[int(np.argmax(tpr - fpr))])
        spec = {"family": model, "block": "clinical+imaging", "hyperparameters": {"C": 1.0} if model in ("lr", "svm") else {},
                "selected_features": [{"name": f, "coefficient": None, "importance": None}
                                      for f in ("tumor_size_mm", "adc_mean", "eer", "ki67_status", "mass_shape")],
                "threshold": threshold, "threshold_rule": "youden_on_training", "sets": {}}
        for s in SETS:
            m = (sub["set"] == s).to_numpy()
            y, p = y_sub[m], scores[model][m]
            call = p >= threshold
            tp, fp = int(np.sum(call & (y == 1))), int(np.sum(call & (y == 0)))
            fn, tn = int(np.sum(~call & (y == 1))), int(np.sum(~call & (y == 0)))
            f, t, _ = roc_curve(y, p)
            cal, curve = _calibration(y, p)
            dca, opt = _dca(y, p)
            spec["sets"][s] = {
                "n": int(m.sum()), "auc": _auc(y, p), "sensitivity": _wilson(tp, tp + fn),
                "specificity": _wilson(tn, tn + fp), "accuracy": _wilson(tp + tn, len(y)),
                "ppv": _wilson(tp, tp + fp), "npv": _wilson(tn, tn + fn),
                "roc_curve": {"fpr": np.round(f, 4).tolist(), "tpr": np.round(t, 4).tolist()},
                "calibration": cal, "calibration_curve": curve, "decision_curve": dca, "optimal_dca_threshold": opt,
            }
            if s != "train":  # a fixed-width stand-in for the bootstrap interval (the layout is what is tested)
                auc = spec["sets"][s]["auc"]
                spec["sets"][s]["auc_bootstrap"] = {
                    "estimate": auc["estimate"], "ci_low": max(0.0, auc["estimate"] - 0.07),
                    "ci_high": min(1.0, auc["estimate"] + 0.06), "n_resamples": 2000,
                    "method": "patient-grouped stratified bootstrap (percentile) of AUC"}
            for i in np.flatnonzero(m):
                preds.append({"lesion_id": sub.loc[i, "lesion_id"], "patient_id": sub.loc[i, "patient_id"],
                              "center": sub.loc[i, "center"], "set": s, "task": name, "model": model,
                              "y_true": int(y_sub[i]), "score": round(float(scores[model][i]), 5),
                              "call": int(scores[model][i] >= threshold)})
        result["models"][model] = spec
    for s in SETS:
        m = (sub["set"] == s).to_numpy()
        pv = [[1.0 if a == b else _delong_p(y_sub[m], scores[a][m], scores[b][m]) for b in MODELS] for a in MODELS]
        result["delong"][s] = {"models": list(MODELS), "pvalues": pv, "correction": "none"}
    aucs = {mod: result["models"][mod]["sets"]["internal"]["auc"]["estimate"] for mod in MODELS}
    result["best_model"] = max(aucs, key=aucs.get)
    # multivariable logistic model (reported on original units)
    import statsmodels.api as sm

    tr = sub[train]
    X = pd.DataFrame({"tumor_size_mm": tr["tumor_size_mm"], "adc_mean": tr["adc_mean"], "eer": tr["eer"],
                      "ki67_status[high]": (tr["ki67_status"] == "high").astype(float),
                      "mass_shape[irregular]": (tr["mass_shape"] == "irregular").astype(float),
                      "mass_shape[not_applicable]": (tr["mass_shape"] == "not_applicable").astype(float)})
    fit = sm.Logit(y_sub[train], sm.add_constant(X)).fit(disp=0)
    ci = fit.conf_int()
    result["logistic"] = {"terms": [
        {"term": term, "coef": float(fit.params[term]), "se": float(fit.bse[term]), "pvalue": float(fit.pvalues[term]),
         "odds_ratio": float(np.exp(fit.params[term])), "or_ci_low": float(np.exp(ci.loc[term, 0])),
         "or_ci_high": float(np.exp(ci.loc[term, 1]))} for term in fit.params.index]}
    params = fit.params
    result["nomogram"] = {"intercept": float(params["const"]), "model": "lr", "terms": [
        {"feature": "tumor_size_mm", "kind": "numeric", "coef": float(params["tumor_size_mm"]), "range": [5.0, 80.0]},
        {"feature": "adc_mean", "kind": "numeric", "coef": float(params["adc_mean"]), "range": [0.6, 1.5]},
        {"feature": "eer", "kind": "numeric", "coef": float(params["eer"]), "range": [0.2, 1.0]},
        {"feature": "ki67_status", "kind": "categorical", "levels": {"low": 0.0, "high": float(params["ki67_status[high]"])}},
        {"feature": "mass_shape", "kind": "categorical", "levels": {
            "oval/round": 0.0, "irregular": float(params["mass_shape[irregular]"]),
            "not_applicable": float(params["mass_shape[not_applicable]"])}},
    ]}
    # SHAP (linear explanation of the LR model on the log-odds scale, aggregated to cohort columns)
    feats = ["tumor_size_mm", "adc_mean", "eer", "ki67_status", "mass_shape"]
    contrib = pd.DataFrame({
        "tumor_size_mm": params["tumor_size_mm"] * (sub["tumor_size_mm"] - tr["tumor_size_mm"].mean()),
        "adc_mean": params["adc_mean"] * (sub["adc_mean"] - tr["adc_mean"].mean()),
        "eer": params["eer"] * (sub["eer"] - tr["eer"].mean()),
        "ki67_status": params["ki67_status[high]"] * ((sub["ki67_status"] == "high") - X["ki67_status[high]"].mean()),
        "mass_shape": params["mass_shape[irregular]"] * ((sub["mass_shape"] == "irregular") - X["mass_shape[irregular]"].mean())
        + params["mass_shape[not_applicable]"] * ((sub["mass_shape"] == "not_applicable") - X["mass_shape[not_applicable]"].mean()),
    })
    base = float(np.mean(fit.predict(sm.add_constant(X), which="linear"))) if hasattr(fit, "predict") else 0.0
    shap_rows = pd.DataFrame({"lesion_id": sub["lesion_id"], "set": sub["set"], "base_value": base})
    for f in feats:
        shap_rows[f"shap__{f}"] = contrib[f].round(5)
        shap_rows[f"value__{f}"] = sub[f]
    shap_rows = shap_rows[sub["set"].isin(["train", "internal"]).to_numpy()]
    shap_rows.to_csv(OUT / f"shap_{name}.csv", index=False)
    result["shap"] = {"model": "lr", "method": "linear", "output": "log_odds", "file": f"shap_{name}.csv",
                      "base_value": base,
                      "mean_abs": {f: float(contrib[f].abs().mean()) for f in feats}}
    result["true_posterior_auc"] = {s: float(roc_auc_score(y_sub[(sub["set"] == s).to_numpy()],
                                                           lp_sub[(sub["set"] == s).to_numpy()])) for s in SETS}
    # subgroups
    rows = []
    best = result["best_model"]
    for s in SETS:
        for var, levels in (("lesion_type", ("mass", "nme")), ("center", tuple(sorted(sub["center"].unique())))):
            for level in levels:
                m = ((sub["set"] == s) & (sub[var] == level)).to_numpy()
                if m.sum() < 10 or len(set(y_sub[m])) < 2:
                    continue
                rows.append({"set": s, "model": best, "variable": var, "level": level, "n": int(m.sum()),
                             "n_positive": int(y_sub[m].sum()), "auc": _auc(y_sub[m], scores[best][m])})
    result["subgroups"] = {"rows": rows}
    # survival by model score
    if name == "positive_vs_negative":
        cutoff = float(np.median(scores["lr"][train]))
        group = np.where(scores["lr"] >= cutoff, "high", "low")
        ev = (sub["set"] != "train").to_numpy()
        result["survival"] = {"endpoint": "disease-free survival", "time_unit": "months", "model": "lr",
                              "set": "internal+external", "cutoff": cutoff, "cutoff_rule": "median training score",
                              "data": {"time": sub.loc[ev, "dfs_months"].tolist(),
                                       "event": sub.loc[ev, "dfs_event"].astype(int).tolist(),
                                       "group": group[ev].tolist()}}
    result["_scores"] = scores
    result["_sub"] = sub
    return result


def main() -> None:
    rng = np.random.default_rng(20261123)
    OUT.mkdir(parents=True, exist_ok=True)
    frame = _cohort(rng)
    preds: list[dict[str, object]] = []
    tasks = {name: _task(frame, name, rng, preds) for name in ("positive_vs_negative", "low_vs_zero")}
    # three-class confusion composed from the two LR models (positive_first)
    p_pos = tasks["positive_vs_negative"].pop("_scores")["lr"]
    tasks["positive_vs_negative"].pop("_sub")
    lz_scores = tasks["low_vs_zero"].pop("_scores")["lr"]
    lz_sub = tasks["low_vs_zero"].pop("_sub")
    p_low_given = pd.Series(lz_scores, index=lz_sub["lesion_id"]).reindex(frame["lesion_id"]).fillna(0.5).to_numpy()
    probs = np.column_stack([(1 - p_pos) * (1 - p_low_given), (1 - p_pos) * p_low_given, p_pos])
    labels = ["zero", "low", "positive"]
    three = {"hierarchy": "positive_first", "sets": {}}
    for s in SETS:
        m = (frame["set"] == s).to_numpy()
        truth = frame.loc[m, "her2_category"].map({k: i for i, k in enumerate(labels)}).to_numpy()
        pred = probs[m].argmax(axis=1)
        cm = np.zeros((3, 3), int)
        for a, b in zip(truth, pred, strict=True):
            cm[a, b] += 1
        ovr = {lab: _auc((truth == i).astype(int), probs[m, i]) for i, lab in enumerate(labels)}
        three["sets"][s] = {"labels": labels, "ovr_auc": ovr, "macro_auc": float(np.mean([v["estimate"] for v in ovr.values()])),
                            "confusion_matrix": cm.tolist(), "accuracy": _wilson(int(np.trace(cm)), int(cm.sum()))}
    n_by_set = frame.groupby("set").agg(n_lesions=("lesion_id", "size"), n_patients=("patient_id", "nunique"))
    results = {
        "schema_version": 1,
        "her2mri_version": "0.1.0",
        "created": "2026-11-23T04:30:00+00:00",
        "config": {
            "schema_version": 1, "name": "fixture study", "seed": 2026,
            "cohort": {"path": "demo_cohort.csv", "mapping": None, "subtype": None, "features": None,
                       "exclude_lesion_types": []},
            "tasks": {"names": ["positive_vs_negative", "low_vs_zero"], "three_class": {"hierarchy": "positive_first"}},
            "design": {"kind": "external", "test_size": 0.3, "external_centers": ["center2"], "internal_test_size": 0.3,
                       "n_splits": 5, "n_repeats": 1, "inner_splits": 5, "column": "split", "train_value": "train",
                       "seed": None},
            "blocks": {},
            "models": [{"name": m, "blocks": ["clinical", "birads", "quantitative"],
                        "selectors": [{"name": "correlation", "params": {"threshold": 0.9}},
                                      {"name": "lasso", "params": {}}] if m == "lr" else [],
                        "classifier": m, "tuning": True, "grid": None} for m in MODELS],
            "selection": {"model": None, "metric": "cv_auc"},
            "preprocessing": {"impute": "median", "scale": True,
                              "harmonize": {"by": "center", "use_unlabelled_external": True, "eb": True, "blocks": None}},
            "statistics": {"n_bootstrap": 2000, "conf_level": 0.95, "ci_method": "wilson", "delong_correction": "holm",
                           "calibration_bins": 10, "table1_correction": "bh"},
            "interpretability": {"shap": True, "time_budget_s": 30.0, "max_background": 100},
            "survival": {"enabled": True, "time": "dfs_months", "event": "dfs_event", "cutoff": "median"},
            "subgroups": {"columns": ["lesion_type", "center"], "min_per_class": 5},
            "conformal": {"alpha": 0.1},
            "reader_study": None,
            "report": {"enabled": True},
        },
        "provenance": {"python": "3.11.9", "platform": "Linux-x86_64",
                       "packages": {"her2mri": "0.1.0", "numpy": "2.4.0", "scikit-learn": "1.9.0", "scipy": "1.17.0",
                                    "statsmodels": "0.15.0", "pandas": "2.3.0"},
                       "config_sha256": "3f1c0e5d9a7b2c4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e",
                       "cohort_sha256": "a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8",
                       "seed": 2026, "git_commit": None},
        "cohort": {
            "source": "demo_cohort.csv", "n_lesions": int(len(frame)), "n_patients": int(frame["patient_id"].nunique()),
            "centers": ["center1", "center2"],
            "flow": [
                {"step": "cohort table demo_cohort.csv", "n": int(len(frame)) + 41, "excluded": 0, "reason": ""},
                {"step": "HER2 category derivable", "n": int(len(frame)) + 12, "excluded": 29,
                 "reason": "HER2 category not derivable (e.g. IHC 2+ without an ISH result); kept out of every HER2 task"},
                {"step": "lesion types kept", "n": int(len(frame)), "excluded": 12, "reason": "lesion type excluded: focus"},
                {"step": "task positive_vs_negative", "n": int(len(frame)), "excluded": 0, "reason": "",
                 "excluded_by_category": {}},
                {"step": "task low_vs_zero", "n": int((frame["her2_category"] != "positive").sum()),
                 "excluded": int((frame["her2_category"] == "positive").sum()),
                 "reason": f"HER2 positive not in this task: {int((frame['her2_category'] == 'positive').sum())}",
                 "excluded_by_category": {"positive": int((frame["her2_category"] == "positive").sum())}},
            ],
            "flow_by_set": {s: [
                {"step": "task positive_vs_negative", "n": int((frame["set"] == s).sum()), "excluded": 0, "reason": ""},
                {"step": "task low_vs_zero", "n": int(((frame["set"] == s) & (frame["her2_category"] != "positive")).sum()),
                 "excluded": int(((frame["set"] == s) & (frame["her2_category"] == "positive")).sum()),
                 "reason": "HER2 positive not in this task"}] for s in SETS},
            "sets": {s: {"n_lesions": int(n_by_set.loc[s, "n_lesions"]), "n_patients": int(n_by_set.loc[s, "n_patients"]),
                         "centers": ["center2"] if s.startswith("external") else ["center1"]} for s in SETS},
            "notes": ["12 extra columns kept but not used."],
        },
        "design": {"kind": "external", "sets": list(SETS), "external_centers": ["center2"],
                   "development_centers": ["center1"], "internal_test_size": 0.3, "seed": 2026,
                   "grouped_by": "patient_id", "stratified_on": "her2_category"},
        "tasks": tasks,
        "three_class": three,
        "conformal": {"method": "Mondrian split conformal (class-conditional)", "alpha": 0.1, "sets": {
            s: {"coverage": 0.9 + 0.01 * i, "coverage_by_class": {"zero": 0.88, "low": 0.91, "positive": 0.93},
                "mean_set_size": 1.4 + 0.1 * i, "singleton_fraction": 0.62 - 0.05 * i} for i, s in enumerate(SETS[1:])}},
        "reader_study": {
            "task": "positive_vs_negative", "model": "lr", "score_kind": "probability", "threshold": 0.5,
            "calls": "threshold", "n_lesions": 120, "n_pos": 40, "n_neg": 80, "readers": ["R1", "R2"],
            "conf_level": 0.95,
            "per_reader": [
                {"reader_id": r, "condition": c, "n": 120, "n_pos": 40, "n_neg": 80, "auc": a, "auc_ci_low": a - 0.09,
                 "auc_ci_high": a + 0.08, "sensitivity": se, "sensitivity_ci_low": se - 0.12,
                 "sensitivity_ci_high": se + 0.09, "specificity": sp, "specificity_ci_low": sp - 0.09,
                 "specificity_ci_high": sp + 0.08, "accuracy": 0.6, "tp": 30, "fp": 40, "tn": 40, "fn": 10}
                for r, c, a, se, sp in (("R1", "unaided", 0.62, 0.84, 0.46), ("R1", "aided", 0.80, 0.88, 0.62),
                                        ("R2", "unaided", 0.58, 0.78, 0.43), ("R2", "aided", 0.77, 0.83, 0.61))],
            "comparisons": [
                {"reader_id": r, "n": 120, "auc_unaided": u, "auc_aided": a, "estimate": a - u, "ci_low": a - u - 0.08,
                 "ci_high": a - u + 0.08, "statistic": 3.1, "pvalue": 0.002, "sensitivity_change": 0.04,
                 "specificity_change": 0.16, "method": "paired DeLong"}
                for r, u, a in (("R1", 0.62, 0.80), ("R2", 0.58, 0.77))],
            "mrmc": {"summary": {"comparison": "aided - unaided", "estimate": 0.185, "ci_low": 0.08, "ci_high": 0.29,
                                 "statistic": 14.2, "df": 11.3, "pvalue": 0.0029,
                                 "method": "Obuchowski–Rockette with Hillis df (RJafroc equivalent)",
                                 "cov_method": "jackknife"}, "detail": {}},
            "agreement": [
                {"descriptor": "her2_call", "condition": "unaided", "readers": "R1 vs R2", "n": 120, "estimate": 0.71,
                 "ci_low": 0.60, "ci_high": 0.82, "interpretation": "substantial", "method": "Cohen's kappa"}],
            "notes": [],
        },
        "harmonisation": {
            "enabled": True, "by": "center", "eb": True, "use_unlabelled_external": True,
            "tasks": {"positive_vs_negative": {"model": "lr", "sets": {"external:center2": {
                "with_combat": {"estimate": 0.74, "ci_low": 0.66, "ci_high": 0.82},
                "without_combat": {"estimate": 0.69, "ci_low": 0.60, "ci_high": 0.78}, "delong_pvalue": 0.041}}}},
            "method": "ComBat (empirical Bayes, parametric)", "batch": "center",
            "features": [
                {"feature": f, "before": {"center1": b1, "center2": b2}, "after": {"center1": a1, "center2": a2},
                 "pvalue_before": pb, "pvalue_after": pa}
                for f, b1, b2, a1, a2, pb, pa in (
                    ("dce__firstorder_Mean", 412.0, 530.5, 455.1, 457.3, 1e-6, 0.81),
                    ("dce__glcm_Contrast", 18.2, 25.9, 21.0, 21.4, 2e-4, 0.66),
                    ("t2__glszm_ZoneEntropy", 5.9, 6.4, 6.1, 6.1, 0.012, 0.93),
                    ("adc__firstorder_Median", 1.02, 0.97, 1.0, 1.0, 0.21, 0.88))],
        },
        "drift": {"reference": "train", "features": [
            {"set": "external:center2", "feature": "adc_mean", "statistic": 0.08, "pvalue": 0.41, "psi": 0.03},
            {"set": "external:center2", "feature": "tumor_size_mm", "statistic": 0.12, "pvalue": 0.09, "psi": 0.07},
            {"set": "external:center2", "feature": "eer", "statistic": 0.21, "pvalue": 0.0004, "psi": 0.24}]},
        "warnings": ["k-NN produced tied scores; its calibration and decision curves are of limited value.",
                     "External validation set has fewer than 100 events for low_vs_zero."],
    }
    (OUT / "results.json").write_text(json.dumps(results, allow_nan=False), encoding="utf-8")
    pd.DataFrame(preds).to_csv(OUT / "predictions.csv", index=False)


if __name__ == "__main__":
    main()
