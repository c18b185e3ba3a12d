"""Moved: the one HCL reader is :mod:`sim.terraform` (the simulator and the tests share it).

Kept as a re-export only until tests/support/world.py imports from sim.terraform.
"""

from __future__ import annotations

from sim.terraform import *  # noqa: F403
from sim.terraform import __all__ as __all__
