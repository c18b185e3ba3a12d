"""The operator CLI's AWS adapters (not shipped in the function package)."""

from __future__ import annotations

__all__ = []
