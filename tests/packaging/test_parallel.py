"""`make test`'s pytest-xdist flags run an expensive module fixture once.

The chaos campaign is a module fixture of tests/sim/test_chaos.py. pytest-xdist's
``--dist loadgroup`` stopped grouping under pytest 9 (it renames ``item._nodeid``, which
pytest 9 no longer reads), so the campaign ran once per worker, twice the CPU. This runs
the Makefile's own ``PYTEST_PARALLEL`` flags on a small suite and counts the fixture's runs.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.support.locks import ROOT

SUITE = """
import os
import pytest

@pytest.fixture(scope="module")
def campaign():
    with open(os.environ["RUNS_LOG"], "a") as log:
        log.write(os.environ.get("PYTEST_XDIST_WORKER", "main") + "\\n")
    return 1

@pytest.mark.parametrize("n", range(8))
def test_uses_the_campaign(campaign, n):
    assert campaign == 1
"""
OTHER = """
import pytest

@pytest.mark.parametrize("n", range(8))
def test_other(n):
    assert n >= 0
"""


def _parallel_flags() -> list[str]:
    match = re.search(r"^PYTEST_PARALLEL \?= (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, "the Makefile defines PYTEST_PARALLEL"
    return shlex.split(match.group(1))


def test_given_the_makefiles_parallel_flags_when_a_module_fixture_is_shared_then_it_runs_once(
    tmp_path: Path,
) -> None:
    flags = _parallel_flags()
    assert "-n" in flags
    (tmp_path / "test_campaign.py").write_text(SUITE)
    (tmp_path / "test_other.py").write_text(OTHER)
    runs = tmp_path / "runs.log"
    env = {**os.environ, "RUNS_LOG": str(runs), "PYTEST_ADDOPTS": ""}
    env.pop("PYTEST_XDIST_WORKER", None)

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *[f if f != "auto" else "2" for f in flags],
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "16 passed" in done.stdout
    assert len(runs.read_text().splitlines()) == 1, runs.read_text()
