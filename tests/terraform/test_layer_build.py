"""layers/build.py: packages are reproducible, hold what they should (and bytecode only
for the Python that runs it), agree with Terraform on their source hashes, and the
layer's requirements are exact, hash-pinned and complete."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
import zipfile
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path
from types import ModuleType

import pytest

from sim.terraform import REPO_ROOT, render_locals

REQUIREMENTS = REPO_ROOT / "layers" / "requirements.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]+\])?==([0-9][0-9A-Za-z.+-]*)$")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")
PROVIDED_BY_RUNTIME = {"boto3", "botocore"}
THIS_RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
OTHER_RUNTIME = "python3.13" if THIS_RUNTIME != "python3.13" else "python3.12"


def _load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layer_build", REPO_ROOT / "layers" / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["layer_build"] = module
    spec.loader.exec_module(module)
    return module


build = _load_build()


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes), continuation lines joined."""
    text = REQUIREMENTS.read_text(encoding="utf-8")
    lines = [line.split("#", 1)[0].strip() for line in text.replace("\\\n", " ").splitlines()]
    result = {}
    for line in filter(None, lines):
        requirement, *options = line.split()
        match = PIN.match(requirement)
        assert match, f"{requirement!r} is not an exact pin (name==version)"
        result[_canonical(match.group(1))] = (match.group(3), options)
    return result


def _fake_source(root: Path) -> Path:
    shutil.copytree(REPO_ROOT / "layers", root / "layers", ignore=shutil.ignore_patterns("build"))
    for package, files in {
        "serverless": {
            "__init__.py": "",
            "core.py": "VALUE = 1\n",
            "sub/__init__.py": "",
            "cli/__init__.py": "",
            "cli/aws/ecs.py": "CLIENT = None\n",
        },
        "handlers": {"__init__.py": "", "task_events.py": "def handler(e, c):\n    return {}\n"},
    }.items():
        for name, text in files.items():
            path = root / package / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    (root / "serverless" / "__pycache__").mkdir()
    (root / "serverless" / "__pycache__" / "core.cpython-313.pyc").write_bytes(b"stale")
    (root / "serverless" / "py.typed").write_text("")
    return root


def _fake_installer(requirements: Path, target: Path, architecture: str, version: str) -> None:
    (target / "demo").mkdir()
    (target / "demo" / "__init__.py").write_text(f"ARCH = {architecture!r}\n")
    (target / "bin").mkdir()
    (target / "bin" / "demo").write_text("#!/home/someone/python\n")
    powertools = target / "aws_lambda_powertools"
    for name in ("event_handler", "utilities/typing", "utilities/parser", "logging"):
        (powertools / name).mkdir(parents=True)
        (powertools / name / "__init__.py").write_text("")
    (powertools / "utilities" / "__init__.py").write_text("")


def test_given_the_layer_requirements_when_read_then_every_pin_carries_wheel_hashes() -> None:
    requirements = _requirements()

    assert {"aws-lambda-powertools", "aws-xray-sdk"} <= set(requirements)
    assert PROVIDED_BY_RUNTIME.isdisjoint(requirements)
    for name, (_, options) in requirements.items():
        assert options, f"{name} has no --hash (pip --require-hashes would refuse it)"
        assert all(HASH.match(option) for option in options), options
    # wrapt has compiled wheels: one per Python (3.11-3.13) and architecture.
    assert len(requirements["wrapt"][1]) == 6


def test_given_the_layer_pins_when_installed_without_deps_then_the_closure_is_complete() -> None:
    requirements = _requirements()

    for name in requirements:
        try:
            declared = requires(name) or []
        except PackageNotFoundError:
            pytest.fail(f"{name} is pinned for the layer but not installed in the dev venv")
        for requirement in declared:
            if "extra ==" in requirement:
                continue
            dependency = _canonical(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0])
            assert dependency in requirements or dependency in PROVIDED_BY_RUNTIME, (
                f"{name} needs {dependency}, which the layer neither pins nor gets from Lambda"
            )


def test_given_the_same_sources_when_built_twice_then_the_bytes_are_identical(
    tmp_path: Path,
) -> None:
    source = _fake_source(tmp_path / "src")

    first = build.build_function(source, tmp_path / "a.zip", THIS_RUNTIME)
    second = build.build_function(source, tmp_path / "b.zip", THIS_RUNTIME)

    assert first.sha256 == second.sha256
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_given_the_build_python_is_the_runtime_when_built_then_modules_carry_bytecode(
    tmp_path: Path,
) -> None:
    source = _fake_source(tmp_path / "src")
    artifact = build.build_function(source, tmp_path / "f.zip", THIS_RUNTIME)

    with zipfile.ZipFile(artifact.path) as archive:
        names = set(archive.namelist())
        pyc = archive.read(f"serverless/__pycache__/core.{sys.implementation.cache_tag}.pyc")
    sources = {"serverless/__init__.py", "serverless/core.py", "serverless/sub/__init__.py"}
    assert sources | {"handlers/__init__.py", "handlers/task_events.py"} <= names
    assert "serverless/py.typed" not in names  # *.py only, the set Terraform hashes
    assert not [name for name in names if name.startswith("serverless/cli/")]
    assert pyc != b"stale"  # compiled here, not the stale cache copied
    assert artifact.bytecode
    # unchecked-hash pyc (PEP 552): flags 0b01, no timestamp, never re-validated.
    assert int.from_bytes(pyc[4:8], "little") == 0b01


def test_given_another_runtime_when_built_then_the_package_holds_sources_only(
    tmp_path: Path,
) -> None:
    source = _fake_source(tmp_path / "src")
    artifact = build.build_function(source, tmp_path / "f.zip", OTHER_RUNTIME)

    with zipfile.ZipFile(artifact.path) as archive:
        assert not [name for name in archive.namelist() if name.endswith(".pyc")]
    assert not artifact.bytecode


def test_given_a_source_change_when_hashed_then_only_the_function_hash_changes(
    tmp_path: Path,
) -> None:
    source = _fake_source(tmp_path / "src")
    before = (
        build.source_hash("function", source, THIS_RUNTIME),
        build.source_hash("layer", source, THIS_RUNTIME, "arm64"),
    )
    (source / "serverless" / "core.py").write_text("VALUE = 2\n")
    after = (
        build.source_hash("function", source, THIS_RUNTIME),
        build.source_hash("layer", source, THIS_RUNTIME, "arm64"),
    )

    assert before[0] != after[0]
    assert before[1] == after[1]  # code edits never rebuild the layer


def test_given_a_cli_change_when_hashed_then_the_function_package_is_unchanged(
    tmp_path: Path,
) -> None:
    source = _fake_source(tmp_path / "src")
    before = build.source_hash("function", source, THIS_RUNTIME)

    (source / "serverless" / "cli" / "aws" / "ecs.py").write_text("CLIENT = 1\n")
    (source / "serverless" / "cli" / "new.py").write_text("")

    assert build.source_hash("function", source, THIS_RUNTIME) == before


def test_given_the_repository_when_the_function_package_is_built_then_it_holds_no_cli_module(
    tmp_path: Path,
) -> None:
    artifact = build.build_function(REPO_ROOT, tmp_path / "function.zip", THIS_RUNTIME)

    with zipfile.ZipFile(artifact.path) as archive:
        names = archive.namelist()
    assert {"handlers/sweeper.py", "handlers/task_events.py", "serverless/app.py"} <= set(names)
    assert not [name for name in names if name.startswith("serverless/cli/")]
    assert (REPO_ROOT / "serverless" / "cli" / "aws").is_dir()  # what is left out exists


def test_given_the_same_dependencies_when_the_layer_is_built_twice_then_the_bytes_are_identical(
    tmp_path: Path,
) -> None:
    source = _fake_source(tmp_path / "src")

    first, second = (
        build.build_layer(source, tmp_path / name, THIS_RUNTIME, "arm64", installer=_fake_installer)
        for name in ("a.zip", "b.zip")
    )

    assert first.sha256 == second.sha256


def test_given_the_module_alone_when_its_hashes_are_rendered_then_no_repository_is_found(
    tmp_path: Path,
) -> None:
    """Sourced by an absolute path or from a registry, Terraform copies terraform/ alone:
    the hashes are empty instead of a raw file error, and packaging.tf refuses the plan
    with a message (its precondition reads repository_present)."""
    shutil.copytree(REPO_ROOT / "terraform", tmp_path / "terraform")

    rendered = render_locals(
        ["variables.tf", "package_hashes.tf"],
        {
            "present": "local.repository_present",
            "function": "local.function_source_hash",
            "layer": "local.layer_source_hash",
        },
        module_dir=tmp_path / "terraform",
    )

    assert rendered == {"present": False, "function": "", "layer": ""}


def test_given_terraform_and_the_build_when_hashing_then_they_agree(tmp_path: Path) -> None:
    source = _fake_source(tmp_path / "src")
    shutil.copytree(REPO_ROOT / "terraform", source / "terraform")

    rendered = render_locals(
        ["variables.tf", "package_hashes.tf"],
        {"function": "local.function_source_hash", "layer": "local.layer_source_hash"},
        values={"runtime": "python3.12", "architecture": "x86_64"},
        module_dir=source / "terraform",
    )

    assert rendered["function"] == build.source_hash("function", source, "python3.12")
    assert rendered["layer"] == build.source_hash("layer", source, "python3.12", "x86_64")


def test_given_a_wrong_expected_hash_when_building_then_it_is_refused(tmp_path: Path) -> None:
    source = _fake_source(tmp_path / "src")

    with pytest.raises(build.BuildError, match="disagree"):
        build.build_function(source, tmp_path / "f.zip", THIS_RUNTIME, expect_hash="0" * 64)
    assert not (tmp_path / "f.zip").exists()


def test_given_the_layer_when_built_then_it_holds_dependencies_under_python_pruned(
    tmp_path: Path,
) -> None:
    source = _fake_source(tmp_path / "src")

    artifact = build.build_layer(
        source, tmp_path / "layer.zip", THIS_RUNTIME, "x86_64", installer=_fake_installer
    )

    with zipfile.ZipFile(artifact.path) as archive:
        names = set(archive.namelist())
    assert "python/demo/__init__.py" in names
    assert "python/aws_lambda_powertools/utilities/typing/__init__.py" in names
    assert "python/aws_lambda_powertools/logging/__init__.py" in names
    assert not [n for n in names if "event_handler" in n or "utilities/parser" in n]
    assert not [n for n in names if n.startswith("python/bin/")]
    assert not [n for n in names if n.startswith(("python/serverless", "python/handlers"))]


def test_given_an_unknown_runtime_when_run_then_it_fails_with_a_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        build.main(["function", "--runtime", "python2.7", "--output", "x.zip"])

    assert exited.value.code == 2
    assert "python2.7" in capsys.readouterr().err


def test_given_a_python_without_pip_when_the_layer_is_built_then_it_points_to_prebuilt_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find_spec = build.importlib.util.find_spec
    monkeypatch.setattr(
        build.importlib.util,
        "find_spec",
        lambda name, *args: None if name == "pip" else real_find_spec(name, *args),
    )

    with pytest.raises(build.BuildError, match="prebuilt_packages") as refused:
        build.pip_install(REQUIREMENTS, tmp_path, "arm64", "3.13")

    assert "does not have" in str(refused.value)
    assert not list(tmp_path.iterdir())  # nothing was attempted
