"""Upgrades lose nothing: drains recorded by a landed version of the handlers, checked out
from git history and run in a subprocess against a moto server, are finished by this one:
each stopped after its deadline and never before, never twice, and closed.

The history must be there (CI runs on a full ``git clone``): in a shallow clone this test
fails with one line saying so rather than pass without looking.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from handlers import sweeper
from serverless import app as app_module
from serverless.adapters.dynamodb_ledger import DUE_INDEX, SCHEMA_VERSION, item_layout
from sim.terraform import ledger_table_spec
from tests.support.clock import FakeContext, ManualClock
from tests.support.world import TABLE, World, build_world

REPO = Path(__file__).resolve().parents[2]
#: What a landed version's handlers and its table need of its tree.
TREE = ("serverless", "handlers", "terraform")
DRIVER = REPO / "tests" / "support" / "landed_handlers.py"
OPTED_IN = {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "120"}
WAIT = 120.0
SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


@dataclass(frozen=True)
class Landed:
    """A version that landed on main, and the ledger layout its handlers write."""

    commit: str
    #: Its layout (see ``SCHEMA_VERSION``), and in words.
    layout: int
    what: str
    #: Keys its open records carry in the due index.
    sweep_keys: frozenset[str]
    #: A Lambda timeout under which its sweeper acts on what is due and returns at once
    #: (it polls in real time while anything open is due within its horizon).
    sweeper_timeout: float


LANDED = [
    Landed(
        "a53edfc8744e0e7fbd0d01a537a85f446de18795",
        1,
        "layout 1: one due-index partition, 'open' (the last commit before the shards)",
        frozenset({"open"}),
        sweeper_timeout=11.5,
    ),
    Landed(
        "fd8a6a195d7c992246e78039af4bdf76651e6449",
        2,
        "layout 2 under 4 shards",
        frozenset(f"open#{n}" for n in range(4)),
        sweeper_timeout=180.0,
    ),
    Landed(
        "3afcfa796dbc96952268682fc3b765689639c5b8",
        2,
        "layout 2 under 6 shards (the last commit before the schema version)",
        frozenset(f"open#{n}" for n in range(6)),
        sweeper_timeout=180.0,
    ),
]


def checkout(landed: Landed, dest: Path) -> Path:
    """The handlers and Terraform of ``landed``, from git history, under ``dest``."""
    if not dest.exists():
        try:
            present = subprocess.run(
                ["git", "-C", str(REPO), "cat-file", "-e", f"{landed.commit}^{{commit}}"],
                capture_output=True,
                check=False,
            )
        except FileNotFoundError:
            present = None
        if present is None or present.returncode != 0:
            pytest.fail(
                f"git history unavailable: commit {landed.commit[:7]} ({landed.what}) is "
                "not in this clone (shallow?); the upgrade test needs a full `git clone`",
                pytrace=False,
            )
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", landed.commit, *TREE],
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
    return dest


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    yield endpoint
    reset(endpoint)
    server.stop()


def reset(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


@pytest.fixture
def served_world(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The test world on the moto server (the current code's clients are made here)."""
    reset(moto_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    world = build_world(ManualClock(start=time.time()))
    world.add_service("web", OPTED_IN)
    world.dynamodb.delete_table(TableName=TABLE)
    yield world
    app_module.reset()


def run_landed(tree: Path, endpoint: str, steps: list[dict[str, Any]], work: Path) -> list[Any]:
    """Run ``steps`` through the landed handlers in ``tree`` (one process, one cold start)."""
    (work / "steps.json").write_text(json.dumps(steps))
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "AWS_ENDPOINT_URL": endpoint,
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, str(DRIVER), str(work / "steps.json"), str(work / "results.json")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results: list[Any] = json.loads((work / "results.json").read_text())
    return results


def upgrade_table(world: World) -> None:
    """What `terraform apply` of this version does to the table of an older one: the due
    index recreated when its projection changed (the keys never have)."""
    current = ledger_table_spec(TABLE)
    index = next(i for i in current["GlobalSecondaryIndexes"] if i["IndexName"] == DUE_INDEX)
    described = world.dynamodb.describe_table(TableName=TABLE)["Table"]
    old = next(i for i in described["GlobalSecondaryIndexes"] if i["IndexName"] == DUE_INDEX)
    if old["Projection"] == index["Projection"]:
        return
    world.dynamodb.update_table(
        TableName=TABLE, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": DUE_INDEX}}]
    )
    world.dynamodb.update_table(
        TableName=TABLE,
        AttributeDefinitions=current["AttributeDefinitions"],
        GlobalSecondaryIndexUpdates=[{"Create": index}],
    )
    described = world.dynamodb.describe_table(TableName=TABLE)["Table"]
    assert [i["Projection"] for i in described["GlobalSecondaryIndexes"]] == [index["Projection"]]


def raw_item(world: World, task: str) -> dict[str, Any]:
    item = world.record(task)
    assert item is not None
    return item


def sweep(world: World, run_id: str) -> dict[str, Any]:
    report: dict[str, Any] = sweeper.handler(SCHEDULED, FakeContext(world.clock, 180.0, run_id))  # type: ignore[arg-type]
    return report


@pytest.mark.parametrize("landed", LANDED, ids=lambda landed: landed.commit[:7])
def test_given_drains_of_a_landed_version_when_upgraded_then_each_stopped_once_on_time_and_closed(
    landed: Landed,
    served_world: World,
    moto_endpoint: str,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> None:
    world = served_world
    tree = checkout(landed, tmp_path_factory.getbasetemp() / f"landed-{landed.commit[:12]}")
    world.dynamodb.create_table(**ledger_table_spec(TABLE, root=tree))
    # Given three drains of the landed version: "stopped" began 130 s ago and its sweeper
    # stops it (awaiting confirmation at the upgrade); "overdue" was recorded after that
    # run (its deadline passes during the deployment); "later" has 120 s to go.
    t0 = time.time()
    began = {"stopped": t0 - 130, "overdue": t0 - 125, "later": t0}
    tasks = {name: world.start_task("web") for name in began}
    for task in tasks.values():
        world.set_task(task, "DEACTIVATING", "STOPPED")

    def drain(name: str) -> dict[str, Any]:
        event = world.event(tasks[name], "DEACTIVATING", "STOPPED", 4, began[name])
        return {"handler": "task_events", "event": event}

    old_sweep = {
        "handler": "sweeper",
        "event": SCHEDULED,
        "timeout_seconds": landed.sweeper_timeout,
    }
    results = run_landed(
        tree,
        moto_endpoint,
        [drain("stopped"), old_sweep, drain("overdue"), drain("later")],
        tmp_path,
    )
    assert results[1]["stopped"] == [tasks["stopped"]]
    deadline = {}
    for name, task in tasks.items():
        item = raw_item(world, task)
        assert item["sweep_key"] in landed.sweep_keys, name  # open, in the landed layout
        assert "schema_version" not in item
        stored = world.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": task}})["Item"]
        assert item_layout(stored) == landed.layout
        deadline[name] = float(item["drain_started_at"]) + float(item["wait_seconds"])
        assert deadline[name] == pytest.approx(began[name] + WAIT, abs=0.001)  # ms in events
    stopped = raw_item(world, tasks["stopped"])
    assert stopped["status"] == "stop_requested"
    assert float(stopped["stop_requested_at"]) >= deadline["stopped"]

    # When this version is deployed over it and its sweeper runs
    upgrade_table(world)
    world.clock.advance(time.time() - world.clock.now())
    world.install_app()
    upgraded_at = world.clock.now()
    first = sweep(world, "new-1")
    world.clock.advance(deadline["later"] - 20 - world.clock.now())
    second = sweep(world, "new-2")
    world.clock.advance(61)
    sweep(world, "new-3")

    # Then the overdue drain is stopped at once, the later one at its deadline, the one
    # the landed version stopped is not stopped again, and all three are closed.
    assert first["stopped"] == [tasks["overdue"]]
    assert second["stopped"] == [tasks["later"]]
    assert [stop.task_arn for stop in world.stops] == [tasks["overdue"], tasks["later"]]
    overdue, later = world.stops
    assert deadline["overdue"] < upgraded_at <= overdue.at <= upgraded_at + 1.0
    assert deadline["later"] <= later.at <= deadline["later"] + 1.0
    for name, task in tasks.items():
        item = raw_item(world, task)
        assert (item["status"], item.get("outcome")) == ("closed", "stopped_by_terminator"), name
        assert "sweep_key" not in item
        assert item["schema_version"] == str(SCHEMA_VERSION)
        assert world.task_status(task)[0] == "STOPPED"
    assert world.dynamodb.scan(TableName=TABLE, IndexName=DUE_INDEX)["Count"] == 0


def test_given_the_schema_version_when_landed_versions_listed_then_each_older_layout_has_one() -> (
    None
):
    assert {landed.layout for landed in LANDED} == set(range(1, SCHEMA_VERSION))
