"""Fixtures of the report tests: the synthetic study directory, a rendered report, and a strict HTML checker."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

FIXTURE_STUDY = Path(__file__).parent / "data" / "study"

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# elements whose end tag HTML lets you omit; the report always closes them, so they are checked like the rest
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)


@dataclass
class HtmlReport:
    """What the strict checker found in one HTML document."""

    problems: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


class StrictChecker(HTMLParser):
    """Tag-balance checker: every non-void element closed in order, no duplicate ids, no external references."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, tuple[int, int]]] = []
        self.report = HtmlReport()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.report.problems.append(f"end tag for void element </{tag}> at {self.getpos()}")
            return
        if not self.stack:
            self.report.problems.append(f"unexpected </{tag}> at {self.getpos()}")
            return
        open_tag, where = self.stack.pop()
        if open_tag != tag:
            self.report.problems.append(f"<{open_tag}> opened at {where} closed by </{tag}> at {self.getpos()}")

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.report.text.append(data.strip())

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if "id" in values:
            self.report.ids.append(str(values["id"]))
        for key in ("src", "href", "action", "poster", "data"):
            value = values.get(key)
            if value is not None and EXTERNAL.match(value):
                self.report.problems.append(f"external reference {key}={value[:60]!r} on <{tag}>")
        if tag == "img":
            self.report.images.append(str(values.get("src") or ""))
        if tag == "figure" and values.get("data-figure"):
            self.report.figures.append(str(values["data-figure"]))
        if tag == "table" and values.get("data-table"):
            self.report.tables.append(str(values["data-table"]))
        if tag == "link":
            self.report.problems.append("<link> element (external stylesheet or font)")
        if tag == "script" and values.get("src"):
            self.report.problems.append("<script src=…> element")

    def finish(self) -> HtmlReport:
        self.close()
        for tag, where in self.stack:
            self.report.problems.append(f"<{tag}> opened at {where} never closed")
        seen: set[str] = set()
        for ident in self.report.ids:
            if ident in seen:
                self.report.problems.append(f"duplicate id {ident!r}")
            seen.add(ident)
        return self.report


def check_html(source: str) -> HtmlReport:
    """Parse ``source`` strictly and return what was found (``.problems`` lists every structural fault)."""
    checker = StrictChecker()
    checker.feed(source)
    report = checker.finish()
    if re.search(r"url\(\s*['\"]?(https?:)?//", source, re.IGNORECASE) or "@import" in source:
        report.problems.append("external url() or @import in CSS")
    if not source.lstrip().lower().startswith("<!doctype html>"):
        report.problems.append("missing <!DOCTYPE html>")
    return report


@pytest.fixture(scope="session")
def fixture_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A writable copy of the synthetic study directory."""
    target = tmp_path_factory.mktemp("study") / "study"
    shutil.copytree(FIXTURE_STUDY, target)
    return target


@pytest.fixture(scope="session")
def fixture_report(fixture_study: Path) -> tuple[Path, str]:
    """The fixture study rendered once per session: (path, html)."""
    from her2mri.report import render_report

    path = render_report(fixture_study)
    return path, path.read_text(encoding="utf-8")
