"""The report's imaging section, drawn from imaging/summary.json of a study directory."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from her2mri.report import render_report

FIXTURE_STUDY = Path(__file__).parent / "data" / "study"


def check_html(source: str):
    """The strict HTML checker of this folder's conftest, loaded by path (other test folders have a conftest too)."""
    spec = importlib.util.spec_from_file_location("report_tests_conftest", Path(__file__).with_name("conftest.py"))
    module = sys.modules.get(spec.name) or importlib.util.module_from_spec(spec)
    if spec.name not in sys.modules:
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module.check_html(source)


def _section(html: str) -> str:
    match = re.search(r'<section id="imaging"[^>]*>(.*?)</section>', html, re.DOTALL)
    assert match is not None, "no imaging section"
    return match.group(0)


@pytest.fixture(scope="module")
def study_with_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from her2mri.imaging import run_imaging_demo

    target = tmp_path_factory.mktemp("imaging-report") / "study"
    shutil.copytree(FIXTURE_STUDY, target)
    lesions = pd.DataFrame(
        {"patient_id": ["A", "B", "C", "D"], "her2_category": ["zero", "low", "positive", "low"]}
    )
    run_imaging_demo(lesions, target / "imaging", n_cases=3, workers=1, seed=5)
    return target


def test_render_report_imaging_summary_present_section_rendered(study_with_images: Path) -> None:
    html = render_report(study_with_images).read_text(encoding="utf-8")
    assert check_html(html).problems == []
    section = _section(html)
    assert 'class="report-section"' in section
    assert 'data-table="imaging-icc"' in section
    assert 'data-table="imaging-icc-sequences"' in section
    assert 'data-table="imaging-class-means"' in section
    assert "two-way random, absolute agreement, single rater" in section
    assert "with ICC &gt; 0.75" in section
    assert "Most reproducible" in section
    assert "Least reproducible" in section
    assert 'href="#imaging"' in html


def test_render_report_no_imaging_summary_no_section(tmp_path: Path) -> None:
    target = tmp_path / "study"
    shutil.copytree(FIXTURE_STUDY, target)
    html = render_report(target).read_text(encoding="utf-8")
    assert 'id="imaging"' not in html
    assert 'href="#imaging"' not in html
    assert check_html(html).problems == []
