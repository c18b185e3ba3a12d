"""What the commands make runs inherit from the Makefile, checked by running make."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.support.locks import ROOT

#: A target appended to the Makefile (``-f -``): prints what its command sees.
PROBE = (
    "probe:\n\t@python3 -c \"import os; print(repr(os.environ.get('PYTHONDONTWRITEBYTECODE')))\"\n"
)


def test_given_pythondontwritebytecode_when_make_runs_a_command_then_it_may_write_bytecode() -> (
    None
):
    """uv compiles no bytecode at install, so the test processes must be able to cache it."""
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is not on PATH: the README's commands need it")

    done = subprocess.run(
        [make, "--no-print-directory", "-f", "Makefile", "-f", "-", "probe"],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        input=PROBE,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"
