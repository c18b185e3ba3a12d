"""layers/build.py packages reproducibly, and the layer's requirements are exact pins."""

from __future__ import annotations

import importlib.util
import re
import sys
import zipfile
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path
from types import ModuleType

import pytest

from sim.terraform import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "layers" / "requirements.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]+\])?==([0-9][0-9A-Za-z.+-]*)$")
PROVIDED_BY_RUNTIME = {"boto3", "botocore"}


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


def _pins() -> dict[str, str]:
    pins = {}
    for raw in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        assert match, f"{line!r} is not an exact pin (name==version)"
        pins[_canonical(match.group(1))] = match.group(3)
    return pins


def _fake_source(root: Path) -> Path:
    (root / "layers").mkdir(parents=True)
    (root / "layers" / "requirements.txt").write_text("demo==1.0\n")
    package = root / "serverless"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core.py").write_text("VALUE = 1\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "core.cpython-313.pyc").write_bytes(b"junk")
    handlers = root / "handlers"
    handlers.mkdir()
    (handlers / "__init__.py").write_text("")
    (handlers / "task_events.py").write_text("def handler(event, context):\n    return {}\n")
    return root


def _fake_installer(requirements: Path, target: Path, architecture: str, version: str) -> None:
    (target / "demo").mkdir()
    (target / "demo" / "__init__.py").write_text(f"ARCH = {architecture!r}\n")
    (target / "bin").mkdir()
    (target / "bin" / "demo").write_text("#!/home/someone/python\n")


def test_given_the_layer_requirements_when_read_then_every_line_is_an_exact_pin() -> None:
    pins = _pins()

    assert "aws-lambda-powertools" in pins
    assert "aws-xray-sdk" in pins  # the [tracer] extra
    assert PROVIDED_BY_RUNTIME.isdisjoint(pins)


def test_given_the_layer_pins_when_installed_without_deps_then_the_closure_is_complete() -> None:
    pins = _pins()

    for name in pins:
        try:
            declared = requires(name) or []
        except PackageNotFoundError:
            pytest.fail(f"{name} is pinned for the layer but not installed in the dev venv")
        for requirement in declared:
            if "extra ==" in requirement:
                continue
            dependency = _canonical(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0])
            assert dependency in pins or dependency in PROVIDED_BY_RUNTIME, (
                f"{name} needs {dependency}, which the layer neither pins nor gets from Lambda"
            )


def test_given_the_same_tree_when_zipped_twice_then_the_bytes_are_identical(tmp_path: Path) -> None:
    root = _fake_source(tmp_path / "src")
    entries = build.collect_tree(root / "serverless", "python/serverless/")

    build.write_deterministic_zip(entries, tmp_path / "a.zip")
    for path in (root / "serverless").rglob("*.py"):
        path.touch()  # new mtimes must not matter
    build.write_deterministic_zip(list(reversed(entries)), tmp_path / "b.zip")

    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


def test_given_a_source_change_when_zipped_then_the_hash_changes(tmp_path: Path) -> None:
    root = _fake_source(tmp_path / "src")
    before = build.build_function(root, tmp_path / "out")

    (root / "handlers" / "task_events.py").write_text("def handler(e, c):\n    return 1\n")
    after = build.build_function(root, tmp_path / "out")

    assert before.sha256 != after.sha256
    assert build.build_function(root, tmp_path / "out").sha256 == after.sha256


def test_given_the_function_target_when_built_then_it_holds_only_the_handlers(
    tmp_path: Path,
) -> None:
    root = _fake_source(tmp_path / "src")

    result = build.run_query(
        {"target": "function", "source_root": str(root), "output_dir": str(tmp_path / "out")}
    )

    with zipfile.ZipFile(tmp_path / "out" / "function.zip") as archive:
        assert archive.namelist() == ["handlers/__init__.py", "handlers/task_events.py"]
    assert result["path"] == f"{tmp_path / 'out'}/function.zip"
    assert set(result) == {"path", "base64sha256", "sha256", "size"}


def test_given_the_layer_target_when_built_then_it_holds_deps_and_the_package_under_python(
    tmp_path: Path,
) -> None:
    root = _fake_source(tmp_path / "src")

    result = build.run_query(
        {
            "target": "layer",
            "architecture": "x86_64",
            "python_version": "3.13",
            "source_root": str(root),
            "output_dir": str(tmp_path / "out"),
        },
        installer=_fake_installer,
    )

    with zipfile.ZipFile(tmp_path / "out" / "layer-x86_64-py3.13.zip") as archive:
        names = archive.namelist()
        assert archive.read("python/demo/__init__.py") == b"ARCH = 'x86_64'\n"
    assert names == [
        "python/demo/__init__.py",
        "python/serverless/__init__.py",
        "python/serverless/core.py",
        "python/serverless/sub/__init__.py",
    ]
    assert result["path"].endswith("layer-x86_64-py3.13.zip")


def test_given_unchanged_layer_inputs_when_built_again_then_the_installer_is_not_rerun(
    tmp_path: Path,
) -> None:
    root = _fake_source(tmp_path / "src")
    calls: list[str] = []

    def installer(requirements: Path, target: Path, architecture: str, version: str) -> None:
        calls.append(architecture)
        _fake_installer(requirements, target, architecture, version)

    first = build.build_layer(root, tmp_path / "out", "arm64", "3.13", installer=installer)
    second = build.build_layer(root, tmp_path / "out", "arm64", "3.13", installer=installer)
    (root / "serverless" / "core.py").write_text("VALUE = 2\n")
    third = build.build_layer(root, tmp_path / "out", "arm64", "3.13", installer=installer)

    assert calls == ["arm64", "arm64"]
    assert first.sha256 == second.sha256 != third.sha256


@pytest.mark.parametrize(
    ("architecture", "version"), [("sparc", "3.13"), ("arm64", "3"), ("arm64", "three")]
)
def test_given_bad_build_parameters_when_building_the_layer_then_it_is_refused(
    tmp_path: Path, architecture: str, version: str
) -> None:
    root = _fake_source(tmp_path / "src")

    with pytest.raises(build.BuildError):
        build.build_layer(root, tmp_path / "out", architecture, version, installer=_fake_installer)


def test_given_the_terraform_protocol_when_run_then_stdout_is_a_json_object_of_strings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import json

    root = _fake_source(tmp_path / "src")
    query = {"target": "function", "source_root": str(root), "output_dir": str(tmp_path / "o")}
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(query)))

    assert build.main([]) == 0
    result = json.loads(capsys.readouterr().out)
    assert all(isinstance(value, str) for value in result.values())
    assert Path(result["path"]).is_file()


def test_given_an_unknown_target_when_run_then_it_fails_with_a_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO('{"target": "everything"}'))

    assert build.main([]) == 1
    assert "target must be" in capsys.readouterr().err
