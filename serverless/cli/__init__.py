"""The ``drain-terminator`` command line for operators (see :mod:`serverless.cli.app`)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point: run one command, return its exit status."""
    # Imported here: the adapters import serverless.cli.model, so importing the package
    # must not pull in the adapters first.
    from serverless.cli.app import main as run

    return run(argv)
