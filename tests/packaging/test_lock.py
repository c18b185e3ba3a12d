"""The lock files pin, with hashes, every range pyproject.toml and requirements/*.in declare.

A dependency added to pyproject.toml without `make lock` fails here (and `uv pip check` in
the Makefile), before it can reach an environment that was installed unpinned. uv, which
installs every environment, is locked the same way (requirements/uv.txt).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.locks import (
    REQUIREMENTS,
    build_requires,
    declared,
    installed_closure,
    read_in,
    read_lock,
)

LOCKS = ("uv", "pip", "lock", "dev", "tools")


def _assert_pinned(requirements: list[Requirement], lock: str) -> None:
    pins = read_lock(REQUIREMENTS / f"{lock}.txt")
    for requirement in requirements:
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement} is not in requirements/{lock}.txt: make lock"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"requirements/{lock}.txt pins {pin.name}=={pin.version}, outside {requirement}: "
            "make lock"
        )


def test_given_requirements_when_listed_then_every_lock_and_input_is_checked_here() -> None:
    """A lock added beside the others (with its .in) is covered by the tests below."""
    assert {path.stem for path in REQUIREMENTS.glob("*.txt")} == set(LOCKS)
    assert {path.stem for path in REQUIREMENTS.glob("*.in")} == set(LOCKS) - {"dev"}


@pytest.mark.parametrize("lock", LOCKS)
def test_given_a_lock_file_when_read_then_every_pin_is_exact_and_hashed(lock: str) -> None:
    pins = read_lock(REQUIREMENTS / f"{lock}.txt")

    assert pins
    for pin in pins.values():
        assert pin.hashes, f"{pin.name} has no --hash in requirements/{lock}.txt"


def test_given_pyproject_when_compared_then_dev_lock_pins_runtime_dev_and_build_ranges() -> None:
    _assert_pinned(declared() + declared("dev") + build_requires(), "dev")


@pytest.mark.parametrize("lock", ["uv", "pip", "lock", "tools"])
def test_given_an_input_file_when_compared_then_its_lock_pins_each_range(lock: str) -> None:
    _assert_pinned(read_in(REQUIREMENTS / f"{lock}.in"), lock)


def test_given_the_dev_lock_when_walked_then_it_holds_the_whole_closure_and_nothing_else() -> None:
    pins = read_lock(REQUIREMENTS / "dev.txt")
    closure = installed_closure(declared() + declared("dev") + build_requires())

    assert closure <= set(pins), f"missing from requirements/dev.txt: {closure - set(pins)}"
    assert set(pins) <= closure, f"stale in requirements/dev.txt: {set(pins) - closure}"


def test_given_the_test_environment_when_inspected_then_it_runs_the_locked_versions() -> None:
    for pin in read_lock(REQUIREMENTS / "dev.txt").values():
        assert importlib.metadata.version(pin.name) == pin.version, (
            f"{pin.name} {importlib.metadata.version(pin.name)} installed, {pin.version} "
            "locked: rebuild the environment (make .venv/main/.installed)"
        )


def test_given_a_lock_without_hashes_when_read_then_the_pin_shows_none(tmp_path: Path) -> None:
    """The reader can fail: a pin without hashes is reported as such."""
    path = tmp_path / "x.txt"
    path.write_text(
        "ruff==0.17.6\n    # via -r x.in\nmypy==2.4.1 \\\n    --hash=sha256:" + "a" * 64
    )

    pins = read_lock(path)

    assert pins[canonicalize_name("ruff")].hashes == ()
    assert pins[canonicalize_name("mypy")].hashes == ("sha256:" + "a" * 64,)
