"""Benchmark of the imaging extraction: cases per minute through her2mri vs a plain PyRadiomics loop.

Run: ``python benchmarks/bench_imaging.py [--n 16] [--sequences t2,dwi_b800,dce3]``

Prints, for the same phantom cases and the same radiomics settings:

- plain PyRadiomics (``RadiomicsFeatureExtractor.execute`` in a loop over cases and sequences, images read
  with SimpleITK);
- her2mri with radiomics only (``quantitative: false``) — the per-case overhead of the wrapper
  (manifest, geometry checks, part files, assembly); target <= 10 %;
- her2mri with the quantitative DWI/DCE features as well (extra work, reported separately);
- her2mri with 1 vs 2 local worker processes — parallel efficiency t1 / (2 t2); target >= 0.85.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
import SimpleITK as sitk

from her2mri.imaging import extract_features, make_phantom_cases, read_manifest, settings_from_dict


def _settings(sequences: list[str], quantitative: bool):
    return settings_from_dict(
        {
            "sequences": sequences,
            "quantitative": quantitative,
            "preprocess": {"n4_bias_correction": False, "normalization": "none"},
            "radiomics": {"image_types": ["original", "log"], "log_sigma_mm": [1.0, 3.0]},
        }
    )


def _plain_pyradiomics(manifest_path: Path, settings) -> float:
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    params = settings.radiomics.to_pyradiomics()
    extractor = featureextractor.RadiomicsFeatureExtractor(**params["setting"])
    extractor.disableAllImageTypes()
    for kind, kind_params in params["imageType"].items():
        extractor.enableImageTypeByName(kind, customArgs=kind_params)
    extractor.enableAllFeatures()
    manifest = read_manifest(manifest_path)
    start = time.perf_counter()
    rows = []
    for case in manifest.cases:
        row = {}
        for sequence in settings.sequences:
            mask = sitk.ReadImage(case.get("t2").masks[0])
            if sequence == "t2":
                image = sitk.ReadImage(case.get("t2").images[0])
            elif sequence.startswith("dwi_b"):
                spec = case.get("dwi")
                image = sitk.ReadImage(spec.images[spec.values.index(float(sequence[5:]))])
            else:
                four_d = sitk.ReadImage(case.get("dce").images[0])
                size = list(four_d.GetSize())
                image = sitk.Extract(four_d, [*size[:3], 0], [0, 0, 0, int(sequence[3:])])
            result = extractor.execute(sitk.Cast(image, sitk.sitkFloat64), mask)
            row.update({f"{sequence}__{k}": v for k, v in result.items() if not k.startswith("diagnostics")})
        rows.append(row)
    pd.DataFrame(rows)
    return time.perf_counter() - start


def _her2mri(manifest: Path, settings, workers: int) -> float:
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        extract_features(manifest, Path(work) / "features.csv", settings=settings, workers=workers)
        return time.perf_counter() - start


def _best(function, *args, repeat: int) -> tuple[float, float]:
    """Minimum wall time and minimum CPU time (this process) over ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        cpu = time.process_time()
        walls.append(function(*args))
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=16, help="phantom cases (one reader)")
    parser.add_argument("--sequences", default="t2,dwi_b800,dce3")
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration (minimum is reported)")
    args = parser.parse_args()
    sequences = args.sequences.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        cases = make_phantom_cases(args.n, tmp, seed=11)
        frame = pd.read_csv(cases.manifest, dtype=str, keep_default_na=False)
        manifest = Path(tmp) / "manifest_reader1.csv"
        frame[frame["reader"] == "reader1"].to_csv(manifest, index=False)
        radiomics_only = _settings(sequences, quantitative=False)
        full = _settings(sequences, quantitative=True)
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
        _plain_pyradiomics(manifest, radiomics_only)  # warm-up (imports, caches)
        r = args.repeat
        t_plain, c_plain = _best(_plain_pyradiomics, manifest, radiomics_only, repeat=r)
        t_wrap, c_wrap = _best(_her2mri, manifest, radiomics_only, 1, repeat=r)
        t_full, c_full = _best(_her2mri, manifest, full, 1, repeat=r)
        t_two, _ = _best(_her2mri, manifest, full, 2, repeat=r)
    n = args.n
    per_min = lambda t: 60.0 * n / t  # noqa: E731
    print(
        f"cases: {n} phantoms (48x48x16 voxels), sequences {sequences}, radiomics original + LoG(1, 3 mm), all classes"
    )
    print(
        f"cpu count: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; SimpleITK threads: 1; best of {args.repeat}"
    )
    print(f"plain PyRadiomics loop         : {t_plain:7.2f} s  {per_min(t_plain):7.1f} cases/min")
    print(f"her2mri radiomics only (1 proc): {t_wrap:7.2f} s  {per_min(t_wrap):7.1f} cases/min")
    print(f"her2mri + DWI/DCE (1 proc)     : {t_full:7.2f} s  {per_min(t_full):7.1f} cases/min")
    print(f"her2mri + DWI/DCE (2 procs)    : {t_two:7.2f} s  {per_min(t_two):7.1f} cases/min")
    overhead = 100.0 * (t_wrap - t_plain) / t_plain
    print(
        f"per-case overhead of the wrapper: {overhead:+.1f} % ({1000 * (t_wrap - t_plain) / n:+.0f} ms/case; target <= 10 %)"
    )
    cpu_overhead = 100.0 * (c_wrap - c_plain) / c_plain
    print(
        f"per-case overhead in CPU time    : {cpu_overhead:+.1f} % (plain {c_plain:.2f} s, her2mri {c_wrap:.2f} s CPU)"
    )
    print(f"quantitative DWI/DCE features add: {1000 * (c_full - c_wrap) / n:.0f} ms/case CPU")
    print(f"parallel efficiency (1 -> 2 workers): {t_full / (2 * t_two):.2f} (target >= 0.85)")


if __name__ == "__main__":
    main()
