"""The sweeper function's use case: plan and wait (``run``), claim and check a batch
(``batch``), decide on one record (``decide``, pure), apply the decision (``batch``,
``writes``, ``guards``), report (``report``); every time bound in ``timing``.
"""

from __future__ import annotations

__all__ = []
