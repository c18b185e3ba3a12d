"""The simulator's folders are its architecture: each layer imports only the layers below it.

Bottom to top: the inputs (``sim.scenarios``, ``sim.terraform``) and the engine import
nothing else of the simulator; the AWS model (ECS under it) the engine and the inputs; the
judge the AWS model; the output the judge; the run (``sim.simulation``) everything but the
output; the programs (``demo``, ``bench``, ``chaos``) anything but one another.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[2] / "sim"

INPUTS = {"sim.scenarios", "sim.terraform"}
#: What each part may import from the simulator, besides itself.
ALLOWED: dict[str, set[str]] = {
    "sim.scenarios": set(),
    "sim.terraform": set(),
    "sim.engine": set(),
    "sim.aws.ecs": {"sim.engine", *INPUTS},
    "sim.aws": {"sim.engine", "sim.aws.ecs", *INPUTS},
    "sim.judge": {"sim.engine", "sim.aws", "sim.aws.ecs", *INPUTS},
    "sim.output": {"sim.engine", "sim.aws", "sim.aws.ecs", "sim.judge", *INPUTS},
    "sim.simulation": {"sim.engine", "sim.aws", "sim.aws.ecs", "sim.judge", *INPUTS},
}
PROGRAMS = {"sim.demo", "sim.bench", "sim.chaos"}
PARTS = sorted(ALLOWED, key=len, reverse=True)


def _module(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _part(module: str) -> str:
    """The layer ``module`` belongs to (its longest listed prefix), or the module itself."""
    for part in PARTS:
        if module == part or module.startswith(part + "."):
            return part
    return module


def _sim_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "sim" else [f"sim.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(name for name in names if name.startswith("sim."))
    return found


MODULES = sorted(path for path in SIM.rglob("*.py") if path.name != "__init__.py")


def test_given_the_simulator_when_listed_then_only_programs_and_their_inputs_sit_at_the_top() -> (
    None
):
    top = {_module(path) for path in SIM.glob("*.py") if path.name != "__init__.py"}
    assert top == PROGRAMS | INPUTS | {"sim.simulation"}
    assert {p.name for p in SIM.iterdir() if p.is_dir() and p.name != "__pycache__"} == {
        "engine",
        "aws",
        "judge",
        "output",
    }


@pytest.mark.parametrize("path", MODULES, ids=_module)
def test_given_a_simulator_module_when_its_imports_are_read_then_they_point_down_only(
    path: Path,
) -> None:
    module = _module(path)
    part = _part(module)
    wrong = set()
    for imported in _sim_imports(path):
        target = _part(imported)
        if part in PROGRAMS:
            ok = target not in PROGRAMS
        else:
            ok = target == part or target in ALLOWED[part]
        if not ok:
            wrong.add(imported)
    assert not wrong, f"{module} ({part}) imports {sorted(wrong)}"
