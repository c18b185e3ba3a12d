"""``python -m tools.release`` (``make release``): the versioned release artifacts in dist/.

For the version in ``VERSION`` (its one source of truth: ``pyproject.toml`` reads it too)
it builds, from the checkout, into ``dist/``:

* ``ecs-drain-terminator-<version>-function-<runtime>.zip``: the function package of
  both functions (``layers/build.py function``), one per Lambda Python runtime;
* ``ecs-drain-terminator-<version>-layer-<runtime>-<architecture>.zip``: the layer of
  third-party dependencies (``layers/build.py layer``), per runtime and architecture;
* ``ecs_drain_terminator-<version>-py3-none-any.whl``: the operator CLI
  (``drain-terminator``), the wheel ``pyproject.toml`` describes;
* ``SHA256SUMS``: their checksums, as ``sha256sum --check`` reads them.

Every artifact is reproducible: the same checkout and interpreter give the same bytes
(zips with sorted entries, fixed timestamps and permissions; the wheel built from a
copy of its sources with ``SOURCE_DATE_EPOCH``). ``--check`` builds everything twice
into scratch directories and compares the checksums (``make release-check``).

A package carries bytecode only for the runtime whose Python builds it (bytecode is
specific to a Python version): this interpreter, or the ones given with ``--python
python3.12=/usr/bin/python3.12``; the others hold sources only, and the summary says
which. The layers need the package index (pip), as a deployment that builds does.

Deploy them with the module's ``prebuilt_packages`` (terraform/README.md, "Deploying a
release"): no Python or pip where Terraform runs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ARCHITECTURES",
    "NAME",
    "RUNTIMES",
    "TARGETS",
    "Plan",
    "ReleaseError",
    "build",
    "checksums",
    "function_zip_name",
    "layer_zip_name",
    "main",
    "read_checksums",
    "read_version",
    "wheel_name",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
NAME = "ecs-drain-terminator"
RUNTIMES = ("python3.11", "python3.12", "python3.13")
ARCHITECTURES = ("arm64", "x86_64")
TARGETS = ("function", "layer", "wheel")
CHECKSUMS = "SHA256SUMS"
# What the wheel is built from (a copy: setuptools writes build/ and *.egg-info beside
# its sources, and a stale build/lib would leak removed modules into the wheel).
WHEEL_SOURCES = ("pyproject.toml", "VERSION", "README.md", "LICENSE", "serverless", "handlers")
# 1980-01-01, the zip format's first representable day, as layers/build.py's ZIP_EPOCH.
SOURCE_DATE_EPOCH = "315532800"
_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(?:(?:a|b|rc)[0-9]+)?$")


class ReleaseError(Exception):
    """A release step failed; the message says which and why."""


@dataclass(frozen=True)
class Plan:
    """What to build: runtimes, architectures, targets and an interpreter per runtime."""

    runtimes: tuple[str, ...] = RUNTIMES
    architectures: tuple[str, ...] = ARCHITECTURES
    targets: tuple[str, ...] = TARGETS
    pythons: Mapping[str, str] | None = None

    def python_for(self, runtime: str) -> str:
        """The interpreter that builds a runtime's packages (bytecode when it matches)."""
        return (self.pythons or {}).get(runtime, sys.executable)


def read_version(root: Path = REPO_ROOT) -> str:
    """The release version, from ``VERSION``."""
    try:
        text = (root / "VERSION").read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ReleaseError(f"cannot read the version: {error}") from error
    if not _VERSION.match(text):
        raise ReleaseError(f"VERSION holds {text!r}, not a version such as 1.2.3 or 1.2.3rc1")
    return text


def function_zip_name(version: str, runtime: str) -> str:
    return f"{NAME}-{version}-function-{runtime}.zip"


def layer_zip_name(version: str, runtime: str, architecture: str) -> str:
    return f"{NAME}-{version}-layer-{runtime}-{architecture}.zip"


def wheel_name(version: str) -> str:
    return f"{NAME.replace('-', '_')}-{version}-py3-none-any.whl"


def _run(command: Sequence[str], env: Mapping[str, str] | None = None) -> None:
    done = subprocess.run(
        list(command), capture_output=True, text=True, env=dict(env or os.environ), check=False
    )
    if done.returncode != 0:
        raise ReleaseError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-3000:]}"
            f"{done.stderr[-3000:]}"
        )


def _build_script(root: Path) -> str:
    return str(root / "layers" / "build.py")


def _build_function(root: Path, dist: Path, version: str, runtime: str, python: str) -> Path:
    output = dist / function_zip_name(version, runtime)
    _run(
        [
            *(python, _build_script(root), "function", "--runtime", runtime),
            *("--output", str(output), "--source-root", str(root)),
        ]
    )
    return output


def _build_layer(
    root: Path, dist: Path, version: str, runtime: str, architecture: str, python: str
) -> Path:
    output = dist / layer_zip_name(version, runtime, architecture)
    _run(
        [
            *(python, _build_script(root), "layer", "--runtime", runtime),
            *("--architecture", architecture, "--output", str(output), "--source-root", str(root)),
        ]
    )
    return output


def _build_wheel(root: Path, dist: Path, version: str) -> Path:
    with tempfile.TemporaryDirectory(prefix="release-wheel-") as scratch:
        source = Path(scratch, "src")
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
        for name in WHEEL_SOURCES:
            path = root / name
            if path.is_dir():
                shutil.copytree(path, source / name, ignore=ignore)
            else:
                source.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, source / name)
        out = Path(scratch, "out")
        _run(
            [
                *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"),
                *("--no-index", "--quiet", "-w", str(out), str(source)),
            ],
            env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
        )
        built = out / wheel_name(version)
        if not built.is_file():
            found = ", ".join(path.name for path in out.iterdir()) or "nothing"
            raise ReleaseError(f"the wheel build made {found}, not {built.name}")
        return Path(shutil.copy2(built, dist / built.name))


def checksums(paths: Iterable[Path]) -> dict[str, str]:
    """``{file name: hex SHA-256}`` of ``paths``."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


def read_checksums(dist: Path) -> dict[str, str]:
    """``{file name: hex SHA-256}`` as ``dist/SHA256SUMS`` lists them."""
    sums = {}
    for line in (dist / CHECKSUMS).read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        sums[name] = digest
    return sums


def _write_checksums(dist: Path, sums: Mapping[str, str]) -> Path:
    path = dist / CHECKSUMS
    path.write_text("".join(f"{sums[name]}  {name}\n" for name in sorted(sums)), encoding="utf-8")
    return path


def build(dist: Path, plan: Plan = Plan(), root: Path = REPO_ROOT) -> dict[str, str]:
    """Build the plan's artifacts into ``dist`` (emptied first); return their checksums."""
    version = read_version(root)
    unknown = set(plan.targets) - set(TARGETS)
    if unknown:
        raise ReleaseError(f"unknown targets {sorted(unknown)}; choose from {list(TARGETS)}")
    if dist.exists():
        shutil.rmtree(dist)
    dist.mkdir(parents=True)
    built: list[Path] = []
    for runtime in plan.runtimes:
        python = plan.python_for(runtime)
        if "function" in plan.targets:
            built.append(_build_function(root, dist, version, runtime, python))
        if "layer" in plan.targets:
            built += [
                _build_layer(root, dist, version, runtime, architecture, python)
                for architecture in plan.architectures
            ]
    if "wheel" in plan.targets:
        built.append(_build_wheel(root, dist, version))
    sums = checksums(built)
    _write_checksums(dist, sums)
    return sums


def _bytecode_note(plan: Plan) -> str:
    with_bytecode = []
    for runtime in plan.runtimes:
        python = plan.python_for(runtime)
        probe = subprocess.run(
            [
                python,
                "-c",
                "import sys; print(f'python{sys.version_info[0]}.{sys.version_info[1]}')",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == runtime:
            with_bytecode.append(runtime)
    return (
        f"bytecode for {', '.join(with_bytecode) or 'no runtime'}; sources only for the others "
        f"(--python RUNTIME=INTERPRETER adds bytecode for a runtime)"
    )


def _pythons(values: Sequence[str]) -> dict[str, str]:
    result = {}
    for value in values:
        runtime, _, python = value.partition("=")
        if runtime not in RUNTIMES or not python:
            raise ReleaseError(
                f"--python takes RUNTIME=INTERPRETER (e.g. python3.12=...), got {value!r}"
            )
        result[runtime] = python
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.release", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--dist", type=Path, default=REPO_ROOT / "dist")
    parser.add_argument("--runtime", action="append", choices=RUNTIMES, dest="runtimes")
    parser.add_argument(
        "--architecture", action="append", choices=ARCHITECTURES, dest="architectures"
    )
    parser.add_argument("--target", action="append", choices=TARGETS, dest="targets")
    parser.add_argument("--python", action="append", default=[], metavar="RUNTIME=INTERPRETER")
    parser.add_argument(
        "--check", action="store_true", help="build twice in scratch directories and compare"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    try:
        plan = Plan(
            tuple(options.runtimes or RUNTIMES),
            tuple(options.architectures or ARCHITECTURES),
            tuple(options.targets or TARGETS),
            _pythons(options.python),
        )
        version = read_version()
        if options.check:
            with tempfile.TemporaryDirectory(prefix="release-check-") as scratch:
                first = build(Path(scratch, "first"), plan)
                second = build(Path(scratch, "second"), plan)
            differ = sorted(name for name in first if first[name] != second.get(name))
            if differ or set(first) != set(second):
                print(f"release: NOT reproducible: {', '.join(differ)} differ", file=sys.stderr)
                return 1
            print(f"release {version}: {len(first)} artifacts built twice, identical checksums")
            return 0
        sums = build(options.dist, plan)
    except ReleaseError as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    for name in sorted(sums):
        print(f"{sums[name]}  {name}")
    print(
        f"release {version}: {len(sums)} artifacts and {CHECKSUMS} in {options.dist}; "
        f"{_bytecode_note(plan)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
