"""Ctrl-C during a parallel extraction: the run stops at once, finished parts are kept, a rerun resumes.

Cases that can never finish are built from named pipes (FIFOs): reading one blocks until a writer opens it,
so the run can only end by being interrupted, whatever the machine's speed. The bounds below (300 s for
the fast cases to finish, 60 s to stop) only keep a broken build from hanging the suite; nothing is timed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from her2mri.imaging import extract_features, output_paths

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")


def _wait_for(condition, bound_s: float, what: str) -> None:
    end = time.monotonic() + bound_s
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"{what} did not happen within {bound_s:g} s")
        time.sleep(0.1)


def _end_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _drain(proc: subprocess.Popen) -> str:
    """The process's stderr once it has ended (its pipes closed, nothing left open for the garbage collector)."""
    try:
        _, stderr = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
    return stderr or ""


def test_extract_two_workers_sigint_stops_keeps_parts_and_resumes(
    phantom_dir: Path, light_yaml: Path, light_settings, tmp_path: Path
) -> None:
    frame = pd.read_csv(phantom_dir / "manifest.csv", dtype=str, keep_default_na=False)
    frame = frame[(frame["reader"] == "reader1") & (frame["sequence"] == "t2")]
    fast = frame.iloc[:2].copy()
    blocked = frame.iloc[:2].copy()
    blocked["patient_id"] = ["Z1", "Z2"]
    blocked["lesion_id"] = ["Z1-L1", "Z2-L1"]
    for index, row in enumerate(blocked.itertuples()):
        fifo = tmp_path / f"blocked{index}.nii.gz"
        os.mkfifo(fifo)
        blocked.loc[row.Index, "image"] = str(fifo)
    for table in (fast, blocked):
        table["image"] = [str((phantom_dir / p).resolve()) for p in table["image"]]
        table["mask"] = [str((phantom_dir / p).resolve()) for p in table["mask"]]
    manifest = tmp_path / "manifest.csv"
    pd.concat([fast, blocked]).to_csv(manifest, index=False)
    out = tmp_path / "features.csv"
    parts = output_paths(out)["parts"]

    # a terminal's Ctrl-C reaches a command whose SIGINT is at its default; a test run started in the background
    # (``make test &``) passes SIGINT ignored to its children, and Python keeps an inherited "ignore"
    code = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from her2mri.cli.main import app; app()")
    args = ["extract", str(manifest), "--out", str(out), "--params", str(light_yaml), "--workers", "2", "-q"]
    env = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONFAULTHANDLER="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, so the SIGINT below reaches it like a Ctrl-C
    )
    try:
        _wait_for(lambda: len(list(parts.glob("*.json"))) == 2 or proc.poll() is not None, 300, "two parts")
        assert proc.poll() is None, proc.communicate()
        os.killpg(proc.pid, signal.SIGINT)  # parent, fork server and workers, as a terminal's Ctrl-C
        try:
            # the command itself (not its pipes: a worker blocked on a FIFO may hold them until it is reaped)
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # faulthandler writes every thread's stack before the process ends
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
            _end_group(proc)
            pytest.fail(f"extract --workers 2 did not stop within 60 s of SIGINT; its threads:\n{_drain(proc)}")
    finally:
        _end_group(proc)  # whatever is left of the process group (blocked workers) is ended here
    stderr = _drain(proc)
    assert proc.returncode == 130, stderr
    assert "Interrupted: 2 finished case file(s) kept" in stderr
    assert "Traceback" not in stderr
    assert not out.exists()
    kept = sorted(p.name.split(".")[0] for p in parts.glob("*.json"))
    assert kept == sorted(f"{r.patient_id}__{r.lesion_id}__reader1" for r in fast.itertuples())

    for index, row in enumerate(blocked.itertuples()):  # the blocked cases become readable: rerun resumes
        blocked.loc[row.Index, "image"] = fast["image"].iloc[index]
    pd.concat([fast, blocked]).to_csv(manifest, index=False)
    resumed = extract_features(manifest, out, settings=light_settings)
    assert resumed.n_cached == 2
    assert resumed.n_computed == 2
    assert resumed.failures.empty
    assert list(resumed.features["patient_id"]) == [*fast["patient_id"], "Z1", "Z2"]


def _has_reader(fifo: Path) -> bool:
    """Whether any process has the FIFO open for reading (a non-blocking writer open fails with ENXIO if not)."""
    try:
        handle = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    os.close(handle)  # a reader blocked in open() now gets end-of-file and its case fails
    return True


def test_extract_features_interrupt_outside_the_runner_still_stops_workers(
    phantom_dir: Path, light_settings, tmp_path: Path
) -> None:
    """A KeyboardInterrupt raised while the caller handles a status (here in on_case) stops the pool too."""
    frame = pd.read_csv(phantom_dir / "manifest.csv", dtype=str, keep_default_na=False)
    frame = frame[(frame["reader"] == "reader1") & (frame["sequence"] == "t2")].iloc[:2].copy()
    frame["image"] = [str((phantom_dir / p).resolve()) for p in frame["image"]]
    frame["mask"] = [str((phantom_dir / p).resolve()) for p in frame["mask"]]
    blocked = frame.copy()
    blocked["patient_id"] = ["Z1", "Z2"]
    fifos = [tmp_path / "blocked0.nii.gz", tmp_path / "blocked1.nii.gz"]
    for fifo in fifos:
        os.mkfifo(fifo)
    blocked["image"] = [str(f) for f in fifos]
    manifest = tmp_path / "manifest.csv"
    pd.concat([frame, blocked]).to_csv(manifest, index=False)
    seen = []

    def stop_after_two(status: dict[str, str]) -> None:
        seen.append(status["case"])
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        extract_features(manifest, tmp_path / "f.csv", settings=light_settings, workers=2, on_case=stop_after_two)
    # The traceback held in `info` keeps the extraction's frames alive, as a debugger or an error report
    # would: the workers must be stopped by then all the same, not when the runner is garbage-collected.
    assert not any(_has_reader(fifo) for fifo in fifos)  # no worker is left waiting on a blocked case
    assert info.traceback
    assert len(list(output_paths(tmp_path / "f.csv")["parts"].glob("*.json"))) == 2
