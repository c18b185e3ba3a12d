"""The pure domain: values, event parsing, tag parsing, the record lifecycle, errors, time.

Imports only itself and the standard library (an architecture test says so); everything
else in the package builds on it.
"""

from __future__ import annotations

__all__ = []
