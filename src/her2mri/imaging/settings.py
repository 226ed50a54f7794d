"""Extraction settings: one YAML file with snake_case keys, validated by pydantic.

Sections: ``sequences`` (which images radiomics runs on), ``preprocess`` (:class:`PreprocessSettings`),
``radiomics`` (:class:`RadiomicsSettings`), ``diffusion`` (:class:`DiffusionSettings`), ``dce``
(:class:`DceSettings`) and ``reproducibility`` (:class:`ReproducibilitySettings`). The package ships the
defaults as ``radiomics_default.yaml`` (seed 001 radiomics, seed 002 DKI, seed 004 DCE conventions).

Radiomics sequence names: a plain manifest sequence (``t2``, ``t1`` …); ``dwi_b<value>`` for the DWI volume
at that b-value (e.g. ``dwi_b800``); ``dce<k>`` for the k-th post-contrast DCE phase in time order
(``dce0`` = the last pre-contrast phase). A sequence a case does not have is skipped and recorded in its
provenance.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from her2mri._typing import PathLike
from her2mri.exceptions import ConfigError
from her2mri.imaging.dce import DceSettings
from her2mri.imaging.preprocess import PreprocessSettings
from her2mri.imaging.radiomics import RadiomicsSettings

__all__ = [
    "DEFAULT_SETTINGS_FILE",
    "DiffusionSettings",
    "ExtractionSettings",
    "ReproducibilitySettings",
    "load_settings",
]

DEFAULT_SETTINGS_FILE = "radiomics_default.yaml"
_SEQUENCE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class DiffusionSettings(BaseModel):
    """ADC and DKI options. ADC from ``adc_b_values`` (seed 002: 0 and 800 s/mm²), DKI over all b-values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    adc_b_values: tuple[float, ...] | None = (0.0, 800.0)
    adc_method: Literal["auto", "closed_form", "wls", "ols"] = "auto"
    kurtosis: bool = True
    kurtosis_method: Literal["nlls", "linear"] = "nlls"
    entropy_bin_width: float = Field(0.05, gt=0)
    adc_min_roi_size: int = Field(3, ge=1)


class ReproducibilitySettings(BaseModel):
    """Two-reader ICC filter: ICC(2,1) by default; keep features whose ICC (or its lower CI bound) > threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    icc_form: Literal["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"] = "ICC2"
    threshold: float = Field(0.75, ge=-1, le=1)
    use_ci_low: bool = False


class ExtractionSettings(BaseModel):
    """Everything ``her2mri extract`` needs besides the manifest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    sequences: tuple[str, ...] = ("t2", "dwi_b800", "dwi_b1000", "dce3", "dce7")
    quantitative: bool = True
    preprocess: PreprocessSettings = Field(default_factory=PreprocessSettings)
    radiomics: RadiomicsSettings = Field(default_factory=RadiomicsSettings)
    diffusion: DiffusionSettings = Field(default_factory=DiffusionSettings)
    dce: DceSettings = Field(default_factory=DceSettings)
    reproducibility: ReproducibilitySettings = Field(default_factory=ReproducibilitySettings)

    @field_validator("sequences")
    @classmethod
    def _check_sequences(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _SEQUENCE_RE.match(name):
                msg = f"sequence name {name!r} is not snake_case; accepted e.g. t2, dwi_b800, dce3"
                raise ValueError(msg)
        return value

    def sha256(self) -> str:
        """Hash of the settings (canonical JSON); cached per-case results are reused only under equal hashes."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def _format_errors(error: ValidationError, source: str) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        lines.append(f"  - {where}: {item['msg']} (got {item.get('input')!r})")
    return (
        f"Settings '{source}' are invalid:\n" + "\n".join(lines) + "\nFix these keys (see docs/imaging.md)."
    )


def settings_from_dict(data: dict[str, Any], *, source: str = "<dict>") -> ExtractionSettings:
    """Validate a settings mapping; errors list every bad key."""
    try:
        return ExtractionSettings.model_validate(data)
    except ValidationError as exc:
        msg = _format_errors(exc, source)
        raise ConfigError(msg) from None


def load_settings(path: PathLike | None = None) -> ExtractionSettings:
    """Read settings from a YAML file; ``None`` gives the shipped defaults (``radiomics_default.yaml``)."""
    if path is None:
        text = resources.files("her2mri.imaging").joinpath(DEFAULT_SETTINGS_FILE).read_text(encoding="utf-8")
        source = f"her2mri/imaging/{DEFAULT_SETTINGS_FILE}"
    else:
        file = Path(path)
        if not file.exists():
            msg = f"Settings file '{file}' does not exist. Give a YAML file (see docs/imaging.md) or omit --params."
            raise ConfigError(msg)
        text = file.read_text(encoding="utf-8")
        source = str(file)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        msg = f"Settings '{source}' are not valid YAML: {exc}"
        raise ConfigError(msg) from None
    if not isinstance(data, dict):
        msg = f"Settings '{source}' must be a YAML mapping of sections; got {type(data).__name__}."
        raise ConfigError(msg)
    return settings_from_dict(data, source=source)
