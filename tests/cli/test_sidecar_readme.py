"""The sidecar as its own README configures it (seeds 000 and 001 of the sidecar's README):
recognised without flags, migrated into a task definition ECS registers, its permissions
listed per network mode; a named application container is refused; ``-o`` keeps the input."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from serverless.cli.app import main
from serverless.cli.sidecar import SIDECAR_PERMISSIONS, detect, marks
from tests.cli.conftest import Account, Result

FIXTURES = Path(__file__).parent / "fixtures"
#: The three task definitions of the sidecar's README (first version; later version).
README_DEFINITIONS = {
    "sidecar-readme-first-fargate.json": ("awsvpc", "120", ["DEREGISTRATION_WAIT"]),
    "sidecar-readme-fargate.json": (
        "awsvpc",
        "120",
        ["image public.ecr.aws/x3l4a9v5/nlb-sidecar-for-ecs", "DEREGISTRATION_WAIT"],
    ),
    "sidecar-readme-bridge.json": (
        "bridge",
        "180",
        [
            "image public.ecr.aws/x3l4a9v5/nlb-sidecar-for-ecs",
            "DEREGISTRATION_WAIT",
            "POLLING_FREQUENCY",
            "TARGET_CONTAINER_NAME",
        ],
    ),
}


def _run(*argv: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = main(["migrate-sidecar", *argv], stdout=out, stderr=err, environ={})
    return Result(code, out.getvalue(), err.getvalue())


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return document


@pytest.mark.parametrize("fixture", sorted(README_DEFINITIONS))
def test_given_a_readme_task_definition_when_migrated_without_flags_then_the_sidecar_is_found(
    fixture: str,
) -> None:
    mode, wait, recognised = README_DEFINITIONS[fixture]

    result = _run(str(FIXTURES / fixture), "--json")

    assert result.code == 0, result.err
    migration = json.loads(result.out)
    assert migration["sidecar"] == "sidecar"
    assert migration["recognised_by"] == ", ".join(recognised)
    assert migration["tags"] == {
        "drain-terminator:enabled": "true",
        "drain-terminator:wait-seconds": wait,
    }
    assert migration["removable_permissions"] == list(SIDECAR_PERMISSIONS[mode])
    assert [c["name"] for c in migration["taskDefinition"]["containerDefinitions"]] == [
        "nginx" if "first" in fixture else "web"
    ]


def test_given_the_bridge_definition_when_migrated_then_bridge_only_permissions_are_listed() -> (
    None
):
    result = _run(str(FIXTURES / "sidecar-readme-bridge.json"))

    assert result.code == 0, result.err
    for action in (
        "elasticloadbalancing:DescribeTargetHealth",
        "ecs:DescribeServices",
        "ecs:DescribeTasks",
        "elasticloadbalancing:DescribeTargetGroups",
        "ec2:DescribeInstances",
        "ecs:DescribeContainerInstances",
    ):
        assert action in result.out
    assert "only you can tell which ones the application needs" in result.out
    assert "arn:aws:iam::123456789012:role/ECSNLBSidecar" in result.out


def test_given_the_awsvpc_definition_when_migrated_then_no_bridge_only_permission_is_listed() -> (
    None
):
    result = _run(str(FIXTURES / "sidecar-readme-fargate.json"), "--json")

    permissions = json.loads(result.out)["removable_permissions"]
    assert "ec2:DescribeInstances" not in permissions
    assert "ecs:DescribeServices" in permissions


@pytest.mark.parametrize("fixture", sorted(README_DEFINITIONS))
def test_given_a_readme_definition_when_migrated_then_register_task_definition_accepts_it(
    account: Account, tmp_path: Path, fixture: str
) -> None:
    output = tmp_path / "out.json"
    assert _run(str(FIXTURES / fixture), "-o", str(output)).code == 0

    registered = account.ecs.register_task_definition(**json.loads(output.read_text()))

    definition = registered["taskDefinition"]
    assert definition["family"] == "web-application-example"
    assert [c["name"] for c in definition["containerDefinitions"]] == [
        "nginx" if "first" in fixture else "web"
    ]


def test_given_the_application_container_named_as_the_sidecar_when_migrated_then_refused() -> None:
    result = _run(str(FIXTURES / "sidecar-readme-fargate.json"), "--sidecar", "web")

    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert "container 'web' carries none of the sidecar's marks" in result.err
    assert "maps port 80" in result.err


def test_given_the_input_as_output_when_migrated_then_refused_and_the_input_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "td.json"
    original = (FIXTURES / "sidecar-readme-fargate.json").read_text()
    path.write_text(original)

    same = _run(str(path), "-o", str(path))
    relative = _run(str(path), "-o", str(tmp_path / "." / "td.json"))

    for result in (same, relative):
        assert result.code == 1
        assert "never overwrites its input" in result.err
    assert path.read_text() == original


def test_given_each_mark_alone_when_detected_then_the_container_is_the_sidecar() -> None:
    app = {"name": "app", "image": "app:1", "portMappings": [{"containerPort": 80}]}
    for mark in (
        {"image": "public.ecr.aws/x3l4a9v5/nlb-sidecar-for-ecs:alpine"},
        {"environment": [{"name": "DEREGISTRATION_WAIT", "value": "60"}]},
        {"environment": [{"name": "POLLING_FREQUENCY", "value": "5"}]},
        {"environment": [{"name": "TARGET_CONTAINER_NAME", "value": "app"}]},
    ):
        sidecar = {"name": "drain", "image": "drain:1", **mark}

        assert marks(sidecar)
        assert [name for name, _ in detect([app, sidecar])] == ["drain"]
        assert detect([app, {"name": "drain", "image": "drain:1"}]) == []
