"""Fixtures shared by the Terraform tests: the parsed module, resolved once."""

from __future__ import annotations

from typing import Any

import pytest

from sim.terraform import MODULE_DIR, load_tf


@pytest.fixture(scope="session")
def module() -> dict[str, Any]:
    """Every ``.tf`` file of terraform/ (not the examples), normalised."""
    return load_tf(MODULE_DIR)


@pytest.fixture(scope="session")
def variables(module: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = module["variable"]
    return result


@pytest.fixture(scope="session")
def resources(module: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = module["resource"]
    return result
