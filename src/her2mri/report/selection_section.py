"""Report sections on how the model was arrived at: the model-choice evidence, the LASSO coefficient path with
its cross-validated deviance (λmin, λ1se) for models whose selection keeps one (group LASSO), and the
univariable screen (each variable's p-value and whether it entered the model) for variable-level screens."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from her2mri.report import figures as fg
from her2mri.report.blocks import Section, StudyData, figure, figures, heading, table, text
from her2mri.report.formatting import fmt_num, fmt_pvalue, label_model, label_task, label_variable

__all__ = ["model_choice_section", "selection_path_section", "selection_screen_section"]


def _path_figure(path: Mapping[str, Any], title: str) -> str:
    import matplotlib.pyplot as plt

    lambdas = np.log10(np.asarray(path["lambdas"], dtype=float))
    groups = list(path.get("groups") or path["features"])
    order = list(dict.fromkeys(groups))
    with fg._style():
        fig, ax = plt.subplots(figsize=(5.6, 3.8))
        for coef, group in zip(path["coef_path"], groups, strict=True):
            colour = fg.PALETTE[order.index(group) % len(fg.PALETTE)]
            ax.plot(lambdas, np.asarray(coef, dtype=float), color=colour, lw=1.0)
        for value, style, label in ((path["lambda_min"], "--", "λmin"), (path["lambda_1se"], ":", "λ1se")):
            ax.axvline(np.log10(value), color="0.3", ls=style, lw=0.9, label=label)
        ax.axhline(0, color="0.7", lw=0.6)
        ax.invert_xaxis()
        ax.set(xlabel="log10 λ", ylabel="Coefficient", title=title)
        ax.legend(loc="best", frameon=False)
        return fg.figure_to_uri(fig)


def _deviance_figure(path: Mapping[str, Any], title: str) -> str:
    import matplotlib.pyplot as plt

    lambdas = np.log10(np.asarray(path["lambdas"], dtype=float))
    mean = np.asarray(path["cv_deviance"], dtype=float)
    se = np.asarray(path["cv_deviance_se"], dtype=float)
    with fg._style():
        fig, ax = plt.subplots(figsize=(5.6, 3.8))
        ax.errorbar(lambdas, mean, yerr=se, fmt="o", ms=3, color=fg.PALETTE[0], ecolor="0.6", lw=0.8, capsize=2)
        for value, style, label in ((path["lambda_min"], "--", "λmin"), (path["lambda_1se"], ":", "λ1se")):
            ax.axvline(np.log10(value), color="0.3", ls=style, lw=0.9, label=label)
        ax.invert_xaxis()
        ax.set(xlabel="log10 λ", ylabel="Binomial deviance (CV mean ± SE)", title=title)
        ax.legend(loc="best", frameon=False)
        return fg.figure_to_uri(fig)


def _selection_records(data: StudyData, key: str, needs: str) -> Iterator[tuple[str, str, str, Mapping[str, Any]]]:
    """(task, model, "task — model" title, record) for every model's ``key`` record that has ``needs``."""
    for name, task in data.tasks.items():
        for model, entry in (task.get("models") or {}).items():
            for record in entry.get(key) or []:
                if isinstance(record, Mapping) and record.get(needs):
                    yield name, model, f"{label_task(name, task.get('title'))} — {label_model(model)}", record


def selection_path_section(data: StudyData) -> Section | None:
    """Coefficient path and CV deviance of every LASSO selection that recorded one (None when there is none)."""
    section = Section(id="selection-path", title="Variable selection: LASSO path",
                      lead="Coefficients along the penalty path (each colour one variable; a categorical variable's "
                           "levels enter and leave together) and the cross-validated deviance that chose λ.")
    for name, model, title, path in _selection_records(data, "selection_path", "lambdas"):
        chosen = "λ1se" if path.get("rule") == "1se" else "λmin"
        section.blocks.append(heading(title))
        section.blocks.append(figures([
            figure(_path_figure(path, title), f"{title}: coefficient path.", name=f"lasso-path-{name}-{model}",
                   size="half"),
            figure(_deviance_figure(path, title), f"{title}: cross-validated deviance; {chosen} used.",
                   name=f"lasso-deviance-{name}-{model}", size="half"),
        ]))
        kept = ", ".join(label_variable(g) for g in path.get("selected_groups") or []) or "none"
        section.blocks.append(text(
            f"λmin = {fmt_num(path['lambda_min'], 4)}, λ1se = {fmt_num(path['lambda_1se'], 4)}; "
            f"{chosen} used; variables kept: {kept}."))
    return section if section.blocks else None


def selection_screen_section(data: StudyData) -> Section | None:
    """Each variable-level univariable screen: the variables' p-values, most significant first, and which entered
    the model (None when no model screens its variables)."""
    section = Section(id="selection-screen", title="Variable selection: univariable screen",
                      lead="One test per variable on the training lesions (χ² of a categorical variable's levels, a "
                           "rank or t test of a numeric one); a variable enters the model with all its levels when "
                           "its p-value is below the screen's level. The level is the one the inner cross-validation "
                           "chose when it was tuned.")
    for name, model, title, screen in _selection_records(data, "selection_screen", "variables"):
        corrected = screen.get("correction") == "bh"
        alpha = float(screen.get("alpha", float("nan")))
        level = "no screen (every variable kept)" if alpha >= 1 else f"level {fmt_num(alpha, 2)}"
        rows = [[label_variable(str(v.get("variable"))), fmt_pvalue(v.get("p")), "yes" if v.get("kept") else "no"]
                for v in screen["variables"]]
        section.blocks.append(table(
            ["Variable", "FDR-adjusted p" if corrected else "p", "In the model"], rows,
            caption=f"{title}: univariable screen, {level}"
                    f"{' (Benjamini–Hochberg over variables)' if corrected else ''}.",
            name=f"screen-{name}-{model}", numeric_from=1))
    return section if section.blocks else None


def _choice_rows(comparisons: Sequence[Mapping[str, Any]], chosen: str) -> list[list[str]]:
    rows = []
    for c in comparisons:
        rows.append([label_model(str(c.get("model"))) + (" †" if c.get("model") == chosen else ""),
                     fmt_num(c.get("oof_auc"), 3), fmt_num(c.get("oof_auc_se"), 3),
                     fmt_num(c.get("margin_vs_chosen"), 3) if c.get("model") != chosen else "—",
                     fmt_pvalue(c.get("p_vs_chosen")) if c.get("p_vs_chosen") is not None else "—"])
    return rows


def model_choice_section(data: StudyData) -> Section | None:
    """Why each task's model was chosen: the rule, its reason and the out-of-fold evidence per model."""
    section = Section(id="model-choice", title="Model choice",
                      lead="Chosen on training out-of-fold predictions only; † marks the chosen model. Margin: AUC "
                           "minus the chosen model's; p: paired DeLong test against the chosen model.")
    for name, task in data.tasks.items():
        choice = task.get("model_choice")
        if not isinstance(choice, Mapping) or not choice.get("comparisons"):
            continue
        title = label_task(name, task.get("title"))
        section.blocks.append(table(["Model", "OOF AUC", "SE", "Margin", "p"],
                                    _choice_rows(choice["comparisons"], str(choice.get("chosen"))),
                                    caption=f"{title}: rule '{choice.get('rule')}' — {choice.get('reason')}.",
                                    name=f"model-choice-{name}", numeric_from=1))
    return section if section.blocks else None
