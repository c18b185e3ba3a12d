"""Capture what the handlers print (Powertools JSON logs, EMF metrics) during a run."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["LineSink", "captured_output", "emf_metrics"]


class LineSink(io.TextIOBase):
    """A text stream that keeps complete lines."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        """Buffer ``text``, keeping each finished line."""
        self._partial += text
        *done, self._partial = self._partial.split("\n")
        self.lines.extend(line for line in done if line.strip())
        return len(text)

    def writable(self) -> bool:
        """Always."""
        return True


def _stream_handlers() -> Iterator[logging.StreamHandler[Any]]:
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    standard = {id(sys.stdout), id(sys.stderr), id(sys.__stdout__), id(sys.__stderr__)}
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and id(handler.stream) in standard:
                yield handler


@contextlib.contextmanager
def captured_output() -> Iterator[LineSink]:
    """Send stdout and the stdout/stderr log handlers to a :class:`LineSink`."""
    sink = LineSink()
    swapped: list[tuple[logging.StreamHandler[Any], Any]] = []
    for handler in list(_stream_handlers()):
        swapped.append((handler, handler.setStream(sink)))
    try:
        with contextlib.redirect_stdout(sink), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield sink
            sink.lines.extend(f"warning: {w.category.__name__}: {w.message}" for w in caught)
    finally:
        for handler, stream in swapped:
            handler.setStream(stream)


def emf_metrics(lines: list[str], *, by_account: bool = False) -> dict[str, float]:
    """Sum the CloudWatch EMF metrics found in ``lines`` by metric name.

    The per-account series (dimension ``account``, which repeat values of the totals) are
    left out; with ``by_account`` only they are summed, by ``<name>#<account>``.
    """
    totals: dict[str, float] = {}
    for line in lines:
        if '"_aws"' not in line:
            continue
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        for directive in blob.get("_aws", {}).get("CloudWatchMetrics", []):
            dimensions = directive.get("Dimensions", [])
            if any("account" in d for d in dimensions) != by_account:
                continue
            for metric in directive.get("Metrics", []):
                name = metric.get("Name")
                value = blob.get(name)
                key = f"{name}#{blob.get('account')}" if by_account else name
                values = value if isinstance(value, list) else [value]
                for item in values:
                    if isinstance(item, int | float):
                        totals[key] = totals.get(key, 0.0) + float(item)
    return totals
