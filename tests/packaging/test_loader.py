"""tests/support/loader.py, installed by tests/conftest.py: the sessions a test process
makes share one data loader."""

from __future__ import annotations

import boto3
import botocore.loaders
import botocore.session
import pytest


def test_given_the_test_process_when_two_sessions_are_made_then_they_share_one_loader() -> None:
    first = botocore.session.Session().get_component("data_loader")
    second = boto3.session.Session()._session.get_component("data_loader")

    assert first is second


def test_given_a_shared_loader_when_another_session_makes_a_client_then_no_file_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    botocore.session.Session().create_client("ecs", region_name="us-east-1")
    reads: list[str] = []
    original = botocore.loaders.JSONFileLoader.load_file

    def counting(self: botocore.loaders.JSONFileLoader, path: str) -> object:
        reads.append(path)
        return original(self, path)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", counting)

    client = boto3.session.Session().client("ecs", region_name="us-east-1")

    assert client.meta.service_model.service_name == "ecs"
    assert reads == []
