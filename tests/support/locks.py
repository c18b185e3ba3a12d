"""Read the hash-pinned lock files under requirements/ and the project's declared ranges."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)")


@dataclass(frozen=True)
class Pin:
    """One locked requirement: exact version, its hashes and its text block in the file."""

    name: NormalizedName
    version: str
    hashes: tuple[str, ...]
    block: str


def read_lock(path: Path) -> dict[NormalizedName, Pin]:
    """The pins of a pip-compile output file, keyed by canonical name."""
    pins: dict[NormalizedName, Pin] = {}
    block: list[str] = []  # the pin's lines as written, comments left out

    def close() -> None:
        if not block:
            return
        match = _PIN.match(block[0])
        if match is None:
            raise ValueError(f"{path.name}: not an exact pin: {block[0]!r}")
        text = "\n".join(block).rstrip(" \\")
        hashes = tuple(re.findall(r"--hash=(sha256:[0-9a-f]{64})", text))
        name = canonicalize_name(match["name"])
        pins[name] = Pin(name, match["version"], hashes, text)
        block.clear()

    for raw in path.read_text().splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if not raw[0].isspace():  # a new requirement; indented lines continue it
            close()
        block.append(raw.rstrip())
    close()
    return pins


def read_in(path: Path) -> list[Requirement]:
    """The requirements of a pip-compile input file (constraint lines left out)."""
    requirements = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            requirements.append(Requirement(line))
    return requirements


def pyproject() -> dict[str, object]:
    """pyproject.toml, parsed."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def declared(extra: str | None = None) -> list[Requirement]:
    """The project's runtime dependencies, or those of one of its extras."""
    project = pyproject()["project"]
    assert isinstance(project, dict)
    raw = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return [Requirement(text) for text in raw]


def build_requires() -> list[Requirement]:
    """The build backend's requirements ([build-system] requires)."""
    system = pyproject()["build-system"]
    assert isinstance(system, dict)
    return [Requirement(text) for text in system["requires"]]


def installed_closure(requirements: list[Requirement]) -> set[NormalizedName]:
    """Every distribution ``requirements`` pull in, walked through the installed metadata."""
    wanted: dict[NormalizedName, set[str]] = {}
    stack = list(requirements)
    while stack:
        requirement = stack.pop()
        name = canonicalize_name(requirement.name)
        extras = wanted.get(name)
        if extras is not None and set(requirement.extras) <= extras:
            continue
        extras = wanted.setdefault(name, set())
        extras.update(requirement.extras)
        for raw in importlib.metadata.distribution(name).requires or []:
            dependency = Requirement(raw)
            marker = dependency.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in {"", *extras}):
                stack.append(dependency)
    return set(wanted)
