"""Implementations of :class:`serverless.ports.Concurrency` for production and unit tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["InlineConcurrency", "ThreadConcurrency"]

T = TypeVar("T")
R = TypeVar("R")


def _first_error(errors: Sequence[BaseException | None]) -> BaseException | None:
    return next((error for error in errors if error is not None), None)


class InlineConcurrency:
    """Runs every call in turn on the calling thread (unit tests, ``limit`` ignored)."""

    def map(self, fn: Callable[[T], R], items: Sequence[T], limit: int) -> list[R]:
        """``fn`` on each item in order; the first exception is raised after all calls."""
        results: list[R] = []
        errors: list[BaseException | None] = []
        for item in items:
            try:
                results.append(fn(item))
                errors.append(None)
            except Exception as error:
                errors.append(error)
        first = _first_error(errors)
        if first is not None:
            raise first
        return results


class ThreadConcurrency:
    """Runs the calls on up to ``limit`` threads (AWS calls release the GIL while waiting)."""

    def map(self, fn: Callable[[T], R], items: Sequence[T], limit: int) -> list[R]:
        """``fn`` on every item, at most ``limit`` at once; results in the order of items."""
        if limit <= 1 or len(items) <= 1:
            return InlineConcurrency().map(fn, items, limit)
        with ThreadPoolExecutor(
            max_workers=min(limit, len(items)), thread_name_prefix="sweep"
        ) as pool:
            futures = [pool.submit(fn, item) for item in items]
        errors = [future.exception() for future in futures]
        first = _first_error(errors)
        if first is not None:
            raise first
        return [future.result() for future in futures]
