"""Find the Terraform CLI and a filesystem mirror of hashicorp/aws, and run Terraform
with a CLI configuration of our own (never the user's), offline.

Nothing here names a machine path: the CLI comes from ``DRAIN_TERMINATOR_TERRAFORM`` or
``PATH``; the mirror from ``DRAIN_TERMINATOR_TF_PLUGIN_DIR``, else the first of the
places Terraform itself or an administrator would keep one (the filesystem mirrors of
the user's CLI configuration, Terraform's implied local mirror directories, and a
``*/registry.terraform.io`` or ``*/terraform/plugins`` directory directly under ``/opt``
or ``/usr/local/share``) that holds ``registry.terraform.io/hashicorp/aws/<version>/<os_arch>``.

The run uses ONE provider version: ``DRAIN_TERMINATOR_AWS_PROVIDER_VERSION`` if set, else
the newest the mirror holds (6.x wherever a 6.x mirror exists, else 5.x); the CLI
configuration points Terraform at a scratch mirror holding that version alone.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "GO_RUNTIME",
    "PLUGIN_DIR_ENV",
    "PROVIDER_VERSION_ENV",
    "TERRAFORM_ENV",
    "Missing",
    "Terraform",
    "TerraformError",
    "find_plugin_dir",
    "find_terraform",
    "planned_changes",
    "provider_versions",
    "select_provider",
    "write_cli_config",
]

TERRAFORM_ENV = "DRAIN_TERMINATOR_TERRAFORM"
PLUGIN_DIR_ENV = "DRAIN_TERMINATOR_TF_PLUGIN_DIR"
PROVIDER_VERSION_ENV = "DRAIN_TERMINATOR_AWS_PROVIDER_VERSION"
PROVIDER = Path("registry.terraform.io", "hashicorp", "aws")
#: Go runtime settings for Terraform and its plugins (see :meth:`Terraform.env`); the
#: caller's environment overrides them.
GO_RUNTIME = {"GOGC": "off", "GOMEMLIMIT": "2GiB"}
_MIRROR_LINE = re.compile(r'^\s*path\s*=\s*"([^"]+)"', re.MULTILINE)


class Missing(Exception):
    """A prerequisite is absent; the message says which and where it was looked for."""


class TerraformError(Exception):
    """A Terraform command failed; the message holds its output."""


def os_arch() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    return f"{platform.system().lower()}_{arch}"


def find_terraform(environ: Mapping[str, str] = os.environ) -> Path:
    override = environ.get(TERRAFORM_ENV)
    if override:
        if not Path(override).is_file():
            raise Missing(f"{TERRAFORM_ENV}={override} is not a file")
        return Path(override)
    found = shutil.which("terraform", path=environ.get("PATH"))
    if found is None:
        raise Missing(f"terraform is not on PATH (or set {TERRAFORM_ENV})")
    return Path(found)


def _configured_mirrors(environ: Mapping[str, str]) -> Iterator[Path]:
    for name in (environ.get("TF_CLI_CONFIG_FILE"), str(Path.home() / ".terraformrc")):
        if name and Path(name).is_file():
            for match in _MIRROR_LINE.finditer(Path(name).read_text(errors="replace")):
                yield Path(match.group(1)).expanduser()


def _candidates(environ: Mapping[str, str]) -> Iterator[Path]:
    yield from _configured_mirrors(environ)
    home = Path.home()
    yield home / ".terraform.d" / "plugins"
    data_home = environ.get("XDG_DATA_HOME") or str(home / ".local" / "share")
    yield Path(data_home, "terraform", "plugins")
    for data_dir in (environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":"):
        if data_dir:
            yield Path(data_dir, "terraform", "plugins")
    for parent in (Path("/opt"), Path("/usr/local/share")):
        if parent.is_dir():
            for child in sorted(parent.iterdir()):
                yield child
                yield child / "plugins"


def _has_provider(directory: Path) -> bool:
    provider = directory / PROVIDER
    return provider.is_dir() and any(
        (version / os_arch()).is_dir() for version in provider.iterdir() if version.is_dir()
    )


def find_plugin_dir(environ: Mapping[str, str] = os.environ) -> Path:
    override = environ.get(PLUGIN_DIR_ENV)
    if override:
        if not _has_provider(Path(override)):
            raise Missing(f"{PLUGIN_DIR_ENV}={override} holds no {PROVIDER} for {os_arch()}")
        return Path(override)
    looked = []
    for candidate in _candidates(environ):
        looked.append(str(candidate))
        try:
            if _has_provider(candidate):
                return candidate
        except OSError:
            continue
    raise Missing(
        f"no filesystem mirror of {PROVIDER.as_posix()} for {os_arch()} "
        f"(set {PLUGIN_DIR_ENV}; looked in {len(looked)} places)"
    )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in re.split(r"[.-]", version))


def provider_versions(plugin_dir: Path) -> list[str]:
    """The hashicorp/aws versions the mirror holds for this platform, oldest first."""
    provider = plugin_dir / PROVIDER
    return sorted(
        (path.name for path in provider.iterdir() if (path / os_arch()).is_dir()),
        key=_version_key,
    )


def select_provider(
    plugin_dir: Path, scratch: Path, environ: Mapping[str, str] = os.environ
) -> tuple[str, Path]:
    """(version, mirror): the version to run on and a mirror in ``scratch`` holding it alone.

    ``DRAIN_TERMINATOR_AWS_PROVIDER_VERSION`` chooses one; otherwise the newest mirrored.
    """
    available = provider_versions(plugin_dir)
    wanted = environ.get(PROVIDER_VERSION_ENV) or available[-1]
    if wanted not in available:
        raise Missing(
            f"{PROVIDER_VERSION_ENV}={wanted}: the mirror {plugin_dir} holds {', '.join(available)}"
        )
    mirror = scratch / "provider-mirror"
    version_dir = mirror / PROVIDER / wanted
    version_dir.mkdir(parents=True, exist_ok=True)
    # Terraform's mirror scan follows a symlinked platform directory, not a version one.
    (version_dir / os_arch()).symlink_to(
        plugin_dir / PROVIDER / wanted / os_arch(), target_is_directory=True
    )
    return wanted, mirror


def write_cli_config(path: Path, plugin_dir: Path) -> Path:
    """A CLI configuration that installs providers from ``plugin_dir`` only."""
    path.write_text(
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(plugin_dir))}\n"
        '    include = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "}\n"
        "disable_checkpoint = true\n",
        encoding="utf-8",
    )
    return path


#: A ``planned_change`` message's action, as ``terraform show -json`` lists it.
_PLAN_ACTIONS: dict[str, list[str]] = {
    "create": ["create"],
    "read": ["read"],
    "update": ["update"],
    "delete": ["delete"],
    "replace": ["delete", "create"],
    "noop": ["no-op"],
}


def planned_changes(ui_output: str) -> list[dict[str, Any]]:
    """The resources a ``terraform plan -json`` run would change (reads and no-ops left
    out): ``address``, ``type`` and ``change.actions``, in the order Terraform planned."""
    changes: list[dict[str, Any]] = []
    for line in ui_output.splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        if message.get("type") != "planned_change":
            continue
        change = message["change"]
        resource = change["resource"]
        action = change["action"]
        actions = _PLAN_ACTIONS.get(action, [action])
        if actions in (["no-op"], ["read"]):
            continue
        changes.append(
            {
                "address": resource["addr"],
                "type": resource["resource_type"],
                "change": {"actions": actions},
            }
        )
    return changes


@dataclass
class Terraform:
    """Runs ``terraform -chdir=<dir> ...`` with our CLI configuration and environment
    (``cli_config`` None: the user's own, as in a real account)."""

    binary: Path
    cli_config: Path | None
    environment: Mapping[str, str]
    log: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        """Terraform's environment: ours, with Go's collector off unless it is set there.

        Every command that loads hashicorp/aws starts its 700 MB plugin, and building the
        provider's schema is mostly garbage collection: ``GOGC=off`` (a collection only
        past ``GOMEMLIMIT``) took a bare ``terraform validate`` from 3.3 to 2.4 s of CPU
        and the whole lifecycle from 97 to 70 s, at about 1 GB of memory for the largest
        process (docs/benchmarks.md, "Simulator speed").
        """
        ours = {} if self.cli_config is None else {"TF_CLI_CONFIG_FILE": str(self.cli_config)}
        return {
            **GO_RUNTIME,
            **self.environment,
            **ours,
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }

    def run(
        self, directory: Path, *arguments: str, ok: Sequence[int] = (0,), timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        command = [str(self.binary), f"-chdir={directory}", *arguments]
        started = time.monotonic()
        completed = subprocess.run(
            command,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.log.append(
            f"{time.monotonic() - started:6.1f}s terraform {' '.join(arguments[:1])} "
            f"{directory.name} -> {completed.returncode}"
        )
        if completed.returncode not in ok:
            raise TerraformError(
                f"terraform {' '.join(arguments)} in {directory} exited {completed.returncode}:\n"
                f"{completed.stdout[-6000:]}\n{completed.stderr[-6000:]}"
            )
        return completed

    def init(self, directory: Path) -> None:
        self.run(directory, "init", "-input=false", "-no-color", "-backend=false")

    def validate(self, directory: Path) -> dict[str, Any]:
        completed = self.run(directory, "validate", "-json", "-no-color", ok=(0, 1))
        result: dict[str, Any] = json.loads(completed.stdout)
        return result

    def apply(self, directory: Path, var_file: Path) -> None:
        self.run(
            directory,
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            "-parallelism=20",
            f"-var-file={var_file}",
            timeout=600,
        )

    def plan_changes(self, directory: Path, var_file: Path) -> list[dict[str, Any]]:
        """Resource changes of a fresh plan (``[]`` when the plan is empty).

        Read from the plan's own machine-readable UI (``-json``: one ``planned_change``
        message per resource it would change) rather than from ``terraform show -json`` of
        a saved plan, which would load the provider's schema once more (a few seconds of
        CPU). Each change has the shape ``show -json`` gives: ``address``, ``type`` and
        ``change.actions``.
        """
        completed = self.run(
            directory,
            "plan",
            "-json",
            "-detailed-exitcode",
            "-input=false",
            "-parallelism=20",
            f"-var-file={var_file}",
            ok=(0, 2),
        )
        if completed.returncode == 0:
            return []
        return planned_changes(completed.stdout)

    def destroy(self, directory: Path, var_file: Path) -> None:
        self.run(
            directory,
            "destroy",
            "-auto-approve",
            "-input=false",
            "-no-color",
            "-parallelism=20",
            f"-var-file={var_file}",
            timeout=600,
        )

    def state_resources(self, directory: Path) -> list[dict[str, Any]]:
        """Managed resources of the local state: ``address``, ``type``, ``values``.

        Read from ``terraform.tfstate`` itself (format version 4): ``terraform show``
        would load the provider's schema, several seconds each time.
        """
        state_file = directory / "terraform.tfstate"
        if not state_file.is_file():
            return []
        state = json.loads(state_file.read_text(encoding="utf-8"))
        if state.get("version") != 4:
            raise TerraformError(f"{state_file}: state format {state.get('version')} is not 4")
        resources: list[dict[str, Any]] = []
        for resource in state.get("resources", []):
            if resource.get("mode") != "managed":
                continue
            module = f"{resource['module']}." if resource.get("module") else ""
            for instance in resource.get("instances", []):
                key = instance.get("index_key")
                index = "" if key is None else f"[{json.dumps(key)}]"
                resources.append(
                    {
                        "address": f"{module}{resource['type']}.{resource['name']}{index}",
                        "type": resource["type"],
                        "mode": "managed",
                        "values": instance.get("attributes", {}),
                    }
                )
        return resources

    def output(self, directory: Path) -> dict[str, Any]:
        shown = self.run(directory, "output", "-json", "-no-color")
        return {name: value["value"] for name, value in json.loads(shown.stdout).items()}
