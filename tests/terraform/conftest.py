"""Fixtures shared by the Terraform tests: the parsed module, resolved once; and
``terraform validate`` on one hashicorp/aws provider server per test process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from sim.terraform import MODULE_DIR, load_tf
from tools.e2e.terraform import (
    Missing,
    ProviderServer,
    ProviderServerError,
    Terraform,
    find_plugin_dir,
    find_terraform,
    locked_version,
    provider_binary,
    provider_server,
    provider_versions,
    write_cli_config,
)

#: ``terraform init`` then ``terraform validate -json`` of a directory.
Validate = Callable[[Terraform, Path], dict[str, Any]]


@pytest.fixture(scope="session")
def module() -> dict[str, Any]:
    """Every ``.tf`` file of terraform/ (not the examples), normalised."""
    return load_tf(MODULE_DIR)


@pytest.fixture(scope="session")
def variables(module: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = module["variable"]
    return result


@pytest.fixture(scope="session")
def resources(module: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = module["resource"]
    return result


@pytest.fixture(scope="session")
def validate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Validate]:
    """``terraform init`` and ``terraform validate -json`` of a directory, attached to ONE
    provider server (tools/e2e/terraform.py) per test process, of the newest mirrored
    hashicorp/aws, wherever the directory locked that version: every validate then skips
    the plugin's start and schema build. Validate never configures the provider, so one
    server serves any configuration (examples/many-accounts' three as well), one command
    at a time as a test process runs them. Where Terraform, the mirror or the server is
    missing, each command starts its own plugin (and the tests say what is missing)."""
    with ExitStack() as stack:
        server: ProviderServer | None = None
        version = ""
        try:
            binary, plugin_dir = find_terraform(), find_plugin_dir()
            version = provider_versions(plugin_dir)[-1]
            work = tmp_path_factory.mktemp("provider-server")
            host = Terraform(binary, write_cli_config(work / "terraform.rc", plugin_dir), {})
            server = stack.enter_context(
                provider_server(host, provider_binary(plugin_dir, version), work)
            )
        except (Missing, ProviderServerError):
            server = None

        def run(terraform: Terraform, directory: Path) -> dict[str, Any]:
            terraform.init(directory)
            served = server if locked_version(directory) == version else None
            return terraform.attached(served).validate(directory)

        yield run
