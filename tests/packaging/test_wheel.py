"""The wheel ships the Lambda code only, and what it installs works outside the checkout.

Built from a copy of the sources (the checkout stays clean) with the locked build backend,
installed into a fresh virtual environment beside nothing but the runtime dependencies
(taken, hash-checked, from requirements/dev.txt), then run from a directory that is not the
checkout: an import or a console script that only works from the checkout fails here.
"""

from __future__ import annotations

import configparser
import email.parser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support.locks import (
    REQUIREMENTS,
    ROOT,
    declared,
    installed_closure,
    pyproject,
    read_lock,
)

SHIPPED = {"serverless", "handlers"}


def _pip(*args: str | Path, python: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The environment's own (locked) pip, optionally aimed at another interpreter."""
    target = ["--python", str(python)] if python is not None else []
    return subprocess.run(
        [sys.executable, "-m", "pip", *target, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def _scripts() -> dict[str, str]:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    return dict(project.get("scripts", {}))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "VERSION", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for package in (*SHIPPED, "sim", "tests", "tools"):  # the others must be left out
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    out = tmp_path_factory.mktemp("dist")

    built = _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", out, source)

    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("ecs_drain_terminator-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel and its runtime closure: returns its bin/ directory."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    pins = read_lock(REQUIREMENTS / "dev.txt")
    runtime = venv / "runtime.txt"
    runtime.write_text(
        "\n".join(pins[name].block for name in sorted(installed_closure(declared())))
    )

    deps = _pip(
        "install", "--require-hashes", "--no-input", "--no-compile", "-r", runtime, python=python
    )
    assert deps.returncode == 0, deps.stdout + deps.stderr
    own = _pip("install", "--no-deps", "--no-index", "--no-input", wheel, python=python)
    assert own.returncode == 0, own.stdout + own.stderr
    checked = _pip("check", python=python)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return venv / "bin"


def _outside(tmp_path: Path, *command: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``command`` from a directory that is not the checkout, with no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return subprocess.run(
        [str(part) for part in command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_given_the_wheel_when_listed_then_it_ships_serverless_and_handlers_only(
    wheel: Path,
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = {name.split("/", 1)[0] for name in names if not name.split("/")[0].endswith(".dist-info")}

    assert top == SHIPPED
    assert "serverless/__init__.py" in names
    assert "handlers/sweeper.py" in names


def test_given_the_wheel_when_its_metadata_is_read_then_license_and_dependencies_match(
    wheel: Path,
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (meta,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(meta).decode())
        licence = archive.read(meta.replace("METADATA", "licenses/LICENSE")).decode()
        entry_points = next(
            (
                archive.read(n).decode()
                for n in archive.namelist()
                if n.endswith("entry_points.txt")
            ),
            "",
        )

    assert metadata["License-Expression"] == "MIT-0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert licence.startswith("MIT No Attribution")
    requires = [Requirement(text) for text in metadata.get_all("Requires-Dist") or []]
    assert {r for r in requires if r.marker is None} == set(declared())
    assert _console_scripts(entry_points) == _scripts()


def test_given_the_installed_wheel_when_imported_outside_the_checkout_then_it_is_the_wheel(
    installed: Path, tmp_path: Path
) -> None:
    probe = (
        "import handlers.sweeper, handlers.task_events, serverless, serverless.app;"
        "print(serverless.__file__)"
    )

    result = _outside(tmp_path, installed / "python", "-c", probe)

    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(installed.parent)


def test_given_the_installed_wheel_when_sim_is_imported_then_it_is_not_there(
    installed: Path, tmp_path: Path
) -> None:
    result = _outside(tmp_path, installed / "python", "-c", "import sim")

    assert result.returncode != 0
    assert "No module named 'sim'" in result.stderr


def test_given_the_installed_wheel_when_each_console_script_runs_then_it_answers(
    installed: Path, tmp_path: Path
) -> None:
    """Every [project.scripts] entry runs outside the checkout; the demo is no longer one."""
    assert not (installed / "ecs-drain-demo").exists()
    for script in _scripts():
        result = _outside(tmp_path, installed / script, "--help")
        assert result.returncode == 0, result.stderr
        assert "usage" in result.stdout.lower()


def _console_scripts(entry_points: str) -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read_string(entry_points)
    return dict(parser["console_scripts"]) if parser.has_section("console_scripts") else {}


def test_given_the_installed_wheel_when_asked_its_version_then_it_is_the_version_file(
    installed: Path, tmp_path: Path
) -> None:
    result = _outside(tmp_path, installed / "drain-terminator", "--version")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "drain-terminator",
        (ROOT / "VERSION").read_text(encoding="utf-8").strip(),
    ]
