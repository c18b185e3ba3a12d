"""Tracing off means no X-Ray SDK at cold start; tracing on keeps Powertools' Tracer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import sys, handlers.sweeper, handlers.task_events, serverless.observability as o;"
    "print(any(m.startswith('aws_xray_sdk') for m in sys.modules), type(o.tracer).__name__)"
)


def _cold_import(trace_disabled: str) -> tuple[str, str]:
    env = {
        **os.environ,
        "POWERTOOLS_TRACE_DISABLED": trace_disabled,
        "TABLE_NAME": "ledger",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    loaded, kind = done.stdout.split()
    return loaded, kind


@pytest.mark.parametrize("value", ["true", "1"])
def test_given_tracing_disabled_when_the_handlers_load_then_the_xray_sdk_is_not_imported(
    value: str,
) -> None:
    assert _cold_import(value) == ("False", "_NoTracer")


def test_given_tracing_enabled_when_the_handlers_load_then_powertools_tracer_is_used() -> None:
    assert _cold_import("false") == ("True", "Tracer")
