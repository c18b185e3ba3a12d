"""The backstop: drains whose events never arrived, found by asking ECS."""

from __future__ import annotations

__all__ = []
