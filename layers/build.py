#!/usr/bin/env python3
"""Package the Lambda layer and the function code, deterministically (stdlib only).

Terraform runs this script through the ``external`` data source during plan, so
``terraform apply`` needs no separate build step. Two targets:

``layer``
    ``python/`` holding the pinned dependencies of ``layers/requirements.txt`` (pip,
    wheels for the Lambda architecture and Python version, no dependency resolution)
    and a copy of the ``serverless`` package.
``function``
    ``handlers/`` only: the code the handler strings point at.

The zips are byte-for-byte reproducible: entries sorted, fixed timestamps and
permissions, stored uncompressed (so the bytes do not depend on the local zlib), no
``__pycache__``. The SHA-256 of the zip (base64, the form ``source_code_hash`` expects)
therefore only changes when an input changes, and an unchanged source does not redeploy.
The layer is rebuilt only when its inputs (requirements, architecture, Python version,
``serverless/`` sources, this script) change; otherwise the previous zip is reused.

Terraform protocol: a JSON object of strings on stdin (``target``, ``source_root``,
``output_dir``, and for the layer ``architecture`` and ``python_version``); a JSON object
of strings on stdout (``path``, ``base64sha256``, ``sha256``, ``size``). Paths are used
as given (relative to Terraform's working directory), so the state holds stable paths.

By hand::

    python3 layers/build.py layer --architecture arm64 --python-version 3.13
    python3 layers/build.py function
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Bump when the archive layout or the zip format changes: forces a rebuild.
BUILD_FORMAT = "1"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
EXCLUDED_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
EXCLUDED_NAMES = frozenset({".DS_Store"})
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
LAYER_PACKAGE = "serverless"
FUNCTION_PACKAGE = "handlers"
# pip --target puts console scripts (with this machine's interpreter path) in bin/.
LAYER_EXCLUDED_TOP = frozenset({"bin"})

Installer = Callable[[Path, Path, str, str], None]


class BuildError(Exception):
    """A build step failed; the message says which and why."""


@dataclass(frozen=True)
class Artifact:
    path: str
    sha256: bytes
    size: int

    def as_result(self) -> dict[str, str]:
        return {
            "path": self.path,
            "base64sha256": base64.b64encode(self.sha256).decode("ascii"),
            "sha256": self.sha256.hex(),
            "size": str(self.size),
        }


# ------------------------------------------------------------------------------ zipping
def collect_tree(root: Path, prefix: str, skip_top: Iterable[str] = ()) -> list[tuple[str, Path]]:
    """``(archive name, file)`` for every file under ``root``, sorted, caches excluded."""
    skipped = frozenset(skip_top)
    entries: list[tuple[str, Path]] = []
    for directory, dirnames, filenames in os.walk(root):
        relative_dir = Path(directory).relative_to(root)
        dirnames[:] = sorted(
            name
            for name in dirnames
            if name not in EXCLUDED_DIRS and not (relative_dir == Path(".") and name in skipped)
        )
        for name in filenames:
            if name in EXCLUDED_NAMES or name.endswith(EXCLUDED_SUFFIXES):
                continue
            if relative_dir == Path(".") and name in skipped:
                continue
            relative = (relative_dir / name).as_posix()
            entries.append((f"{prefix}{relative}" if prefix else relative, Path(directory, name)))
    return sorted(entries)


def write_deterministic_zip(entries: Iterable[tuple[str, Path]], destination: Path) -> None:
    """Write ``entries`` to ``destination`` so equal inputs give identical bytes."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    seen: set[str] = set()
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, source in sorted(entries):
            if name in seen:
                raise BuildError(f"duplicate archive entry {name!r}")
            seen.add(name)
            executable = os.stat(source).st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3  # Unix, so external_attr carries the permissions
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, source.read_bytes())
    partial.replace(destination)


def sha256_file(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def _artifact(path: Path, shown_as: str) -> Artifact:
    return Artifact(path=shown_as, sha256=sha256_file(path), size=path.stat().st_size)


# ---------------------------------------------------------------------------- installing
def pip_install(requirements: Path, target: Path, architecture: str, python_version: str) -> None:
    """Install the pinned wheels for the Lambda platform into ``target``."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
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
    # stdout belongs to the Terraform protocol: send pip's chatter to stderr.
    environment = {**os.environ, "PIP_ROOT_USER_ACTION": "ignore"}
    completed = subprocess.run(command, stdout=sys.stderr, env=environment, check=False)
    if completed.returncode != 0:
        raise BuildError(f"pip install failed ({completed.returncode}): {' '.join(command)}")


def skip_install(requirements: Path, target: Path, architecture: str, python_version: str) -> None:
    """Installer that installs nothing (offline checks of the packaging itself)."""


# ------------------------------------------------------------------------------ targets
def _validate(architecture: str, python_version: str) -> None:
    if architecture not in PLATFORMS:
        raise BuildError(f"architecture must be one of {sorted(PLATFORMS)}, got {architecture!r}")
    parts = python_version.split(".")
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        raise BuildError(f"python_version must look like 3.13, got {python_version!r}")


def layer_fingerprint(
    source_root: Path, architecture: str, python_version: str, installer: Installer = pip_install
) -> str:
    """SHA-256 over everything the layer is built from (the installer included)."""
    digest = hashlib.sha256()
    how = getattr(installer, "__qualname__", repr(installer))
    digest.update(f"format={BUILD_FORMAT};arch={architecture};py={python_version};{how}\n".encode())
    digest.update(Path(__file__).read_bytes())
    digest.update((source_root / "layers" / "requirements.txt").read_bytes())
    for name, path in collect_tree(source_root / LAYER_PACKAGE, f"{LAYER_PACKAGE}/"):
        digest.update(name.encode() + b"\0" + sha256_file(path))
    return digest.hexdigest()


def build_layer(
    source_root: Path,
    output_dir: Path,
    architecture: str,
    python_version: str,
    installer: Installer = pip_install,
    shown_dir: str | None = None,
) -> Artifact:
    """Build (or reuse) ``layer-<arch>-py<version>.zip`` under ``output_dir``."""
    _validate(architecture, python_version)
    package = source_root / LAYER_PACKAGE
    if not (package / "__init__.py").is_file():
        raise BuildError(f"{package} is not a Python package")
    stem = f"layer-{architecture}-py{python_version}"
    archive = output_dir / f"{stem}.zip"
    stamp = output_dir / f"{stem}.inputs"
    shown = f"{shown_dir if shown_dir is not None else output_dir.as_posix()}/{stem}.zip"
    fingerprint = layer_fingerprint(source_root, architecture, python_version, installer)
    if archive.is_file() and stamp.is_file() and stamp.read_text().strip() == fingerprint:
        return _artifact(archive, shown)

    staging = output_dir / stem
    if staging.exists():
        shutil.rmtree(staging)
    site = staging / "python"
    site.mkdir(parents=True)
    installer(source_root / "layers" / "requirements.txt", site, architecture, python_version)
    if (site / LAYER_PACKAGE).exists():
        raise BuildError(f"a dependency installed a top-level {LAYER_PACKAGE!r} package")
    shutil.copytree(package, site / LAYER_PACKAGE, ignore=_ignore_caches)
    write_deterministic_zip(collect_tree(site, "python/", skip_top=LAYER_EXCLUDED_TOP), archive)
    stamp.write_text(fingerprint + "\n")
    return _artifact(archive, shown)


def build_function(source_root: Path, output_dir: Path, shown_dir: str | None = None) -> Artifact:
    """Build ``function.zip`` (``handlers/`` only) under ``output_dir``."""
    package = source_root / FUNCTION_PACKAGE
    if not (package / "__init__.py").is_file():
        raise BuildError(f"{package} is not a Python package")
    archive = output_dir / "function.zip"
    write_deterministic_zip(collect_tree(package, f"{FUNCTION_PACKAGE}/"), archive)
    shown = f"{shown_dir if shown_dir is not None else output_dir.as_posix()}/function.zip"
    return _artifact(archive, shown)


def _ignore_caches(directory: str, names: list[str]) -> set[str]:
    return {
        name
        for name in names
        if name in EXCLUDED_DIRS or name in EXCLUDED_NAMES or name.endswith(EXCLUDED_SUFFIXES)
    }


# ---------------------------------------------------------------------------- interfaces
def run_query(query: dict[str, str], installer: Installer = pip_install) -> dict[str, str]:
    """Terraform's external data source: query in, result out (all strings)."""
    target = query.get("target", "")
    source_root = Path(query.get("source_root") or Path(__file__).resolve().parent.parent)
    output_text = query.get("output_dir") or (source_root / "layers" / "build").as_posix()
    output_dir = Path(output_text)
    if target == "layer":
        artifact = build_layer(
            source_root,
            output_dir,
            query.get("architecture", "arm64"),
            query.get("python_version", "3.13"),
            installer=installer,
            shown_dir=output_text,
        )
    elif target == "function":
        artifact = build_function(source_root, output_dir, shown_dir=output_text)
    else:
        raise BuildError(f"target must be 'layer' or 'function', got {target!r}")
    return artifact.as_result()


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if not arguments:  # Terraform: JSON on stdin
            query = json.load(sys.stdin)
            if not isinstance(query, dict):
                raise BuildError("the query must be a JSON object")
            print(json.dumps(run_query({str(k): str(v) for k, v in query.items()})))
            return 0
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("target", choices=["layer", "function"])
        parser.add_argument("--architecture", default="arm64", choices=sorted(PLATFORMS))
        parser.add_argument("--python-version", default="3.13")
        parser.add_argument("--source-root", default="")
        parser.add_argument("--output-dir", default="")
        parser.add_argument(
            "--skip-install", action="store_true", help="package without pip (offline)"
        )
        options = parser.parse_args(arguments)
        result = run_query(
            {
                "target": options.target,
                "architecture": options.architecture,
                "python_version": options.python_version,
                "source_root": options.source_root,
                "output_dir": options.output_dir,
            },
            installer=skip_install if options.skip_install else pip_install,
        )
        print(json.dumps(result, indent=2))
        return 0
    except (BuildError, OSError, ValueError) as error:
        print(f"layers/build.py: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
