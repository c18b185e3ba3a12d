"""Run what was deployed: the function and layer packages exactly as the local endpoint
holds them, unpacked as Lambda does, driven through a drain.

* The packages are the zips Terraform uploaded; their SHA-256 must equal the deployed
  ``CodeSha256`` of the functions and the layer version, or the step fails.
* Unpacked like Lambda: the function package is the task root, the layer goes under
  ``opt/`` (so its modules are in ``opt/python``), and the "runtime" directory holds
  only what the Lambda Python runtime itself provides (boto3, botocore and their
  dependencies, linked from this environment). Each handler runs in its own process
  (``python -S``, nothing else on the path) with the deployed function's environment.
* moto has no ECS draining: the drain is modelled by setting the task's desiredStatus to
  STOPPED in moto's ECS backend while lastStatus stays RUNNING (what ECS shows while a
  task's targets deregister), and the matching "ECS Task State Change" event is built
  from DescribeTasks and checked against the deployed rule with TestEventPattern.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["DrainResult", "Package", "cold_import_ratio", "drive_drain", "unpack"]

RUNNER = Path(__file__).with_name("lambda_runner.py")
# What the Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
WAIT_SECONDS = 5


@dataclass(frozen=True)
class Package:
    path: Path
    deployed_sha256: str  # base64, as Lambda reports CodeSha256

    def verify(self) -> None:
        local = base64.b64encode(hashlib.sha256(self.path.read_bytes()).digest()).decode()
        if local != self.deployed_sha256:
            raise AssertionError(
                f"{self.path} (sha256 {local}) is not what was deployed ({self.deployed_sha256})"
            )


@dataclass(frozen=True)
class Runtime:
    """An unpacked deployment: task root, /opt, and the runtime's own packages."""

    task_root: Path
    opt: Path
    runtime_dir: Path

    def python_path(self) -> str:
        return os.pathsep.join(
            str(path) for path in (self.task_root, self.opt / "python", self.runtime_dir)
        )


@dataclass
class DrainResult:
    matched_pattern: bool = False
    task_events: list[dict[str, Any]] = field(default_factory=list)
    sweeper: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    modules: dict[str, dict[str, str]] = field(default_factory=dict)
    imported_boto3: bool = False
    stopped_reason: str | None = None
    last_status: str | None = None
    seconds_to_stop: float | None = None

    @property
    def ok(self) -> bool:
        return (
            self.matched_pattern
            and all(result["ok"] for result in self.task_events + self.sweeper)
            and self.last_status == "STOPPED"
            and bool(self.stopped_reason)
            and self.seconds_to_stop is not None
            and self.seconds_to_stop >= WAIT_SECONDS
        )


def _link_runtime_packages(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} (part of the Lambda Python runtime) is not installed")
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (target / source.name).symlink_to(source)


def unpack(function_zip: Package, layer_zip: Package, root: Path) -> Runtime:
    for package in (function_zip, layer_zip):
        package.verify()
    runtime = Runtime(root / "task", root / "opt", root / "runtime")
    with zipfile.ZipFile(function_zip.path) as archive:
        archive.extractall(runtime.task_root)
    with zipfile.ZipFile(layer_zip.path) as archive:
        archive.extractall(runtime.opt)
    _link_runtime_packages(runtime.runtime_dir)
    return runtime


def _lambda_env(
    runtime: Runtime, configuration: dict[str, Any], aws_env: dict[str, str]
) -> dict[str, str]:
    """The function's deployed environment, plus what the Lambda runtime sets."""
    name = configuration["FunctionName"]
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": runtime.python_path(),
        "PYTHONDONTWRITEBYTECODE": "1",  # Lambda's file system is read-only
        "LAMBDA_TASK_ROOT": str(runtime.task_root),
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(configuration.get("MemorySize", 128)),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{configuration['Runtime']}",
        "_HANDLER": configuration["Handler"],
        # X-Ray's daemon is absent: the SDK's context-missing strategy logs, never raises.
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        **aws_env,
        **configuration.get("Environment", {}).get("Variables", {}),
    }


def invoke(
    runtime: Runtime,
    configuration: dict[str, Any],
    events: list[dict[str, Any]],
    aws_env: dict[str, str],
    scratch: Path,
    account: str,
) -> dict[str, Any]:
    """Run the deployed handler on ``events`` in a fresh process (one cold container)."""
    name = configuration["FunctionName"]
    request = scratch / f"{name}.request.json"
    response = scratch / f"{name}.response.json"
    request.write_text(
        json.dumps(
            {
                "handler": configuration["Handler"],
                "events": events,
                "function_name": name,
                "region": aws_env["AWS_REGION"],
                "account": account,
                "timeout": configuration["Timeout"],
            }
        ),
        encoding="utf-8",
    )
    log = scratch / f"{name}.log"
    with log.open("ab") as output:
        completed = subprocess.run(
            [sys.executable, "-S", str(RUNNER), str(request), str(response)],
            env=_lambda_env(runtime, configuration, aws_env),
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=configuration["Timeout"] + 30,
            check=False,
        )
    if completed.returncode != 0 or not response.is_file():
        raise RuntimeError(f"{name} did not run ({completed.returncode}); see {log}")
    result: dict[str, Any] = json.loads(response.read_text(encoding="utf-8"))
    return result


def _cpu_of(command: list[str], env: dict[str, str]) -> float:
    pid = os.posix_spawn(command[0], command, env)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed")
    return usage.ru_utime + usage.ru_stime


def cold_import_ratio(
    runtime: Runtime, configurations: list[dict[str, Any]], aws_env: dict[str, str], runs: int = 7
) -> float:
    """Median over interleaved runs of CPU(import the deployed handler) / CPU(import boto3).

    Both run as fresh ``python -S`` processes over the same runtime directory, with the
    deployed packages (and their bytecode) as Lambda sees them; the larger of the two
    handlers' ratios is returned.
    """
    worst = 0.0
    for configuration in configurations:
        env = _lambda_env(runtime, configuration, aws_env)
        module = configuration["Handler"].rpartition(".")[0]
        handler = [sys.executable, "-S", "-c", f"import {module}"]
        bare = [sys.executable, "-S", "-c", "import boto3"]
        bare_env = {**env, "PYTHONPATH": str(runtime.runtime_dir)}
        _cpu_of(handler, env), _cpu_of(bare, bare_env)  # warm the page cache
        ratios = [_cpu_of(handler, env) / _cpu_of(bare, bare_env) for _ in range(runs)]
        worst = max(worst, statistics.median(ratios))
    return worst


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def drive_drain(
    session: Any,
    runtime: Runtime,
    functions: dict[str, dict[str, Any]],
    rule_pattern: str,
    aws_env: dict[str, str],
    scratch: Path,
    subnet_id: str,
) -> DrainResult:
    """Opt a service in, start a drain, run task-events then the sweeper; see the stop."""
    from moto.backends import get_backend
    from moto.moto_api import state_manager

    # Tasks keep the status we give them (moto would otherwise walk them to STOPPED).
    state_manager.set_transition(
        model_name="ecs::task", transition={"progression": "manual", "times": 10**9}
    )
    result = DrainResult()
    ecs = session.client("ecs")
    account = session.client("sts").get_caller_identity()["Account"]
    region = aws_env["AWS_REGION"]
    prefix = functions["task-events"]["Environment"]["Variables"]["TAG_PREFIX"]

    cluster = ecs.create_cluster(clusterName="e2e-drain")["cluster"]["clusterArn"]
    ecs.register_task_definition(
        family="e2e-web",
        # Default network mode: moto's RunTask fails on awsvpc's network interface.
        containerDefinitions=[
            {
                "name": "app",
                "image": "nginx",
                "essential": True,
                "cpu": 256,
                "memory": 512,
                "portMappings": [{"containerPort": 80}],
            }
        ],
    )
    # The service sits behind a target group: a service without one has no drain to
    # shorten (stop cause no-target-group), and its drains are left to ECS.
    vpc_id = session.client("ec2").describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["VpcId"]
    target_group = session.client("elbv2").create_target_group(
        Name="e2e-web", Protocol="TCP", Port=80, VpcId=vpc_id, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition="e2e-web",
        desiredCount=0,
        launchType="FARGATE",
        loadBalancers=[
            {"targetGroupArn": target_group, "containerName": "app", "containerPort": 80}
        ],
        tags=[
            {"key": f"{prefix}enabled", "value": "true"},
            {"key": f"{prefix}wait-seconds", "value": str(WAIT_SECONDS)},
        ],
    )
    task = ecs.run_task(
        cluster=cluster,
        taskDefinition="e2e-web",
        launchType="FARGATE",
        group="service:web",
        startedBy="ecs-svc/e2e",
    )["tasks"][0]
    task_arn = task["taskArn"]

    # The drain (moto has none): desiredStatus STOPPED while lastStatus stays RUNNING.
    backend = get_backend("ecs")[account][region]
    modelled = backend.tasks["e2e-drain"][task_arn]
    modelled.desired_status = "STOPPED"
    modelled.last_status = "RUNNING"
    drain_started = datetime.now(UTC)

    described = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
    detail = {
        "clusterArn": cluster,
        "taskArn": task_arn,
        "taskDefinitionArn": described["taskDefinitionArn"],
        "group": "service:web",
        "launchType": "FARGATE",
        "lastStatus": described["lastStatus"],
        "desiredStatus": described["desiredStatus"],
        "version": 3,
        "createdAt": _iso(drain_started),
        "updatedAt": _iso(drain_started),
        "containers": [],
    }
    event = {
        "version": "0",
        "id": "7d3c1f3e-3b9e-4a52-9e0b-e2e000000001",
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": account,
        "time": _iso(drain_started).replace(".000Z", "Z"),
        "region": region,
        "resources": [task_arn],
        "detail": detail,
    }
    events_client = session.client("events")
    result.matched_pattern = events_client.test_event_pattern(
        EventPattern=rule_pattern, Event=json.dumps(event)
    )["Result"]
    if not result.matched_pattern:
        return result

    ran = invoke(runtime, functions["task-events"], [event], aws_env, scratch, account)
    result.task_events = ran["results"]
    result.calls["task-events"] = ran["calls"]
    result.modules["task-events"] = ran["modules"]
    result.imported_boto3 = ran["imported_boto3"]

    tick = {
        "version": "0",
        "id": "7d3c1f3e-3b9e-4a52-9e0b-e2e000000002",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": _iso(datetime.now(UTC)).replace(".000Z", "Z"),
        "region": region,
        "resources": [],
        "detail": {},
    }
    ran = invoke(runtime, functions["sweeper"], [tick], aws_env, scratch, account)
    result.sweeper = ran["results"]
    result.calls["sweeper"] = ran["calls"]
    result.modules["sweeper"] = ran["modules"]
    result.imported_boto3 = result.imported_boto3 or ran["imported_boto3"]

    after = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
    result.last_status = after.get("lastStatus")
    result.stopped_reason = after.get("stoppedReason")
    stops = [call["at"] for call in result.calls["sweeper"] if call["operation"] == "StopTask"]
    if stops:
        result.seconds_to_stop = min(stops) - drain_started.timestamp()
    return result
