"""``python -m tools.premise`` refuses, having created nothing, where it cannot or may not run."""

from __future__ import annotations

import pytest

from tools.premise.__main__ import EXIT_REFUSED, main

NO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None,
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": None,
    "AWS_WEB_IDENTITY_TOKEN_FILE": None,
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _environment(monkeypatch: pytest.MonkeyPatch, values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def test_given_no_credentials_when_run_then_it_refuses_in_one_line_and_creates_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _environment(monkeypatch, NO_CREDENTIALS)

    code = main(["--region", "eu-west-1", "--yes"])

    assert code == EXIT_REFUSED
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("premise: refusing, nothing was created: no AWS credentials found")


def test_given_no_region_when_run_then_it_refuses(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _environment(monkeypatch, {"AWS_REGION": None, "AWS_DEFAULT_REGION": None})

    assert main(["--yes"]) == EXIT_REFUSED
    assert "no region: pass --region" in capsys.readouterr().err
