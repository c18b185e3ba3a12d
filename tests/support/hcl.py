"""Moved: the one HCL reader is :mod:`sim.terraform` (the simulator and the tests share it).

Kept only for the imports of tests/support/world.py, tests/cli/conftest.py and
tests/cli/test_docs.py until they read from sim.terraform.
"""

from __future__ import annotations

from sim.terraform import MODULE_DIR, ledger_table_spec, load_tf

__all__ = ["MODULE_DIR", "ledger_table_spec", "load_tf"]
