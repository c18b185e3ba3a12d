"""Test-wide settings: fake AWS credentials and the environment the handlers read."""

from __future__ import annotations

import os

import pytest

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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what tests asked to show (the chaos suite's figures) after the results."""
    from tests.support.summary import LINES

    if LINES:
        terminalreporter.section("figures")
        for line in LINES:
            terminalreporter.write_line(line)
