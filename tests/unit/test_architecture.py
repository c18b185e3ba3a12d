"""Architecture rules, checked on the source with ast: layering, module hygiene, contracts."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from serverless.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "serverless"
HANDLERS = ROOT / "handlers"
CONTRACTS = ROOT / "docs" / "contracts.md"
SETTINGS = PACKAGE / "settings.py"

MODULES = sorted(PACKAGE.rglob("*.py"))
CLI_ADAPTERS = PACKAGE / "cli" / "aws"
CORE = [
    p
    for p in MODULES
    if "adapters" not in p.relative_to(PACKAGE).parts
    and CLI_ADAPTERS not in p.parents
    and p != PACKAGE / "app.py"
]
HANDLER_MODULES = sorted(p for p in HANDLERS.glob("*.py") if p.name != "__init__.py")
DOMAIN = PACKAGE / "domain"
ADAPTERS = PACKAGE / "adapters"
CLI = PACKAGE / "cli"
#: The code the two functions run: the package without the operator CLI, and the handlers.
FUNCTION_MODULES = [p for p in MODULES if CLI not in p.parents] + HANDLER_MODULES
AWS_SDK = {"boto3", "botocore"}
HANDLER_ALLOWED = {"serverless.app", "serverless.observability", "serverless.settings"}


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def imported(path: Path) -> set[str]:
    """Every module name ``path`` imports, at any depth of the file (absolute names)."""
    names: set[str] = set()
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{rel(path)}: relative import"
            names.add(node.module or "")
    return names


def test_given_source_tree_when_listed_then_core_and_handlers_are_found() -> None:
    core = {rel(p) for p in CORE}
    assert "serverless/sweep/run.py" in core
    assert "serverless/app.py" not in core
    assert not any(p.startswith("serverless/adapters") for p in core)
    assert {p.name for p in HANDLER_MODULES} == {"sweeper.py", "task_events.py"}


@pytest.mark.parametrize("path", CORE, ids=rel)
def test_given_core_module_when_imports_inspected_then_no_aws_sdk(path: Path) -> None:
    offenders = {n for n in imported(path) if n.split(".")[0] in AWS_SDK}
    assert offenders == set(), f"{rel(path)} imports {offenders}; only adapters may"


@pytest.mark.parametrize("path", MODULES + HANDLER_MODULES, ids=rel)
def test_given_any_function_module_when_imports_inspected_then_no_boto3(path: Path) -> None:
    # Clients come from botocore; boto3 would add s3transfer and resources to every cold start.
    assert not {n for n in imported(path) if n.split(".")[0] == "boto3"}


def test_given_import_checker_when_fed_an_sdk_import_then_it_detects_it(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from botocore.exceptions import ClientError\n")
    assert "botocore.exceptions" in imported(probe)


@pytest.mark.parametrize("path", HANDLER_MODULES, ids=rel)
def test_given_handler_when_imports_inspected_then_only_app_observability_settings_powertools(
    path: Path,
) -> None:
    for name in imported(path):
        top = name.split(".")[0]
        if top == "serverless":
            assert name in HANDLER_ALLOWED, f"{rel(path)} imports {name}"
        elif top == "aws_lambda_powertools" or name == "__future__":
            continue
        else:
            assert top in sys.stdlib_module_names, f"{rel(path)} imports {name}"
            assert top not in AWS_SDK


@pytest.mark.parametrize("path", MODULES + HANDLER_MODULES, ids=rel)
def test_given_module_when_inspected_then_future_annotations_and_all_defined(path: Path) -> None:
    module = tree(path)
    futures = {
        alias.name
        for node in module.body
        if isinstance(node, ast.ImportFrom) and node.module == "__future__"
        for alias in node.names
    }
    assert "annotations" in futures, f"{rel(path)} lacks `from __future__ import annotations`"
    exported = [
        node
        for node in module.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    ]
    assert exported, f"{rel(path)} defines no __all__"
    names = ast.literal_eval(exported[0].value)
    defined = {
        n.id
        for node in ast.walk(module)
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for n in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(n, ast.Name)
    }
    defined |= {
        node.name
        for node in module.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
    }
    defined |= {
        (alias.asname or alias.name).split(".")[0]
        for node in module.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    missing = [n for n in names if n not in defined]
    assert missing == [], f"{rel(path)}: __all__ names undefined {missing}"


def env_var_names() -> dict[str, str]:
    """Module-level ``NAME = "NAME"`` constants of settings.py: the environment variables."""
    names: dict[str, str] = {}
    for node in tree(SETTINGS).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and re.fullmatch(r"[A-Z][A-Z0-9_]*", node.value.value)
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node.value.value
    return names


def test_given_settings_module_when_parsed_then_all_twenty_four_variables_found() -> None:
    assert set(env_var_names().values()) == {
        "TABLE_NAME",
        "TAG_PREFIX",
        "DEFAULT_WAIT_SECONDS",
        "SWEEP_HORIZON_SECONDS",
        "LEASE_SECONDS",
        "TAG_CACHE_SECONDS",
        "RECORD_RETENTION_SECONDS",
        "DRY_RUN",
        "CONFIRM_AFTER_SECONDS",
        "SWEEPER_FUNCTION_NAME",
        "EARLY_START_BELOW_SECONDS",
        "DECISION_MAX_AGE_SECONDS",
        "BACKSTOP_ROUND_MINUTES",
        "CLUSTER_ARNS",
        "EXEC_ENABLED",
        "SSM_SIGNAL_ENABLED",
        "ESCALATE_AFTER_SECONDS",
        "STOP_SIGNAL",
        "STOP_COMMAND",
        "MEMBER_ACCOUNT_IDS",
        "MEMBER_ROLE_ARN_TEMPLATE",
        "MEMBER_EXTERNAL_ID",
        "EXEC_CALLS_PER_SECOND",
        "SSM_COMMANDS_PER_SECOND",
    }


@pytest.mark.parametrize("name", sorted(set(env_var_names().values())))
def test_given_env_var_in_settings_when_contracts_read_then_documented(name: str) -> None:
    assert f"`{name}`" in CONTRACTS.read_text()


def contract_defaults() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in CONTRACTS.read_text().splitlines():
        match = re.match(r"^\| `([A-Z_]+)` \| (yes|no) \| ([^|]+) \|", line)
        if match:
            rows[match.group(1)] = match.group(3).strip().strip("`")
    return rows


@pytest.mark.parametrize("name", sorted(set(env_var_names().values()) - {"TABLE_NAME"}))
def test_given_documented_default_when_compared_then_it_is_the_loaded_default(name: str) -> None:
    documented = contract_defaults()[name]
    loaded = getattr(load_settings({"TABLE_NAME": "t"}), name.lower())
    if isinstance(loaded, frozenset):  # a comma-separated list
        expected = ",".join(sorted(loaded))
    elif loaded is None:  # absent
        expected = ""
    else:
        expected = str(loaded).lower() if isinstance(loaded, bool) else str(loaded)
    assert documented == expected


@pytest.mark.parametrize("path", [p for p in MODULES + HANDLER_MODULES if p != SETTINGS], ids=rel)
def test_given_other_module_when_inspected_then_it_does_not_spell_env_var_names(
    path: Path,
) -> None:
    spelled = {
        node.value
        for node in ast.walk(tree(path))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    assert spelled & set(env_var_names().values()) == set()


# -- folder rules --------------------------------------------------------------------------------


def module_name(path: Path) -> str:
    """The dotted name of a module file under ROOT (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_stdlib(name: str) -> bool:
    return name == "__future__" or name.split(".", maxsplit=1)[0] in sys.stdlib_module_names


@pytest.mark.parametrize("path", sorted(DOMAIN.rglob("*.py")), ids=rel)
def test_given_domain_module_when_imports_inspected_then_only_domain_and_stdlib(
    path: Path,
) -> None:
    offenders = {
        n for n in imported(path) if not (n.startswith("serverless.domain") or is_stdlib(n))
    }
    assert offenders == set(), f"{rel(path)} imports {offenders}; the domain imports nothing"


@pytest.mark.parametrize("path", FUNCTION_MODULES, ids=rel)
def test_given_function_module_when_imports_inspected_then_no_cli_and_no_simulator(
    path: Path,
) -> None:
    offenders = {n for n in imported(path) if n.split(".")[:2] == ["serverless", "cli"]}
    offenders |= {n for n in imported(path) if n.split(".")[0] == "sim"}
    assert offenders == set(), f"{rel(path)} imports {offenders}"


@pytest.mark.parametrize("path", sorted(ADAPTERS.rglob("*.py")), ids=rel)
def test_given_adapter_when_imports_inspected_then_no_cli(path: Path) -> None:
    assert not {n for n in imported(path) if n.split(".")[:2] == ["serverless", "cli"]}


def test_given_function_modules_when_listed_then_no_cli_module_among_them() -> None:
    names = {module_name(p) for p in FUNCTION_MODULES}
    assert "serverless.sweep.decide" in names
    assert "handlers.sweeper" in names
    assert not {n for n in names if n.startswith("serverless.cli")}


# -- import cycles -------------------------------------------------------------------------------


def module_level_imports(path: Path) -> set[str]:
    """Modules ``path`` imports when it is loaded, or when a type checker reads it: every
    import outside function bodies (``if TYPE_CHECKING:`` blocks included), with ``from
    package import module`` resolved to the module."""
    names: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If | ast.Try | ast.With | ast.ClassDef):
                for field in ("body", "orelse", "finalbody"):
                    visit(getattr(node, field, []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(tree(path).body)
    return names


def import_graph(paths: list[Path]) -> dict[str, set[str]]:
    """Module -> the modules of ``paths`` it imports (at module level)."""
    modules = {module_name(p): p for p in paths}
    return {
        name: module_level_imports(path) & set(modules) - {name} for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_given_package_when_import_graph_built_then_no_import_cycle() -> None:
    graph = import_graph(MODULES + HANDLER_MODULES)
    assert graph["serverless.sweep.run"] >= {"serverless.sweep.batch", "serverless.sweep.report"}
    assert cycles(graph) == []


def test_given_type_checking_import_cycle_when_graph_built_then_it_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("from pkg.b import B\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import c\n"
    )
    (package / "c.py").write_text("import pkg.a\n\ndef f():\n    from pkg import b\n")
    graph = {
        f"pkg.{p.stem}": {
            n for n in module_level_imports(p) if n.startswith("pkg.") and n.count(".") == 1
        }
        for p in package.glob("*.py")
    }
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert cycles({"pkg.a": {"pkg.b"}, "pkg.b": set()}) == []
