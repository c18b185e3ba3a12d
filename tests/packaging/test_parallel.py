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


def _run_suite(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """pytest with the Makefile's parallel flags (two workers) on the suite in tmp_path."""
    flags = _parallel_flags()
    assert "-n" in flags
    env = {**os.environ, **env, "PYTEST_ADDOPTS": ""}
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
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


def test_given_the_makefiles_parallel_flags_when_a_module_fixture_is_shared_then_it_runs_once(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_campaign.py").write_text(SUITE)
    (tmp_path / "test_other.py").write_text(OTHER)
    runs = tmp_path / "runs.log"

    done = _run_suite(tmp_path, {"RUNS_LOG": str(runs)})

    assert done.returncode == 0, done.stdout + done.stderr
    assert "16 passed" in done.stdout
    assert len(runs.read_text().splitlines()) == 1, runs.read_text()


#: Like tests/conftest.py: the campaign's file first. pytest-xdist's default
#: (--loadscope-reorder) would instead hand out the files with the most tests first.
ORDER = """
def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: 0 if "test_campaign.py" in item.nodeid else 1)
"""
LOGGED = """
import os
import time

def test_{name}():
    with open(os.environ["ORDER_LOG"], "a") as log:
        log.write("{file}\\n")
    time.sleep(0.02)
"""


def test_given_the_makefiles_parallel_flags_when_the_campaign_is_sorted_first_then_it_starts_first(
    tmp_path: Path,
) -> None:
    """The campaign is most of the suite's CPU: it must start at once, not after the rest."""
    (tmp_path / "conftest.py").write_text(ORDER)
    (tmp_path / "test_campaign.py").write_text(LOGGED.format(name="campaign", file="campaign"))
    for file in ("a", "b", "c"):
        tests = "".join(LOGGED.format(name=f"{file}{n}", file=file) for n in range(12))
        (tmp_path / f"test_{file}.py").write_text(tests)
    order = tmp_path / "order.log"

    done = _run_suite(tmp_path, {"ORDER_LOG": str(order)})

    assert done.returncode == 0, done.stdout + done.stderr
    started = order.read_text().splitlines()
    assert len(started) == 37
    assert started.index("campaign") < 2, started
