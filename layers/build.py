#!/usr/bin/env python3
"""Build the Lambda packages of ecs-drain-terminator, reproducibly (stdlib + pip only).

Terraform runs this script at apply time (``terraform_data`` + ``local-exec``, see
``terraform/packaging.tf``), only when a package's source hash changed; it can also be
run by hand to prebuild the packages (``var.prebuilt_packages``). Two targets:

``function``
    The project's code: ``serverless/`` and ``handlers/`` (every ``*.py`` but the
    operator CLI, ``serverless/cli/``, which the wheel ships), the task root of both
    functions.
``layer``
    The third-party dependencies only: ``layers/requirements.txt`` installed with
    ``pip --require-hashes --no-deps --only-binary=:all:`` for the Lambda platform
    (architecture, Python version) under ``python/``.

Each target has a **source hash** computed from its inputs with the same algorithm as
``terraform/packaging.tf`` (:func:`source_hash`); given ``--expect-hash``, the build
refuses to run when the two differ (the file sets would have drifted apart).

Zips are reproducible: sorted entries, fixed timestamps and permissions, deflate at a
fixed level. When this interpreter's version equals the runtime's, every module also
gets its bytecode (``__pycache__/*.cpython-3XY.pyc``, ``unchecked-hash`` invalidation:
no timestamps, never re-validated in Lambda's read-only file system), so a cold start
does not compile; with another interpreter the package holds sources only and a note
says so on stderr. Bytecode can only be compiled by the Python version that runs it.

By hand::

    python3 layers/build.py function --runtime python3.13 --output dist/function.zip
    python3 layers/build.py layer --runtime python3.13 --architecture arm64 \\
        --output dist/layer.zip
    python3 layers/build.py hash function --runtime python3.13
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import py_compile
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Bump together with local.build_format in terraform/packaging.tf when the layout or the
# zip format changes.
BUILD_FORMAT = "2"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
COMPRESS_LEVEL = 9
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
RUNTIMES = ("python3.11", "python3.12", "python3.13")
FUNCTION_PACKAGES = ("handlers", "serverless")
# Left out of the function package and its hash (terraform/package_hashes.tf's
# local.function_excluded): the operator CLI runs on an operator's machine, never in
# Lambda, so an edit to it redeploys nothing.
FUNCTION_EXCLUDED = ("serverless/cli/",)
# Where Lambda mounts the packages: the paths tracebacks show (pyc ``dfile``).
TASK_ROOT = "/var/task"
LAYER_ROOT = "/opt"
# pip --target puts console scripts (with this machine's interpreter path) in bin/.
LAYER_EXCLUDED_TOP = frozenset({"bin"})
EXCLUDED_DIRS = frozenset({"__pycache__"})
# Parts of aws-lambda-powertools the functions never import (they use Logger, Metrics,
# Tracer and the LambdaContext type): left out to keep the layer under 2 MB zipped.
# `make e2e` runs both handlers from the deployed layer, so a pruned module that is
# needed after all fails there. Keep: logging, metrics, tracing, shared, middleware
# factory, utilities.typing and utilities.jmespath_utils (correlation_id_path).
POWERTOOLS = "aws_lambda_powertools"
POWERTOOLS_PRUNED = frozenset({"event_handler"})
POWERTOOLS_UTILITIES_KEPT = frozenset({"__init__.py", "typing", "jmespath_utils"})
SOURCE_ROOT = Path(__file__).resolve().parent.parent

Installer = Callable[[Path, Path, str, str], None]


class BuildError(Exception):
    """A build step failed; the message says which and why."""


@dataclass(frozen=True)
class Artifact:
    path: Path
    sha256: bytes
    size: int
    bytecode: bool


# --------------------------------------------------------------------------- source hash
def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def function_sources(source_root: Path) -> list[str]:
    """Every ``*.py`` of the function package, as Terraform's ``fileset`` lists them."""
    names = [
        path.relative_to(source_root).as_posix()
        for package in FUNCTION_PACKAGES
        for path in (source_root / package).rglob("*.py")
        if path.is_file()
    ]
    return sorted(name for name in names if not name.startswith(FUNCTION_EXCLUDED))


def source_hash(
    target: str, source_root: Path, runtime: str, architecture: str | None = None
) -> str:
    """Hex SHA-256 of a target's inputs: ``terraform/packaging.tf``'s algorithm."""
    script = _sha256_file(Path(__file__))
    if target == "function":
        lines = [f"format={BUILD_FORMAT}", "target=function", f"runtime={runtime}"]
        lines.append(f"script={script}")
        lines += [
            f"{name}={_sha256_file(source_root / name)}" for name in function_sources(source_root)
        ]
    elif target == "layer":
        if architecture is None:
            raise BuildError("the layer's hash needs the architecture")
        requirements = _sha256_file(source_root / "layers" / "requirements.txt")
        lines = [
            f"format={BUILD_FORMAT}",
            "target=layer",
            f"runtime={runtime}",
            f"architecture={architecture}",
            f"script={script}",
            f"requirements={requirements}",
        ]
    else:
        raise BuildError(f"target must be 'function' or 'layer', got {target!r}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


# ------------------------------------------------------------------------------ zipping
def collect_tree(root: Path, prefix: str, skip_top: Iterable[str] = ()) -> list[tuple[str, Path]]:
    """``(archive name, file)`` for every file under ``root``, sorted, caches excluded."""
    skipped = frozenset(skip_top)
    entries: list[tuple[str, Path]] = []
    for directory, dirnames, filenames in os.walk(root):
        relative_dir = Path(directory).relative_to(root)
        top = relative_dir == Path(".")
        dirnames[:] = sorted(
            name for name in dirnames if name not in EXCLUDED_DIRS and not (top and name in skipped)
        )
        for name in filenames:
            if name.endswith((".pyc", ".pyo")) or (top and name in skipped):
                continue
            relative = (relative_dir / name).as_posix()
            entries.append((f"{prefix}{relative}", Path(directory, name)))
    return sorted(entries)


def write_deterministic_zip(entries: Iterable[tuple[str, bytes, bool]], destination: Path) -> None:
    """Write ``(name, data, executable)`` entries so equal inputs give identical bytes."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    seen: set[str] = set()
    with zipfile.ZipFile(partial, "w") as archive:
        for name, data, executable in sorted(entries, key=lambda entry: entry[0]):
            if name in seen:
                raise BuildError(f"duplicate archive entry {name!r}")
            seen.add(name)
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3  # Unix, so external_attr carries the permissions
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=COMPRESS_LEVEL)
    partial.replace(destination)


def runtime_version(runtime: str) -> tuple[int, int]:
    if runtime not in RUNTIMES:
        raise BuildError(f"runtime must be one of {list(RUNTIMES)}, got {runtime!r}")
    major, minor = runtime.removeprefix("python").split(".")
    return int(major), int(minor)


def compiles_for(runtime: str) -> bool:
    """Whether this interpreter can compile bytecode the runtime will load."""
    return sys.implementation.name == "cpython" and sys.version_info[:2] == runtime_version(runtime)


def _bytecode(source: Path, shown_as: str) -> tuple[str, bytes]:
    """(``__pycache__`` name relative to the source's directory, pyc bytes) of a module."""
    with tempfile.TemporaryDirectory(prefix="pyc-") as scratch:
        target = Path(scratch, "module.pyc")
        py_compile.compile(
            str(source),
            cfile=str(target),
            dfile=shown_as,
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        cached = Path(importlib.util.cache_from_source(source.name))
        return cached.as_posix(), target.read_bytes()


def package_entries(
    files: Iterable[tuple[str, Path]], mounted_at: str, bytecode: bool
) -> list[tuple[str, bytes, bool]]:
    """Zip entries of ``files`` (archive name, path), with their bytecode when asked."""
    entries: list[tuple[str, bytes, bool]] = []
    for name, path in files:
        executable = bool(os.stat(path).st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
        entries.append((name, path.read_bytes(), executable))
        if bytecode and name.endswith(".py"):
            cached, data = _bytecode(path, f"{mounted_at}/{name}")
            directory = name.rpartition("/")[0]
            entries.append((f"{directory}/{cached}" if directory else cached, data, False))
    return entries


def _artifact(path: Path, bytecode: bool) -> Artifact:
    data = path.read_bytes()
    return Artifact(path, hashlib.sha256(data).digest(), len(data), bytecode)


def _check_hash(expected: str | None, actual: str, what: str) -> None:
    if expected is not None and expected != actual:
        raise BuildError(
            f"Terraform's source hash of the {what} ({expected}) differs from the build's "
            f"({actual}): terraform/packaging.tf and layers/build.py disagree on the inputs"
        )


def _note_bytecode(runtime: str) -> None:
    if not compiles_for(runtime):
        print(
            f"layers/build.py: no bytecode: this is Python {sys.version_info[0]}."
            f"{sys.version_info[1]}, the runtime is {runtime} (set python_executable to a "
            f"{runtime} interpreter to ship bytecode)",
            file=sys.stderr,
        )


def prune_powertools(site: Path) -> list[str]:
    """Remove the Powertools subpackages the functions never import; return their names."""
    package = site / POWERTOOLS
    if not package.is_dir():
        return []
    removed = [package / name for name in sorted(POWERTOOLS_PRUNED) if (package / name).exists()]
    utilities = package / "utilities"
    if utilities.is_dir():
        removed += [
            path
            for path in sorted(utilities.iterdir())
            if path.name not in POWERTOOLS_UTILITIES_KEPT and path.name != "__pycache__"
        ]
    for path in removed:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    return [path.relative_to(site).as_posix() for path in removed]


# ---------------------------------------------------------------------------- installing
PREBUILT_HINT = (
    "or deploy prebuilt packages and need neither Python nor pip where Terraform runs: "
    "prebuilt_packages = { function_zip = ..., layer_zip = ... } with the release "
    'artifacts (terraform/README.md, "Deploying a release")'
)


def pip_install(requirements: Path, target: Path, architecture: str, python_version: str) -> None:
    """Install the hash-pinned wheels for the Lambda platform into ``target``."""
    if importlib.util.find_spec("pip") is None:
        raise BuildError(
            f"the layer is installed with pip, which {sys.executable} does not have: install "
            f"pip for it, point the module's python_executable at a Python with pip, "
            f"{PREBUILT_HINT}"
        )
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--require-hashes",
        "--no-deps",
        "--no-compile",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--platform",
        PLATFORMS[architecture],
        "--target",
        str(target),
        "--requirement",
        str(requirements),
    ]
    environment = {**os.environ, "PIP_ROOT_USER_ACTION": "ignore"}
    completed = subprocess.run(command, stdout=sys.stderr, env=environment, check=False)
    if completed.returncode != 0:
        raise BuildError(
            f"pip install failed ({completed.returncode}; its output is above): "
            f"{' '.join(command)}. It needs the package index (PyPI, or the index pip is "
            f"configured with) for the wheels of layers/requirements.txt; "
            f"{PREBUILT_HINT}"
        )


# ------------------------------------------------------------------------------ targets
def build_function(
    source_root: Path, output: Path, runtime: str, expect_hash: str | None = None
) -> Artifact:
    """``serverless/`` + ``handlers/`` (sources, and bytecode when possible) at ``output``."""
    _check_hash(expect_hash, source_hash("function", source_root, runtime), "function package")
    bytecode = compiles_for(runtime)
    files = [(name, source_root / name) for name in function_sources(source_root)]
    if not files:
        raise BuildError(f"no Python sources under {source_root} ({FUNCTION_PACKAGES})")
    write_deterministic_zip(package_entries(files, TASK_ROOT, bytecode), output)
    return _artifact(output, bytecode)


def build_layer(
    source_root: Path,
    output: Path,
    runtime: str,
    architecture: str,
    expect_hash: str | None = None,
    installer: Installer = pip_install,
) -> Artifact:
    """The dependencies of ``layers/requirements.txt`` under ``python/`` at ``output``."""
    if architecture not in PLATFORMS:
        raise BuildError(f"architecture must be one of {sorted(PLATFORMS)}, got {architecture!r}")
    _check_hash(
        expect_hash, source_hash("layer", source_root, runtime, architecture), "layer package"
    )
    major, minor = runtime_version(runtime)
    bytecode = compiles_for(runtime)
    with tempfile.TemporaryDirectory(prefix="layer-") as scratch:
        site = Path(scratch, "python")
        site.mkdir()
        installer(
            source_root / "layers" / "requirements.txt", site, architecture, f"{major}.{minor}"
        )
        for package in FUNCTION_PACKAGES:
            if (site / package).exists():
                raise BuildError(f"a dependency installed a top-level {package!r} package")
        prune_powertools(site)
        files = collect_tree(site, "python/", skip_top=LAYER_EXCLUDED_TOP)
        write_deterministic_zip(package_entries(files, LAYER_ROOT, bytecode), output)
    return _artifact(output, bytecode)


# ---------------------------------------------------------------------------- interface
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("function", "layer"):
        command = commands.add_parser(name, help=f"build the {name} package")
        command.add_argument("--runtime", required=True, choices=RUNTIMES)
        if name == "layer":
            command.add_argument("--architecture", required=True, choices=sorted(PLATFORMS))
        command.add_argument("--output", required=True, type=Path)
        command.add_argument("--expect-hash", help="Terraform's source hash (refuse if unequal)")
        command.add_argument("--source-root", type=Path, default=SOURCE_ROOT)
    hashing = commands.add_parser("hash", help="print a target's source hash")
    hashing.add_argument("target", choices=["function", "layer"])
    hashing.add_argument("--runtime", required=True, choices=RUNTIMES)
    hashing.add_argument("--architecture", choices=sorted(PLATFORMS))
    hashing.add_argument("--source-root", type=Path, default=SOURCE_ROOT)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    try:
        if options.command == "hash":
            print(
                source_hash(
                    options.target, options.source_root, options.runtime, options.architecture
                )
            )
            return 0
        if options.command == "layer":
            if options.output.is_file() and options.expect_hash:
                # Named after its hash by Terraform, written atomically: already built.
                _check_hash(
                    options.expect_hash,
                    source_hash(
                        "layer", options.source_root, options.runtime, options.architecture
                    ),
                    "layer package",
                )
                artifact = _artifact(options.output, compiles_for(options.runtime))
            else:
                artifact = build_layer(
                    options.source_root,
                    options.output,
                    options.runtime,
                    options.architecture,
                    options.expect_hash,
                )
        else:
            artifact = build_function(
                options.source_root, options.output, options.runtime, options.expect_hash
            )
        _note_bytecode(options.runtime)
        print(
            f"layers/build.py: {artifact.path} {artifact.size} bytes sha256={artifact.sha256.hex()}"
            f"{' with bytecode' if artifact.bytecode else ''}",
            file=sys.stderr,
        )
        return 0
    except (BuildError, OSError, py_compile.PyCompileError) as error:
        print(f"layers/build.py: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
