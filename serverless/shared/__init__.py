"""Machinery both use cases share: the services directory (tags to policies, cached and
shared), API pacing to the account's rate limits, and how closed records are reported."""

from __future__ import annotations

__all__ = []
