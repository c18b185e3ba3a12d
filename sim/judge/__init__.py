"""Judging a run from the witness log, never from the functions: the report (timelines,
summary, invariants) and the chaos verdict."""

from __future__ import annotations

__all__: list[str] = []
