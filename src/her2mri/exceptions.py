"""The her2mri exception and warning taxonomy.

Every error raised on purpose by her2mri derives from :class:`Her2MriError`; the concrete classes also derive
from :class:`ValueError` (bad input) so that callers catching the built-in category keep working. Messages say
what is wrong, where (row, column, parameter or file), what was received, what is accepted and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BundleError",
    "CohortError",
    "CohortIssue",
    "ConfigError",
    "ConvergenceWarning",
    "FitError",
    "Her2MriError",
    "Her2MriWarning",
    "ImagingError",
    "StatisticalWarning",
    "TaskError",
    "UnitError",
]


class Her2MriError(Exception):
    """Root of every error her2mri raises on purpose."""


@dataclass(frozen=True)
class CohortIssue:
    """One problem found in a cohort table.

    ``row`` is the 1-based data row as a user sees it in a spreadsheet (header excluded); ``None`` for
    problems that concern a whole column or the table.
    """

    row: int | None
    column: str | None
    value: object
    message: str
    accepted: str | None = None

    def __str__(self) -> str:
        where = []
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        head = ", ".join(where) if where else "table"
        head = head[:1].upper() + head[1:]
        text = f"{head}: {self.message}"
        if self.value is not None and "got" not in self.message:
            text += f"; got {self.value!r}"
        if self.accepted:
            text += f"; accepted: {self.accepted}"
        return text + ("" if text.endswith(".") else ".")


class CohortError(Her2MriError, ValueError):
    """A cohort table breaks the input contract. ``issues`` lists every problem found, not just the first."""

    def __init__(self, message: str, issues: Sequence[CohortIssue] = ()) -> None:
        self.issues = list(issues)
        if self.issues:
            lines = "\n".join(f"  - {issue}" for issue in self.issues)
            message = f"{message}\n{lines}"
        super().__init__(message)


class UnitError(CohortError):
    """A quantitative column looks as if it was given in another unit than the contract's."""


class ConfigError(Her2MriError, ValueError):
    """A study configuration or settings file is invalid."""


class TaskError(Her2MriError, ValueError):
    """A classification task cannot be run on the cohort given (e.g. zero vs low on a binary-only cohort)."""


class FitError(Her2MriError, ValueError):
    """A model or statistic could not be fitted on the data given."""


class ImagingError(Her2MriError, ValueError):
    """An image, mask or manifest entry is unusable (geometry mismatch, empty mask, NaNs, missing file)."""


class BundleError(Her2MriError, ValueError):
    """A model bundle is damaged, tampered with, or made by an incompatible version."""


class Her2MriWarning(UserWarning):
    """Root of her2mri's warnings."""


class StatisticalWarning(Her2MriWarning):
    """A statistic was computed but may be unreliable (small counts, separation, caveats)."""


class ConvergenceWarning(Her2MriWarning):
    """An iterative fit did not converge within its limits."""
