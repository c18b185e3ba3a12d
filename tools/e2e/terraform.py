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

Each Terraform command that loads hashicorp/aws starts the provider's plugin, and building
its schema costs about 1.4 s of CPU. :func:`provider_server` starts the plugin once in
debug mode instead, and a :class:`Terraform` given its ``reattach`` value talks to that
server (``TF_REATTACH_PROVIDERS``). A server holds ONE provider configuration at a time: it
must serve one Terraform command at a time, of a configuration with one ``provider "aws"``
configuration (every ``provider`` block of a command configures the same server, so with
two aliases both run with the settings of the one configured last; examples/many-accounts
has three, and ``make e2e-accounts`` starts no server).
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "GO_RUNTIME",
    "PLUGIN_DIR_ENV",
    "PROVIDER_SERVER_TIMEOUT",
    "PROVIDER_VERSION_ENV",
    "REATTACH_ENV",
    "TERRAFORM_ENV",
    "Missing",
    "Plan",
    "ProviderServer",
    "ProviderServerError",
    "Terraform",
    "TerraformError",
    "find_plugin_dir",
    "find_terraform",
    "locked_version",
    "parse_reattach",
    "plan_diagnostics",
    "planned_changes",
    "provider_binary",
    "provider_server",
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
#: Terraform's variable naming providers it attaches to instead of starting them.
REATTACH_ENV = "TF_REATTACH_PROVIDERS"
#: Seconds a provider started in debug mode has to print its reattach line (it takes
#: well under one; the schema is built at the first command, not at start).
PROVIDER_SERVER_TIMEOUT = 60.0
#: What a provider server's environment changes in Terraform's, unless the caller's
#: environment sets it. Its own logging off: in debug mode the SDK logs every call at
#: TRACE to the server's output (about 3,000 lines per validate), where no Terraform
#: filters them as it does for a plugin it starts. And a lower memory bound: a server
#: lives for many commands, and without a collection before GOMEMLIMIT it grew to 1.9 GB
#: at 2 GiB (4.3 s of CPU over a lifecycle's lane, much of it faulting in fresh memory),
#: to 1.3 GB at 1 GiB (3.5 s), and collected more often at 768 MiB (3.9 s).
_PROVIDER_SERVER_ENV = {"TF_LOG_SDK": "OFF", "TF_LOG_PROVIDER": "OFF", "GOMEMLIMIT": "1GiB"}
_REATTACH_LINE = re.compile(r"TF_REATTACH_PROVIDERS='(\{.*\})'")
_LOCKED_VERSION = re.compile(
    r'provider "registry\.terraform\.io/hashicorp/aws" \{\s*version\s*=\s*"([^"]+)"'
)
#: Linux's prctl option: a signal for the child when the thread that forked it ends.
_PR_SET_PDEATHSIG = 1
_MIRROR_LINE = re.compile(r'^\s*path\s*=\s*"([^"]+)"', re.MULTILINE)


class Missing(Exception):
    """A prerequisite is absent; the message says which and where it was looked for."""


class TerraformError(Exception):
    """A Terraform command failed; the message holds its output."""


class ProviderServerError(Exception):
    """The provider could not be started in debug mode; the message says what it printed.

    ``reason`` is the same in a few words (for a summary line).
    """

    def __init__(self, reason: str, output: Sequence[str]) -> None:
        printed = "\n".join(output[-20:]) or "(nothing)"
        super().__init__(f"{reason}; it printed:\n{printed}")
        self.reason = reason


def os_arch() -> str:
    """Terraform's name of this platform (``linux_amd64``, ``darwin_arm64``, ...)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    return f"{platform.system().lower()}_{arch}"


def find_terraform(environ: Mapping[str, str] = os.environ) -> Path:
    """The Terraform CLI: ``DRAIN_TERMINATOR_TERRAFORM``, else ``terraform`` on ``PATH``."""
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
    """A filesystem mirror holding hashicorp/aws for this platform (module docstring)."""
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


def provider_binary(mirror: Path, version: str) -> Path:
    """The hashicorp/aws plugin executable ``mirror`` holds for ``version`` on this platform."""
    directory = mirror / PROVIDER / version / os_arch()
    found = sorted(
        path
        for path in directory.glob("terraform-provider-aws*")
        if path.is_file() and os.access(path, os.X_OK)
    )
    if not found:
        raise Missing(f"{directory} holds no terraform-provider-aws executable")
    return found[0]


def locked_version(directory: Path) -> str | None:
    """The hashicorp/aws version ``terraform init`` locked in ``directory`` (None: none)."""
    lock = directory / ".terraform.lock.hcl"
    if not lock.is_file():
        return None
    match = _LOCKED_VERSION.search(lock.read_text(encoding="utf-8"))
    return match.group(1) if match else None


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


def plan_diagnostics(ui_output: str) -> list[str]:
    """The warnings and errors of a ``terraform plan -json`` run, one text each (``[]``: none).

    A plan validates its configuration first, so these hold every diagnostic ``terraform
    validate`` of the same configuration would report, and what only a plan sees (a
    failed ``check`` block, a value for an undeclared variable).
    """
    found: list[str] = []
    for line in ui_output.splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        if message.get("type") != "diagnostic":
            continue
        diagnostic = message.get("diagnostic", {})
        where = diagnostic.get("range") or {}
        line_number = where.get("start", {}).get("line", "?")
        place = f" ({where['filename']}:{line_number})" if "filename" in where else ""
        found.append(
            f"{diagnostic.get('severity', message.get('@level'))}: "
            f"{diagnostic.get('summary', message.get('@message'))}{place}"
        )
    return found


@dataclass(frozen=True)
class Plan:
    """A ``terraform plan -json`` run: the resources it would change (the shape
    :func:`planned_changes` gives) and its warnings and errors (:func:`plan_diagnostics`)."""

    changes: list[dict[str, Any]]
    diagnostics: list[str]


def parse_reattach(line: str) -> str | None:
    """The ``TF_REATTACH_PROVIDERS`` value in a line a provider prints in debug mode, if it
    names hashicorp/aws (None otherwise)."""
    match = _REATTACH_LINE.search(line)
    if match is None:
        return None
    try:
        value = json.loads(match.group(1))
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or PROVIDER.as_posix() not in value:
        return None
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class ProviderServer:
    """hashicorp/aws running in debug mode; ``reattach`` points Terraform at it.

    It resolves a relative path (a Lambda package's ``filename``) against ``directory``,
    its working directory, as a plugin Terraform starts does against ``-chdir``: a server
    applies only the configuration in that directory.
    """

    reattach: str
    directory: Path
    pid: int

    def cpu_seconds(self) -> float | None:
        """The CPU it has used so far (from Linux's /proc; None elsewhere or once ended)."""
        return _cpu_seconds(self.pid)


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    # utime and stime: the 14th and 15th fields, the 12th and 13th after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _end_with_parent() -> Callable[[], None] | None:
    """On Linux, from the main thread: a ``preexec_fn`` that has the child interrupted when
    this process ends, however it ends (a lifecycle killed by a timeout leaves no server
    waiting forever); None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None  # the signal would come when this thread ends, not the process
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    interrupt = int(signal.SIGINT)

    def set_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, interrupt)

    return set_signal


def _stop(process: subprocess.Popen[str]) -> None:
    """Interrupt (the SDK's debug mode then closes and removes its socket), then terminate,
    then kill."""
    if process.poll() is not None:
        return
    stops: list[Callable[[], None]] = [process.terminate, process.kill]
    if os.name == "posix":
        stops.insert(0, lambda: process.send_signal(signal.SIGINT))
    for stop in stops:
        with suppress(ProcessLookupError):
            stop()
        try:
            process.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue
    process.wait()


def _remove_socket(reattach: str) -> None:
    """A killed server leaves its Unix socket behind: remove it."""
    address = json.loads(reattach)[PROVIDER.as_posix()].get("Addr", {})
    if address.get("Network") != "unix":
        return
    path = Path(address.get("String", ""))
    with suppress(OSError):
        if stat.S_ISSOCK(path.lstat().st_mode):
            path.unlink()


@contextmanager
def provider_server(
    terraform: Terraform,
    binary: Path,
    directory: Path,
    timeout: float = PROVIDER_SERVER_TIMEOUT,
) -> Iterator[ProviderServer]:
    """hashicorp/aws (``binary``) started in debug mode in ``directory``, in ``terraform``'s
    environment (its Go runtime settings, credentials and endpoints: the server, not
    Terraform, calls AWS; its own logging off and a 1 GiB ``GOMEMLIMIT`` unless that
    environment sets them), stopped on exit however the body ends.

    Raises :class:`ProviderServerError` when it prints no reattach line within ``timeout``
    seconds (a provider without ``-debug`` exits at once, saying so). Its CPU on exit goes
    to ``terraform.log``.
    """
    environment = terraform.env(reattach=False)
    environment.update(
        (name, value)
        for name, value in _PROVIDER_SERVER_ENV.items()
        if name not in terraform.environment
    )
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            [str(binary), "-debug"],
            cwd=directory,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            # Only prctl runs between fork and exec: no lock another thread may hold.
            preexec_fn=_end_with_parent(),  # noqa: PLW1509
        )
    except OSError as error:
        raise ProviderServerError(f"{binary.name} -debug could not start: {error}", []) from error
    output: deque[str] = deque(maxlen=200)
    found: list[str] = []
    ready, closed = threading.Event(), threading.Event()

    def read() -> None:
        # Drains the server's output to its end, so it never blocks on a full pipe.
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            if not found:
                reattach = parse_reattach(line)
                if reattach is not None:
                    found.append(reattach)
                    ready.set()
        closed.set()
        ready.set()

    reader = threading.Thread(target=read, name=f"provider-server-{process.pid}", daemon=True)
    reader.start()
    try:
        ready.wait(timeout)
        if not found:
            printed = list(output)  # before it is stopped (and says so)
            ended: int | None = None
            if closed.is_set():  # its output ended: it has ended, or is about to
                with suppress(subprocess.TimeoutExpired):
                    ended = process.wait(timeout=5)
            reason = (
                f"{binary.name} -debug exited {ended} before printing {REATTACH_ENV}"
                if ended is not None
                else f"{binary.name} -debug printed no {REATTACH_ENV} line in {timeout:g} s"
            )
            raise ProviderServerError(reason, printed)
        yield ProviderServer(found[0], directory, process.pid)
    finally:
        cpu = _cpu_seconds(process.pid) if found and process.poll() is None else None
        _stop(process)
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
        if found:
            _remove_socket(found[0])
            spent = "" if cpu is None else f": {cpu:.1f}s CPU"
            terraform.log.append(
                f"{time.monotonic() - started:6.1f}s provider server in {directory.name}{spent}"
            )


@dataclass
class Terraform:
    """Runs ``terraform -chdir=<dir> ...`` with our CLI configuration and environment
    (``cli_config`` None: the user's own, as in a real account)."""

    binary: Path
    cli_config: Path | None
    environment: Mapping[str, str]
    log: list[str] = field(default_factory=list)
    #: A :class:`ProviderServer`'s ``reattach``: hashicorp/aws is that server, not a plugin
    #: each command starts (``init`` excepted).
    reattach: str | None = None

    def attached(self, server: ProviderServer | None) -> Terraform:
        """This Terraform (its settings and log) talking to ``server`` (None: to none)."""
        return replace(self, reattach=None if server is None else server.reattach)

    def env(self, reattach: bool = True) -> dict[str, str]:
        """Terraform's environment: ours, with Go's collector off unless it is set there.

        Building the provider's schema is mostly garbage collection: ``GOGC=off`` (a
        collection only past ``GOMEMLIMIT``) took a bare ``terraform validate`` from 3.3 to
        2.4 s of CPU and the whole lifecycle from 97 to 70 s, at about 1 GB of memory for
        the largest process (docs/benchmarks.md, "Simulator speed", step 17). A provider
        server (:func:`provider_server`) gets this environment too, with a 1 GiB
        ``GOMEMLIMIT``: it lives for many commands (step 22). ``reattach`` False leaves the
        server out: the command starts its own plugin.
        """
        ours = {} if self.cli_config is None else {"TF_CLI_CONFIG_FILE": str(self.cli_config)}
        env = {
            **GO_RUNTIME,
            **self.environment,
            **ours,
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
        if not reattach:
            env.pop(REATTACH_ENV, None)
        elif self.reattach is not None:
            env[REATTACH_ENV] = self.reattach
        return env

    def run(
        self,
        directory: Path,
        *arguments: str,
        ok: Sequence[int] = (0,),
        timeout: float = 300,
        reattach: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """``terraform -chdir=<directory> <arguments>``; raises :class:`TerraformError` on an
        exit status not in ``ok``. ``reattach`` False: the command starts its own plugin."""
        command = [str(self.binary), f"-chdir={directory}", *arguments]
        started = time.monotonic()
        completed = subprocess.run(
            command,
            env=self.env(reattach),
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
        """``terraform init``, never attached: with a provider server Terraform neither
        installs hashicorp/aws nor writes it into ``.terraform.lock.hcl``."""
        self.run(directory, "init", "-input=false", "-no-color", "-backend=false", reattach=False)

    def validate(self, directory: Path) -> dict[str, Any]:
        """``terraform validate -json``'s result (``valid``, counts, ``diagnostics``)."""
        completed = self.run(directory, "validate", "-json", "-no-color", ok=(0, 1))
        result: dict[str, Any] = json.loads(completed.stdout)
        return result

    def apply(self, directory: Path, var_file: Path) -> None:
        """``terraform apply -auto-approve`` with ``var_file``."""
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
        """Resource changes of a fresh plan (``[]`` when the plan is empty): :meth:`plan`."""
        return self.plan(directory, var_file).changes

    def plan(self, directory: Path, var_file: Path) -> Plan:
        """A fresh plan's resource changes and its warnings and errors.

        Read from the plan's own machine-readable UI (``-json``: one ``planned_change``
        message per resource it would change, one ``diagnostic`` per warning) rather than
        from ``terraform show -json`` of a saved plan, which would load the provider's
        schema once more (a few seconds of CPU). Each change has the shape ``show -json``
        gives: ``address``, ``type`` and ``change.actions``.
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
        changes = [] if completed.returncode == 0 else planned_changes(completed.stdout)
        return Plan(changes, plan_diagnostics(completed.stdout))

    def destroy(self, directory: Path, var_file: Path) -> None:
        """``terraform destroy -auto-approve`` with ``var_file``."""
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
        """The root module's outputs, by name."""
        shown = self.run(directory, "output", "-json", "-no-color")
        return {name: value["value"] for name, value in json.loads(shown.stdout).items()}
