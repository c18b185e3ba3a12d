"""`drain-terminator migrate-sidecar`: tags for the sidecar's settings, a task definition
without it that RegisterTaskDefinition accepts."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from serverless.cli.app import main
from serverless.cli.sidecar import READ_ONLY_FIELDS
from tests.cli.conftest import Account, Result

FIXTURE = Path(__file__).parent / "fixtures" / "describe-task-definition-sidecar.json"


def _run(*argv: str, stdin: str = "") -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["migrate-sidecar", *argv], stdout=out, stderr=err, stdin=io.StringIO(stdin), environ={}
    )
    return Result(code, out.getvalue(), err.getvalue())


def _described() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(FIXTURE.read_text())
    return document


def test_given_describe_output_with_the_sidecar_when_migrated_then_wait_becomes_the_tag() -> None:
    result = _run(str(FIXTURE), "--json")

    assert result.code == 0, result.err
    migration = json.loads(result.out)
    assert migration["sidecar"] == "nlb-drain-sidecar"
    assert "DEREGISTRATION_WAIT" in migration["recognised_by"]
    assert migration["tags"] == {
        "drain-terminator:enabled": "true",
        "drain-terminator:wait-seconds": "120",
    }
    notes = " ".join(migration["notes"])
    assert "POLLING_FREQUENCY=30 is not needed" in notes
    assert "TARGET_CONTAINER_NAME is not needed" in notes
    assert "other sidecar variables dropped: AWS_REGION" in notes


def test_given_describe_output_when_migrated_then_the_sidecar_and_references_to_it_are_gone(
    tmp_path: Path,
) -> None:
    output = tmp_path / "websocket.json"

    result = _run(str(FIXTURE), "-o", str(output))

    assert result.code == 0, result.err
    definition = json.loads(output.read_text())
    names = [c["name"] for c in definition["containerDefinitions"]]
    assert names == ["app", "log-router"]
    app = definition["containerDefinitions"][0]
    assert app["dependsOn"] == [{"containerName": "log-router", "condition": "START"}]
    assert "volumesFrom" not in app
    assert not set(READ_ONLY_FIELDS) & set(definition)
    assert definition["tags"] == [{"key": "team", "value": "realtime"}]
    assert f"aws ecs register-task-definition --cli-input-json file://{output}" in result.out
    assert "drain-terminator tags --cluster CLUSTER --service SERVICE --wait 120" in result.out


def test_given_the_migrated_definition_when_registered_then_ecs_accepts_it(
    account: Account, tmp_path: Path
) -> None:
    output = tmp_path / "websocket.json"
    assert _run(str(FIXTURE), "-o", str(output)).code == 0

    registered = account.ecs.register_task_definition(**json.loads(output.read_text()))

    containers = registered["taskDefinition"]["containerDefinitions"]
    assert [c["name"] for c in containers] == ["app", "log-router"]


def test_given_a_bare_task_definition_on_stdin_when_migrated_then_it_is_read_the_same() -> None:
    bare = _described()["taskDefinition"]

    result = _run("-", "--json", stdin=json.dumps(bare))

    assert result.code == 0, result.err
    migration = json.loads(result.out)
    assert migration["tags"]["drain-terminator:wait-seconds"] == "120"
    assert "tags" not in migration["taskDefinition"]


def test_given_a_sidecar_without_its_settings_when_named_then_the_default_wait_applies(
    tmp_path: Path,
) -> None:
    document = _described()
    sidecar = document["taskDefinition"]["containerDefinitions"][1]
    sidecar["environment"] = []
    path = tmp_path / "td.json"
    path.write_text(json.dumps(document))

    unnamed = _run(str(path))
    by_name = _run(str(path), "--sidecar", "nlb-drain-sidecar", "--json")
    by_image = _run(str(path), "--sidecar-image", "nlb-drain-sidecar:", "--json")

    assert unnamed.code == 1
    assert "no container matched" in unnamed.err
    assert "--sidecar NAME" in unnamed.err
    for result in (by_name, by_image):
        assert result.code == 0, result.err
        migration = json.loads(result.out)
        assert migration["tags"] == {"drain-terminator:enabled": "true"}
        assert "default (120 s) applies" in " ".join(migration["notes"])


def test_given_two_containers_with_sidecar_settings_when_migrated_then_it_asks_which(
    tmp_path: Path,
) -> None:
    document = _described()
    containers = document["taskDefinition"]["containerDefinitions"]
    twin = copy.deepcopy(containers[1])
    twin["name"] = "second-sidecar"
    containers.append(twin)
    path = tmp_path / "td.json"
    path.write_text(json.dumps(document))

    result = _run(str(path))

    assert result.code == 1
    assert "2 containers matched" in result.err


def test_given_a_wait_that_is_not_whole_seconds_when_migrated_then_refused(tmp_path: Path) -> None:
    document = _described()
    document["taskDefinition"]["containerDefinitions"][1]["environment"][0]["value"] = "2m"
    path = tmp_path / "td.json"
    path.write_text(json.dumps(document))

    result = _run(str(path))

    assert result.code == 1
    assert "DEREGISTRATION_WAIT='2m' is not whole seconds" in result.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ('{"family": "x"}', "no containerDefinitions"),
        ("[1, 2]", "not a task definition"),
    ],
)
def test_given_a_bad_file_when_migrated_then_one_line_error_and_exit_1(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "td.json"
    if content is not None:
        path.write_text(content)

    result = _run(str(path))

    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert message in result.err
    assert "Traceback" not in result.err
