"""The early start of a sweeper run: how task-events asks for one, and how often."""

from __future__ import annotations

__all__ = ["EARLY_START_DEBOUNCE_SECONDS", "EARLY_START_SOURCE"]

#: ``source`` of the event with which the task-events function starts a sweeper run early.
EARLY_START_SOURCE = "drain-terminator"
#: At most one early sweeper start per this many seconds from one warm container; an early
#: run therefore looks at the ledger again this long after it started before it returns, so
#: the drains whose early start was held back are found.
EARLY_START_DEBOUNCE_SECONDS = 30.0
