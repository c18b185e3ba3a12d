"""Plain-text presentation: aligned tables, times and durations people can read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

__all__ = ["duration", "iso", "seconds", "table", "when"]


def iso(epoch: float | None) -> str | None:
    """ISO 8601 UTC with seconds (for JSON), or None."""
    if epoch is None:
        return None
    return (
        datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def when(epoch: float | None) -> str:
    """A moment for people: ``2026-01-05 09:02:54Z`` (``-`` when unknown)."""
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def seconds(value: float | None) -> str:
    """Whole seconds with the unit: ``121 s`` (``-`` when unknown)."""
    if value is None:
        return "-"
    return f"{round(value):d} s"


def duration(value: float) -> str:
    """A span for people: ``45 s``, ``12m05s``, ``3h04m``."""
    total = round(abs(value))
    sign = "-" if value < 0 else ""
    if total < 120:
        return f"{sign}{total} s"
    if total % 3600 == 0:
        return f"{sign}{total // 3600}h"
    minutes, secs = divmod(total, 60)
    if secs == 0 and minutes < 120:
        return f"{sign}{minutes}m"
    if minutes < 120:
        return f"{sign}{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours}h{minutes:02d}m"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> str:
    """Columns aligned to their widest cell; the last column is not padded."""
    widths = [len(h) for h in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = []
    for row in (headers, *rows):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(lines)
