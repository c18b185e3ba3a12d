"""Test-wide settings: fake AWS credentials and the environment the handlers read; live
progress (a heartbeat while a test runs silently, and the ``progress`` fixture) and the
figures tests ask to show in the summary."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from tests.support.summary import LINES, Progress

# Set before any handler module is imported: they check their configuration at import.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MOTO_ACCOUNT_ID": "111122223333",
        "TABLE_NAME": "drain-terminator-test-ledger",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "ecs-drain-terminator",
        "POWERTOOLS_METRICS_NAMESPACE": "EcsDrainTerminator",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
    }
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--chaos-drains N``: run the chaos suite over at least N drains (default 1000)."""
    parser.addoption(
        "--chaos-drains",
        type=int,
        default=1000,
        help="minimum number of drains the chaos suite simulates (default 1000)",
    )


_PROGRESS = pytest.StashKey[Progress]()


class _LiveProgress:
    """Plugin: tells the heartbeat which test runs, and stops it at the end."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.progress.begin(nodeid)

    def pytest_runtest_logfinish(self) -> None:
        self.progress.end()

    def pytest_unconfigure(self) -> None:
        self.progress.stop()


def pytest_configure(config: pytest.Config) -> None:
    """Start the heartbeat on a duplicate of the terminal's stdout (capture is off here)."""
    progress = Progress(os.dup(1))
    config.stash[_PROGRESS] = progress
    config.pluginmanager.register(_LiveProgress(progress), "live-progress")
    progress.start()


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
