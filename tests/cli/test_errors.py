"""Errors are one line on stderr with a non-zero exit, never a traceback."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from serverless.cli.app import main
from serverless.cli.terraform_outputs import from_outputs
from serverless.domain.errors import ConfigError
from tests.cli.conftest import Account, Result

REPO = Path(__file__).resolve().parents[2]


def _run(*argv: str, environ: dict[str, str] | None = None) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, environ=environ or {})
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No region, no credentials, no profile files, no instance metadata."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _one_line(result: Result) -> str:
    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err
    return result.err


@pytest.mark.usefixtures("no_aws_config")
def test_given_no_region_when_status_then_it_says_how_to_set_one() -> None:
    err = _one_line(_run("status", "--table", "ledger"))

    assert "no AWS region configured" in err
    assert "--region" in err


@pytest.mark.usefixtures("no_aws_config")
def test_given_no_credentials_when_status_then_it_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")

    err = _one_line(_run("status", "--table", "ledger"))

    assert "no AWS credentials found" in err


@pytest.mark.usefixtures("no_aws_config")
def test_given_an_unknown_profile_when_status_then_it_names_the_profile() -> None:
    err = _one_line(_run("status", "--table", "ledger", "--profile", "nope", "--region", "x"))

    assert "AWS profile not found: nope" in err


def test_given_no_table_anywhere_when_status_then_it_lists_the_three_ways() -> None:
    err = _one_line(_run("status"))

    assert "--table NAME, set TABLE_NAME, or --from-terraform DIR" in err


def test_given_a_table_that_does_not_exist_when_status_then_it_is_named(account: Account) -> None:
    err = _one_line(account.cli("status", "--table", "nope"))

    assert "ledger table 'nope' not found in region us-east-1" in err


def test_given_a_table_that_does_not_exist_when_explain_then_it_is_named(account: Account) -> None:
    err = _one_line(
        account.cli("explain", "arn:aws:ecs:us-east-1:1:task/prod/x", TABLE_NAME="nope")
    )

    assert "ledger table 'nope' not found" in err


def test_given_an_unknown_cluster_when_verify_then_one_line(account: Account) -> None:
    err = _one_line(account.cli("verify", "--cluster", "nope", "--service", "web", "--yes"))

    assert "not found" in err


def test_given_a_bad_option_when_run_then_usage_error_exit_2() -> None:
    result = _run("status", "--since", "soon")

    assert result.code == 2
    assert "not a duration" in result.err


def test_given_the_console_script_module_when_it_fails_then_no_traceback_reaches_the_user(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(empty), AWS_SHARED_CREDENTIALS_FILE=str(empty))

    done = subprocess.run(
        [sys.executable, "-m", "serverless.cli", "status", "--table", "ledger"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("drain-terminator: error: no AWS region configured")
    assert done.stderr.count("\n") == 1


# -- the ledger from Terraform outputs ----------------------------------------------------


def test_given_the_module_outputs_when_read_then_table_and_prefix_are_found() -> None:
    found = from_outputs(
        {
            "table_name": {"value": "prod-ledger", "type": "string"},
            "tag_prefix": {"value": "dt:", "type": "string"},
        }
    )

    assert (found.table_name, found.tag_prefix) == ("prod-ledger", "dt:")


def test_given_the_complete_example_outputs_when_read_then_the_nested_table_is_found() -> None:
    found = from_outputs({"terminator": {"value": {"table_name": "ex-ledger"}, "type": "object"}})

    assert (found.table_name, found.tag_prefix) == ("ex-ledger", None)


def test_given_outputs_without_a_table_when_read_then_it_lists_what_there_is() -> None:
    with pytest.raises(ConfigError, match="outputs: service_arn"):
        from_outputs({"service_arn": {"value": "arn"}})


def _fake_terraform(directory: Path, body: str) -> Path:
    script = directory / "terraform"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return directory


def test_given_a_terraform_directory_when_status_from_terraform_then_its_table_is_used(
    account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = {"table_name": {"value": "cli-test-ledger"}, "tag_prefix": {"value": "dt:"}}
    bin_dir = _fake_terraform(tmp_path, f"echo '{json.dumps(outputs)}'")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    result = account.cli("status", "--json", "--from-terraform", str(tmp_path), TABLE_NAME="")

    assert result.code == 0, result.err
    assert json.loads(result.out)["table"] == "cli-test-ledger"


def test_given_terraform_fails_when_from_terraform_then_its_last_error_line_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _fake_terraform(tmp_path, "echo 'Error: No outputs found' >&2; exit 1")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    err = _one_line(_run("status", "--from-terraform", str(tmp_path)))

    assert "terraform output failed" in err
    assert "No outputs found" in err


# -- AWS refusing the call ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ExpiredTokenException", "AWS rejected the credentials (ExpiredTokenException)"),
        ("AccessDeniedException", "Scan: AccessDeniedException: not allowed"),
    ],
)
def test_given_aws_refuses_the_call_when_status_then_one_line_says_why(
    code: str, message: str
) -> None:
    import botocore.session
    from botocore.stub import Stubber

    client = botocore.session.get_session().create_client(
        "dynamodb",
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    stubber = Stubber(client)
    stubber.add_client_error("scan", service_error_code=code, service_message="not allowed")
    out, err = io.StringIO(), io.StringIO()

    with stubber:
        status = main(
            ["status", "--table", "ledger"],
            stdout=out,
            stderr=err,
            clients={"dynamodb": client},
            environ={},
        )

    result = Result(status, out.getvalue(), err.getvalue())
    assert message in _one_line(result)


# -- the AWS CLI's conventions ------------------------------------------------------------


@pytest.mark.usefixtures("no_aws_config")
@pytest.mark.parametrize(
    ("environment", "argv_region", "expected"),
    [
        ({"AWS_REGION": "eu-west-3"}, None, "eu-west-3"),
        ({"AWS_DEFAULT_REGION": "eu-west-1"}, None, "eu-west-1"),
        ({"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "eu-west-1"}, None, "eu-west-3"),
        ({"AWS_REGION": "eu-west-3"}, "ap-south-1", "ap-south-1"),
        ({"AWS_PROFILE": "ops"}, None, "ca-central-1"),
    ],
)
def test_given_the_aws_cli_settings_when_a_client_is_made_then_region_and_endpoint_follow_them(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    environment: dict[str, str],
    argv_region: str | None,
    expected: str,
) -> None:
    from serverless.cli.aws.session import AwsAccess

    config = tmp_path / "config"
    config.write_text("[profile ops]\nregion = ca-central-1\n")
    credentials = tmp_path / "credentials"
    credentials.write_text("[ops]\naws_access_key_id = a\naws_secret_access_key = b\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    client = AwsAccess(region=argv_region).client("dynamodb")

    assert client.meta.region_name == expected
    assert client.meta.endpoint_url == "http://localhost:4566"


def test_given_version_when_run_then_the_package_metadata_version_is_printed() -> None:
    import importlib.metadata

    result = _run("--version")

    assert result.code == 0
    assert result.out == f"drain-terminator {importlib.metadata.version('ecs-drain-terminator')}\n"


def test_given_json_when_a_command_fails_then_the_error_is_one_json_document(
    account: Account,
) -> None:
    result = account.cli("status", "--json", "--table", "nope")

    assert result.code == 1
    assert result.err == ""
    document = json.loads(result.out)
    assert document["error"]["type"] == "NotFoundError"
    assert "ledger table 'nope' not found" in document["error"]["message"]
    assert document["exit_status"] == 1


def test_given_json_when_the_command_line_is_wrong_then_the_usage_error_is_json_too() -> None:
    result = _run("status", "--json", "--since", "soon")

    assert result.code == 2
    assert result.err == ""
    document = json.loads(result.out)
    assert document["error"]["type"] == "usage"
    assert "not a duration" in document["error"]["message"]


def test_given_a_bug_in_a_command_when_run_then_one_line_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from serverless.cli import commands

    def broken(*_: object, **__: object) -> int:
        raise KeyError("boom")

    monkeypatch.setattr(commands.tags, "plan_change", broken)

    err = _one_line(_run("tags", "--print", "--cluster", "c", "--service", "s"))

    assert err.startswith("drain-terminator: error: internal error (KeyError: 'boom')")


@pytest.mark.usefixtures("no_aws_config")
@pytest.mark.parametrize("command", ["doctor", "redrive", "status"])
def test_given_no_region_when_a_command_runs_then_one_line_says_how_to_set_one(
    command: str,
) -> None:
    err = _one_line(_run(command, "--table", "x-ledger"))

    assert err.startswith("drain-terminator: error: no AWS region configured: set AWS_REGION")


@pytest.mark.usefixtures("no_aws_config")
@pytest.mark.parametrize("command", ["doctor", "redrive"])
def test_given_no_credentials_and_json_when_a_command_runs_then_one_json_error(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")

    result = _run(command, "--table", "x-ledger", "--json")

    assert result.code == 1
    assert result.err == ""
    document = json.loads(result.out)
    assert document["error"]["type"] == "ConfigError"
    assert document["error"]["message"].startswith("no AWS credentials found")


class _ClosedPipe(io.StringIO):
    """A stdout whose reader went away (``drain-terminator ... | head -1``)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_given_the_reader_of_stdout_went_away_when_a_command_prints_then_it_stops_quietly() -> None:
    err = io.StringIO()
    fixture = Path(__file__).parent / "fixtures" / "sidecar-readme-bridge.json"

    code = main(["migrate-sidecar", str(fixture)], stdout=_ClosedPipe(), stderr=err, environ={})

    assert code == 141
    assert err.getvalue() == ""
