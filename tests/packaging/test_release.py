"""``make release`` (tools/release.py): versioned artifacts from the one version, built
twice with identical checksums, the CLI in the wheel and never in the function package.

The layers are left out here: they download their wheels (``make release-check`` builds
everything twice; tests/terraform/test_layer_build.py builds a layer twice offline).
"""

from __future__ import annotations

import hashlib
import re
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.locks import ROOT, pyproject
from tools import release

THIS_RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
PLAN = release.Plan(runtimes=(THIS_RUNTIME,), architectures=(), targets=("function", "wheel"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    dist = tmp_path_factory.mktemp("dist")
    return dist, release.build(dist, PLAN)


def test_given_the_version_file_when_read_then_it_is_the_projects_one_version() -> None:
    version = release.read_version()

    assert pyproject()["project"]["dynamic"] == ["version"]
    assert pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {"file": "VERSION"}
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[?{re.escape(version)}\]?", changelog, re.MULTILINE), (
        f"CHANGELOG.md has no section for {version}"
    )


def test_given_a_malformed_version_when_read_then_it_is_refused(tmp_path: Path) -> None:
    (tmp_path / "VERSION").write_text("v1.0\n")

    with pytest.raises(release.ReleaseError, match="not a version"):
        release.read_version(tmp_path)


def test_given_a_release_when_built_then_artifacts_carry_the_version_and_checksums(
    built: tuple[Path, dict[str, str]],
) -> None:
    dist, sums = built
    version = release.read_version()

    assert set(sums) == {
        release.function_zip_name(version, THIS_RUNTIME),
        release.wheel_name(version),
    }
    assert release.read_checksums(dist) == sums
    for name, digest in sums.items():
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest


def test_given_the_same_checkout_when_released_twice_then_the_checksums_are_identical(
    built: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    _, first = built

    second = release.build(tmp_path / "again", PLAN)

    assert second == first


def test_given_the_release_when_listed_then_the_cli_is_in_the_wheel_not_the_function_zip(
    built: tuple[Path, dict[str, str]],
) -> None:
    dist, _ = built
    version = release.read_version()

    with zipfile.ZipFile(dist / release.function_zip_name(version, THIS_RUNTIME)) as archive:
        function = archive.namelist()
    with zipfile.ZipFile(dist / release.wheel_name(version)) as archive:
        wheel = archive.namelist()
    assert "handlers/sweeper.py" in function
    assert not [name for name in function if name.startswith("serverless/cli/")]
    assert {"serverless/cli/app.py", "serverless/cli/aws/ecs.py"} <= set(wheel)
