"""Table 1 of the report: one table per task with the evaluation sets side by side, as in the seed papers.

Each set contributes three columns (positive class, negative class, p); the p-value is the multiplicity-adjusted
one when the study computed it. Test names are abbreviated in the table and listed in full in the note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from her2mri.report.blocks import Section, StudyData, get, table
from her2mri.report.formatting import fmt_pvalue, fmt_value, label_set, label_task, label_variable

__all__ = ["abbreviate_test", "table1_section"]

_YES_NO = {"1": "yes", "1.0": "yes", "true": "yes", "0": "no", "0.0": "no", "false": "no"}


def abbreviate_test(name: str) -> str:
    """Short label of a Table 1 test name (``"Pearson chi-square with Yates' …"`` → ``"χ²"``)."""
    low = name.lower()
    for key, short in (("fisher", "Fisher"), ("chi", "χ²"), ("welch", "Welch t"), ("student", "t"),
                       ("wilcoxon", "MWU"), ("mann", "MWU"), ("kruskal", "KW"), ("anova", "ANOVA")):
        if key in low:
            return short
    return name


def _level(level: Any, is_yes_no: bool) -> str:
    if level in (None, ""):
        return ""
    text = str(level)
    return _YES_NO.get(text.lower(), text) if is_yes_no else text.replace("_", " ")


def table1_section(data: StudyData) -> Section:
    section = Section(id="table1", title="Table 1: characteristics by HER2 class")
    for name, task in data.tasks.items():
        t1 = task.get("table1")
        if not isinstance(t1, Mapping) or not t1:
            continue
        sets = [s for s in t1 if isinstance(t1[s], list)]
        negative = task.get("negative") or ["negative"]
        neg_label = "HER2-" + ("/".join(map(str, negative)) if isinstance(negative, list) else str(negative))
        pos_label = f"HER2-{task.get('positive', 'positive')}"
        groups_keys = task.get("table1_groups")
        pos_key, neg_key = (str(groups_keys[0]), str(groups_keys[1])) if (
            isinstance(groups_keys, list) and len(groups_keys) == 2) else ("positive", "negative")
        order: list[tuple[str, str]] = []
        cells: dict[tuple[str, str, str], Mapping[str, Any]] = {}
        summaries: dict[str, dict[str, str]] = {}
        tests: dict[str, str] = {}
        adjusted = False
        for s in sets:
            for row in t1[s]:
                if not isinstance(row, Mapping):
                    continue
                key = (str(row.get("variable", "")), str(row.get("level") or ""))
                if key not in order:
                    order.append(key)
                cells[(s, *key)] = row
                if row.get("summary"):
                    summaries.setdefault(key[0], {})[s] = str(row["summary"])
                if row.get("test"):
                    tests[abbreviate_test(str(row["test"]))] = str(row["test"])
                adjusted = adjusted or row.get("pvalue_adjusted") is not None
        # keep each variable's levels together even when a level appears only in a later set
        variables = list(dict.fromkeys(v for v, _ in order))
        order = [k for v in variables for k in order if k[0] == v]
        levels_of: dict[str, set[str]] = {}
        for var, level in order:
            levels_of.setdefault(var, set()).add(level.lower())
        tests_of: dict[str, list[str]] = {}
        for (_s, var, _level_key), row in cells.items():
            if row.get("test"):
                short = abbreviate_test(str(row["test"]))
                if short not in tests_of.setdefault(var, []):
                    tests_of[var].append(short)
        body = []
        mixed: list[str] = []
        for i, (var, level) in enumerate(order):
            first = i == 0 or order[i - 1][0] != var
            kinds = set(summaries.get(var, {}).values())
            if len(kinds) > 1 and first:
                mixed.append(f"{label_variable(var)}: " + "; ".join(
                    f"{k} in the {label_set(s_name).lower()}" for s_name, k in summaries[var].items()))
            summary = next(iter(kinds)) if len(kinds) == 1 else None
            label = (label_variable(var) + (f", {summary}" if summary and summary != "n (%)" else "")
                     + (" †" if len(kinds) > 1 else "")) if first else ""
            row_cells = [label, _level(level, levels_of[var] <= set(_YES_NO))]
            for s in sets:
                row = cells.get((s, var, level), {})
                p = row.get("pvalue_adjusted") if adjusted else row.get("pvalue")
                show_p = first or not level
                row_cells += [fmt_value(row.get(pos_key, row.get("positive"))) if row else "—",
                              fmt_value(row.get(neg_key, row.get("negative"))) if row else "—",
                              fmt_pvalue(p) if show_p and p is not None else ""]
            row_cells.append(" / ".join(tests_of.get(var, [])) if first else "")
            body.append(row_cells)
        header = ["Variable", "Level"]
        groups = [("", 2)]
        for s in sets:
            counts = get(task, "counts", s, default={}) or {}
            header += [f"Positive (n = {counts.get('positive', '?')})", f"Negative (n = {counts.get('negative', '?')})",
                       "Adj. p" if adjusted else "p"]
            groups.append((label_set(s), 3))
        header.append("Test")
        groups.append(("", 1))
        legend = "; ".join(f"{k}, {v}" for k, v in sorted(tests.items()) if k != v)
        block = table(header, body, caption=f"{label_task(name, task.get('title'))}: characteristics by set.",
                      note=(f"Positive: {pos_label}; negative: {neg_label}. "
                            "Continuous variables: summary as stated after the name; categorical: n (%). "
                            + ("p-values adjusted for multiplicity across each table. " if adjusted else "")
                            + (f"Tests: {legend}. " if legend else "")
                            + ("† Summary differs between sets: " + " — ".join(mixed) + "." if mixed else "")),
                      name=f"table1-{name}", numeric_from=2, keep_empty_columns=True)
        block["header_groups"] = groups
        block["css"] = "compact"
        section.blocks.append(block)
    if not section.blocks:
        return Section(id="table1", title="Table 1: characteristics by HER2 class", missing="no table1 block in results.json")
    return section
