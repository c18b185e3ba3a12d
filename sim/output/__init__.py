"""What a reader sees: text, pictures and the progress line."""

from __future__ import annotations

__all__: list[str] = []
