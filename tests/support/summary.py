"""Lines a test wants shown in the terminal summary (pytest captures its own output)."""

from __future__ import annotations

#: Appended to by tests; printed by ``pytest_terminal_summary`` in tests/conftest.py.
LINES: list[str] = []
