"""The module's whole lifecycle on the real AWS provider against moto's server (tools/e2e).

``make test`` starts it beside the other tests (``--lifecycle-in-background``) and this test
collects the result; ``pytest tests/e2e/test_lifecycle.py`` runs it here. Where Terraform or
a provider mirror is absent, tools.e2e says so in one line (``make e2e`` alone then ends
there) and this test fails with that line: ``make test`` is not green without the lifecycle.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from sim.terraform import REPO_ROOT
from tests.conftest import lifecycle_log
from tests.support.background import LIFECYCLE_COMMAND, BackgroundJob, Outcome
from tests.support.summary import LINES

#: The lifecycle takes about three minutes on two busy cores; this bounds a stuck one.
TIMEOUT_SECONDS = 900.0


@pytest.fixture(scope="module")
def lifecycle(pytestconfig: pytest.Config) -> Outcome:
    log = lifecycle_log(pytestconfig)
    if log is not None:
        return BackgroundJob.result(log, TIMEOUT_SECONDS)
    # One stream, unbuffered, as in the background job: the summary must stay the last
    # line even when moto logs to stderr meanwhile (its Lambda backend finds no Docker).
    done = subprocess.run(
        LIFECYCLE_COMMAND,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    return Outcome(done.returncode, done.stdout)


def test_given_the_module_when_applied_replanned_changed_and_destroyed_then_every_check_passes(
    lifecycle: Outcome,
) -> None:
    if lifecycle.returncode == 0 and lifecycle.last_line.startswith("e2e: skipped"):
        pytest.fail(f"the lifecycle needs Terraform and a provider mirror: {lifecycle.last_line}")
    LINES.append(lifecycle.last_line)
    assert lifecycle.returncode == 0, lifecycle.output[-8000:]
    assert lifecycle.last_line.startswith("e2e: OK"), lifecycle.output[-8000:]
    for part in (
        "re-plan: no changes",
        "destroy: clean",
        "IAM: ",
        "parliament: 0 findings",
        "premise: validated and planned",
    ):
        assert part in lifecycle.last_line, part
