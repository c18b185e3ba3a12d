"""Test-wide settings: fake AWS credentials and the environment the handlers read; live
progress (a heartbeat while a test runs silently, and the ``progress`` fixture); the
figures tests ask to show in the summary; the order and grouping that let pytest-xdist
spread the suite over the cores; the Terraform lifecycle run beside the tests."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.background import LIFECYCLE_COMMAND, BackgroundJob
from tests.support.loader import share_loader
from tests.support.summary import LINES, Progress

# Set before any handler module is imported: they check their configuration at import.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MOTO_ACCOUNT_ID": "111122223333",
        # moto would load ~1,300 default AMIs (0.5 s of CPU) into every EC2 backend it makes,
        # several per test world; nothing here reads an image.
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        "TABLE_NAME": "drain-terminator-test-ledger",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "ecs-drain-terminator",
        "POWERTOOLS_METRICS_NAMESPACE": "EcsDrainTerminator",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
    }
)
# Every session the tests make reads botocore's service models once per process, not once
# per session (tests/support/loader.py).
share_loader()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--chaos-drains N``: run the chaos suite over at least N drains (default 1000);
    ``--lifecycle-in-background``: start the Terraform lifecycle when the session starts."""
    parser.addoption(
        "--chaos-drains",
        type=int,
        default=1000,
        help="minimum number of drains the chaos suite simulates (default 1000)",
    )
    parser.addoption(
        "--lifecycle-in-background",
        action="store_true",
        help="start `python -m tools.e2e` with the session; tests/e2e/test_lifecycle.py "
        "collects its result (without it, that test runs the lifecycle itself)",
    )


_PROGRESS = pytest.StashKey[Progress]()
_LIFECYCLE = pytest.StashKey[BackgroundJob]()
#: Tests that share one expensive module fixture (pytest-xdist's ``--dist loadfile`` keeps
#: a file on one worker, so it runs once); they start first, being the longest.
_FIRST = ("tests/sim/test_chaos.py",)
#: Tests that only wait for a job running beside the session: last, so no worker idles.
_LAST = ("tests/e2e/test_lifecycle.py",)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def lifecycle_log(config: pytest.Config) -> Path | None:
    """Where the background lifecycle writes its output (None: none was started)."""
    if _is_worker(config):
        value = config.workerinput.get("lifecycle_log")  # type: ignore[attr-defined]
        return Path(value) if value else None
    job = config.stash.get(_LIFECYCLE, None)
    return job.log if job is not None else None


class _LiveProgress:
    """Plugin: tells the heartbeat which test runs, and stops it at the end."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.progress.begin(nodeid)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.progress.end(nodeid)

    def pytest_unconfigure(self) -> None:
        self.progress.stop()


def pytest_configure(config: pytest.Config) -> None:
    """Start the heartbeat on a duplicate of the terminal's stdout (capture is off here),
    in the process that owns the terminal; and the background lifecycle if asked for."""
    if _is_worker(config):
        # A pytest-xdist worker's output never reaches the terminal: the controller
        # reports the tests it runs, and its heartbeat names them.
        config.stash[_PROGRESS] = Progress(os.open(os.devnull, os.O_WRONLY))
        return
    progress = Progress(os.dup(1))
    config.stash[_PROGRESS] = progress
    config.pluginmanager.register(_LiveProgress(progress), "live-progress")
    progress.start()
    if config.getoption("--lifecycle-in-background"):
        log = Path(tempfile.mkdtemp(prefix="drain-terminator-lifecycle-")) / "e2e.log"
        config.stash[_LIFECYCLE] = BackgroundJob(LIFECYCLE_COMMAND, log)


def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: tell each worker where the background lifecycle writes."""
    log = lifecycle_log(node.config)
    node.workerinput["lifecycle_log"] = str(log) if log else ""


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop a background lifecycle the session no longer waits for."""
    job = config.stash.get(_LIFECYCLE, None)
    if job is not None:
        job.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first, the waiting ones last (the same order in every worker)."""

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return 0 if path in _FIRST else 2 if path in _LAST else 1

    items.sort(key=rank)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker hands the figures its tests asked to show to the controller."""
    if _is_worker(session.config):
        session.config.workeroutput["figures"] = list(LINES)  # type: ignore[attr-defined]


def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist: collect a finished worker's figures for the summary."""
    LINES.extend(getattr(node, "workeroutput", {}).get("figures", []))


@pytest.fixture(scope="session")
def progress(pytestconfig: pytest.Config) -> Callable[[str], None]:
    """Write a line to the terminal now, past pytest's capture (for long fixtures)."""
    return pytestconfig.stash[_PROGRESS].say


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what tests asked to show (the chaos suite's figures) after the results."""
    if LINES:
        terminalreporter.section("figures")
        for line in LINES:
            terminalreporter.write_line(line)
