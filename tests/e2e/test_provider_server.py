"""The provider server of tools/e2e/terraform.py (hashicorp/aws started once in debug mode,
Terraform reattached to it), without Terraform: fake providers and a fake Terraform that
print what a real one would."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from sim.terraform import MODULE_DIR, REPO_ROOT, load_tf
from tools.e2e.__main__ import Run, Session, provider_lanes
from tools.e2e.terraform import (
    REATTACH_ENV,
    ProviderServerError,
    Terraform,
    parse_reattach,
    provider_server,
)
from tools.e2e.workspace import make_refused_root

ADDRESS = "registry.terraform.io/hashicorp/aws"
#: What hashicorp/aws 5.100.0 prints when started with -debug (the reattach line indented
#: by a tab, as it prints it).
STARTED = (
    "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment "
    "variable with the following:\n\n"
    '\tTF_REATTACH_PROVIDERS=\'{"registry.terraform.io/hashicorp/aws":{"Protocol":"grpc",'
    '"ProtocolVersion":5,"Pid":4242,"Test":true,"Addr":{"Network":"unix",'
    '"String":"/tmp/plugin170700588"}}}\'\n'
)


def _fake_provider(path: Path, body: str) -> Path:
    """An executable Python script standing for the provider's binary."""
    path.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def _serving(tmp_path: Path) -> Path:
    """A fake provider that prints its reattach line and serves until interrupted."""
    line = f"TF_REATTACH_PROVIDERS='{json.dumps({ADDRESS: {'Pid': 1}})}'"
    return _fake_provider(
        tmp_path / "terraform-provider-aws_v9.9.9_x5",
        f"print({line!r}, flush=True)\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n"
        "    sys.exit(0)",
    )


def _ended(pid: int) -> bool:
    """The process is gone, or a zombie nobody has reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


def _terraform(tmp_path: Path) -> Terraform:
    return Terraform(Path("terraform"), tmp_path / "terraform.rc", {"PATH": os.defpath})


def test_given_the_line_printed_in_debug_mode_when_parsed_then_it_is_the_reattach_value() -> None:
    lines = [parse_reattach(line) for line in STARTED.splitlines()]

    (value,) = [line for line in lines if line is not None]
    assert json.loads(value)[ADDRESS]["Addr"] == {
        "Network": "unix",
        "String": "/tmp/plugin170700588",
    }


def test_given_lines_without_an_aws_reattach_value_when_parsed_then_none() -> None:
    other = "TF_REATTACH_PROVIDERS='{\"registry.terraform.io/hashicorp/null\":{}}'"

    assert parse_reattach("Provider started.") is None
    assert parse_reattach(other) is None
    assert parse_reattach("TF_REATTACH_PROVIDERS='{not json}'") is None


def test_given_a_provider_that_prints_nothing_when_started_then_it_fails_saying_so_and_ends(
    tmp_path: Path,
) -> None:
    silent = _fake_provider(tmp_path / "terraform-provider-aws", "time.sleep(60)")
    terraform = _terraform(tmp_path)

    with (
        pytest.raises(
            ProviderServerError, match=r"printed no TF_REATTACH_PROVIDERS line in 0\.5 s"
        ) as raised,
        provider_server(terraform, silent, tmp_path, timeout=0.5),
    ):
        pass

    assert str(raised.value).endswith("it printed:\n(nothing)")
    assert not terraform.log


def test_given_an_old_provider_without_debug_mode_when_started_then_the_error_shows_its_output(
    tmp_path: Path,
) -> None:
    old = _fake_provider(
        tmp_path / "terraform-provider-aws",
        "print('flag provided but not defined: -debug', flush=True)\nsys.exit(2)",
    )

    with (
        pytest.raises(ProviderServerError, match="exited 2 before printing") as raised,
        provider_server(_terraform(tmp_path), old, tmp_path),
    ):
        pass

    assert "flag provided but not defined: -debug" in str(raised.value)


def test_given_a_provider_without_debug_mode_when_the_lifecycle_starts_lanes_then_each_runs_managed(
    tmp_path: Path,
) -> None:
    terraform = _terraform(tmp_path)
    run = Run(terraform, Session("http://127.0.0.1:9"), tmp_path)
    run.summary["provider"] = "hashicorp/aws 9.9.9"
    run.provider = _fake_provider(tmp_path / "terraform-provider-aws", "sys.exit(2)")

    with ExitStack() as stack:
        lanes = provider_lanes(stack, run, {"module": tmp_path, "example": tmp_path})

    assert lanes == {"module": terraform, "example": terraform}
    assert all(lane.reattach is None for lane in lanes.values())
    assert run.summary["provider"].startswith(
        "hashicorp/aws 9.9.9 (each command starts its own provider: "
    )
    assert "exited 2" in run.summary["provider"]
    assert not run.failures


def test_given_a_provider_in_debug_mode_when_lanes_start_then_each_has_its_own_server(
    tmp_path: Path,
) -> None:
    terraform = _terraform(tmp_path)
    run = Run(terraform, Session("http://127.0.0.1:9"), tmp_path)
    run.summary["provider"] = "hashicorp/aws 9.9.9"
    run.provider = _serving(tmp_path)
    (tmp_path / "module").mkdir()
    (tmp_path / "example").mkdir()

    with ExitStack() as stack:
        lanes = provider_lanes(
            stack, run, {"module": tmp_path / "module", "example": tmp_path / "example"}
        )
        attached = {name: lane.env()[REATTACH_ENV] for name, lane in lanes.items()}

    assert set(attached) == {"module", "example"}
    assert all(parse_reattach(f"{REATTACH_ENV}='{value}'") for value in attached.values())
    assert run.summary["provider"] == "hashicorp/aws 9.9.9 (2 provider servers, one per lane)"
    for name in ("module", "example"):  # each stopped, its CPU logged
        assert any(
            re.search(rf"provider server in {name}: \d+\.\ds CPU$", line) for line in terraform.log
        ), terraform.log


def test_given_a_server_when_the_body_raises_then_the_server_is_stopped(tmp_path: Path) -> None:
    started: list[int] = []

    def failing_step() -> None:
        with provider_server(_terraform(tmp_path), _serving(tmp_path), tmp_path) as server:
            started.append(server.pid)
            raise RuntimeError("a failed step")

    with pytest.raises(RuntimeError, match="a failed step"):
        failing_step()

    (pid,) = started
    assert _ended(pid)


def test_given_an_attached_terraform_when_it_inits_then_only_init_starts_its_own_provider(
    tmp_path: Path,
) -> None:
    # A fake Terraform that records whether it was given the server, one line per command.
    seen = tmp_path / "seen"
    fake = tmp_path / "terraform"
    fake.write_text(
        f"#!{sys.executable}\nimport os, sys\n"
        f"with open({str(seen)!r}, 'a') as out:\n"
        f"    out.write(sys.argv[2] + ' ' + str({REATTACH_ENV!r} in os.environ) + '\\n')\n"
        "print('{\"valid\": true}')\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    terraform = Terraform(fake, tmp_path / "terraform.rc", {}, reattach='{"x": 1}')

    terraform.init(tmp_path)
    terraform.validate(tmp_path)

    assert seen.read_text().splitlines() == ["init False", "validate True"]


def test_given_a_lifecycle_killed_when_its_server_runs_then_the_server_ends_too(
    tmp_path: Path,
) -> None:
    # A process holding a server, killed outright (as a timeout kills the lifecycle): Linux
    # interrupts the server when its parent ends (PR_SET_PDEATHSIG).
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from tools.e2e.terraform import Terraform, provider_server\n"
            "tmp = Path(sys.argv[1])\n"
            "terraform = Terraform(Path('terraform'), None, {})\n"
            "with provider_server(terraform, Path(sys.argv[2]), tmp) as server:\n"
            "    print(server.pid, flush=True)\n"
            "    time.sleep(60)\n",
            str(tmp_path),
            str(_serving(tmp_path)),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    pid = int(holder.stdout.readline())

    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not _ended(pid) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert _ended(pid)


def test_given_what_the_lifecycle_runs_on_a_server_when_read_then_one_aws_configuration_each(
    tmp_path: Path,
) -> None:
    # A server holds one provider configuration: a command configuring two (aliases) would
    # run them all with the last one's settings. examples/many-accounts has three, so
    # `make e2e-accounts` starts no server.
    for relative in ("examples/complete", "examples/minimal", "examples/premise"):
        example = load_tf(MODULE_DIR / relative)
        assert list(example["provider"]) == ["aws"], relative
        assert all("providers" not in call for call in example["module"].values()), relative
    module = load_tf(MODULE_DIR)
    assert "provider" not in module
    (required,) = module["terraform"][0]["required_providers"]
    assert "configuration_aliases" not in required["aws"]
    (tmp_path / "src" / "terraform").mkdir(parents=True)
    refused = make_refused_root(tmp_path, tmp_path / "src")
    assert (refused / "main.tf").read_text().count('provider "') == 1
    assert len(load_tf(MODULE_DIR / "examples" / "many-accounts")["provider"]) == 3
