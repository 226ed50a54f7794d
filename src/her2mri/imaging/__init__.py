"""Imaging layer: manifest, image I/O, preprocessing, DWI/DKI models, DCE kinetics, radiomics, extraction."""

from her2mri.imaging.casework import QUANTITATIVE_COLUMNS, CaseResult, extract_case
from her2mri.imaging.dce import (
    ROI_COLUMNS,
    DceKineticsResult,
    DceSettings,
    dce_kinetics,
    initial_enhancement_class,
    tic_type,
)
from her2mri.imaging.demo_study import ImagingDemoResult, run_imaging_demo, select_demo_lesions
from her2mri.imaging.dwi import AdcFit, AdcModel, KurtosisFit, KurtosisModel
from her2mri.imaging.extract import ExtractionResult, extract_features, output_paths
from her2mri.imaging.histogram import HistogramResult, MinimumRoiResult, adc_minimum, roi_histogram
from her2mri.imaging.io import (
    GeometryTolerance,
    check_image,
    check_image_mask,
    check_nifti_finite,
    load_mask,
    load_series,
    load_series_volume,
    load_volume,
    save_volume,
)
from her2mri.imaging.manifest import CaseSpec, Manifest, SeriesSpec, read_manifest, validate_manifest
from her2mri.imaging.phantom import PhantomCases, make_phantom_cases, phantom_volumes
from her2mri.imaging.preprocess import (
    PreprocessSettings,
    PreprocessStep,
    n4_bias_correction,
    normalize_rescale,
    normalize_zscore,
    preprocess_image,
    resample_isotropic,
)
from her2mri.imaging.radiomics import RadiomicsResult, RadiomicsSettings, extract_radiomics
from her2mri.imaging.reproducibility import IccTableResult, feature_icc, select_reproducible
from her2mri.imaging.settings import (
    DiffusionSettings,
    ExtractionSettings,
    ReproducibilitySettings,
    load_settings,
    settings_from_dict,
)

__all__ = [
    "QUANTITATIVE_COLUMNS",
    "ROI_COLUMNS",
    "AdcFit",
    "AdcModel",
    "CaseResult",
    "CaseSpec",
    "DceKineticsResult",
    "DceSettings",
    "DiffusionSettings",
    "ExtractionResult",
    "ExtractionSettings",
    "GeometryTolerance",
    "HistogramResult",
    "ImagingDemoResult",
    "IccTableResult",
    "KurtosisFit",
    "KurtosisModel",
    "Manifest",
    "MinimumRoiResult",
    "PhantomCases",
    "PreprocessSettings",
    "PreprocessStep",
    "RadiomicsResult",
    "RadiomicsSettings",
    "ReproducibilitySettings",
    "SeriesSpec",
    "adc_minimum",
    "check_image",
    "check_image_mask",
    "check_nifti_finite",
    "dce_kinetics",
    "extract_case",
    "extract_features",
    "extract_radiomics",
    "feature_icc",
    "initial_enhancement_class",
    "load_mask",
    "load_series",
    "load_series_volume",
    "load_settings",
    "load_volume",
    "make_phantom_cases",
    "n4_bias_correction",
    "normalize_rescale",
    "normalize_zscore",
    "output_paths",
    "phantom_volumes",
    "preprocess_image",
    "read_manifest",
    "resample_isotropic",
    "roi_histogram",
    "run_imaging_demo",
    "save_volume",
    "select_demo_lesions",
    "select_reproducible",
    "settings_from_dict",
    "tic_type",
    "validate_manifest",
]
