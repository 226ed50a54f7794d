"""Demo reads for a reader study: junior and senior readers, unaided and aided by the model.

Each reader sees every labelled lesion twice. A read's latent value is ``d · y + c + e`` where ``y`` is the
lesion's 0/1 truth, ``c ~ N(0, 0.6²)`` a lesion difficulty shared by all readers and conditions (this creates
the Cov1/Cov2/Cov3 structure of real MRMC data), ``e ~ N(0, 1)`` reader noise and, in aided reads only, a
model error ``N(0, 0.5²)`` shared by all readers (the same model output is shown to everyone). Separation ``d`` is 1.3 for
seniors and 0.8 for juniors unaided; aided reads gain 0.35 (seniors) and 0.8 (juniors), mimicking seed study
004 where the nomogram helped the junior radiologist more. Scores are ``sigmoid(latent − d/2)``
(probabilities) or those probabilities cut at 0.2/0.4/0.6/0.8 into the ordinal scale 1–5.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from her2mri.exceptions import FitError

__all__ = ["simulate_reads"]

SEPARATION = {"senior": (1.3, 0.35), "junior": (0.8, 0.8)}


def simulate_reads(
    cohort_frame: pd.DataFrame,
    truth: Any,
    n_readers: int = 4,
    seed: int | np.random.Generator = 2026,
    *,
    score_kind: Literal["probability", "ordinal"] = "probability",
) -> pd.DataFrame:
    """Simulated reads table (contract columns plus ``experience``) for the labelled lesions of a cohort.

    ``truth`` is aligned with ``cohort_frame`` rows (array or Series, NaN = lesion not eligible) or a Series
    indexed by ``lesion_id``. Readers alternate senior / junior (``R1`` senior, ``R2`` junior, …).
    """
    if n_readers < 1:
        msg = f"The 'n_readers' parameter of simulate_reads must be >= 1. Got {n_readers!r} instead."
        raise FitError(msg)
    ids = (cohort_frame["lesion_id"] if "lesion_id" in cohort_frame.columns else cohort_frame["patient_id"])
    ids = ids.astype(str).to_numpy()
    if isinstance(truth, pd.Series) and set(truth.index.astype(str)) & set(ids) and len(truth) != len(ids):
        y = pd.to_numeric(truth.rename(index=str).reindex(ids), errors="coerce").to_numpy()
    else:
        y = pd.to_numeric(pd.Series(np.asarray(truth)), errors="coerce").to_numpy()
        if y.shape[0] != ids.shape[0]:
            msg = f"simulate_reads: truth has {y.shape[0]} values for {ids.shape[0]} cohort rows."
            raise FitError(msg)
    keep = ~np.isnan(y)
    ids, y = ids[keep], y[keep].astype(int)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    difficulty = rng.normal(0.0, 0.6, size=ids.size)
    model_error = rng.normal(0.0, 0.5, size=ids.size)
    rows = []
    for r in range(n_readers):
        experience = "senior" if r % 2 == 0 else "junior"
        d0, gain = SEPARATION[experience]
        d0 += rng.normal(0.0, 0.1)
        for condition, d in (("unaided", d0), ("aided", d0 + gain)):
            shared = difficulty + (model_error if condition == "aided" else 0.0)
            latent = d * y + shared + rng.normal(size=ids.size)
            p = 1.0 / (1.0 + np.exp(-(latent - d / 2.0)))
            score = p if score_kind == "probability" else np.digitize(p, [0.2, 0.4, 0.6, 0.8]) + 1.0
            call = np.where(p >= 0.5, "positive", rng.choice(["zero", "low"], size=ids.size))
            rows.append(pd.DataFrame({"reader_id": f"R{r + 1}", "lesion_id": ids, "condition": condition,
                                      "score": np.round(score, 4), "her2_call": call, "experience": experience}))
    return pd.concat(rows, ignore_index=True)
