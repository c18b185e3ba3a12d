"""``python -m tools.e2e`` (``make e2e``): deploy for real, offline, and run what was deployed.

1. Find Terraform and a filesystem mirror of hashicorp/aws (else print ONE line saying
   what was skipped and why, exit 0); choose the provider version (the newest mirrored,
   or ``DRAIN_TERMINATOR_AWS_PROVIDER_VERSION``) and write our own CLI configuration.
2. Start moto's server in-process on a free loopback port; create what the
   configurations take as inputs (VPC, subnets, bucket, KMS key, SNS topic, an AMI).
   Start the provider once per configuration applied side by side, in debug mode
   (``provider_server``: Terraform reattaches to it instead of starting the plugin, and
   building its schema, in every command; a server holds one provider configuration, so
   no two commands share one at a time, and the steps before the side-by-side ones use
   the first); where it cannot, every command starts its own and the summary says why.
3. ``terraform validate`` examples/minimal (it calls the module as ``../..``, so the
   module is validated with it): 0 errors, 0 warnings. The module alone (step 4),
   examples/complete and examples/premise are not validated apart: each plan of them
   validates them first, and every plan must report 0 warnings (and 0 errors). Plan the
   module sourced by an absolute path (Terraform copies terraform/ alone) with a cluster
   of another region: the plan is refused with both messages.
4. Apply examples/complete (module defaults: arm64, packages built at apply time) and
   the module alone with non-default inputs (customer KMS key, every cluster, an existing
   alarm topic, x86_64, the runtime of this Python so the packages carry bytecode, and
   the release artifacts of ``tools.release`` as ``prebuilt_packages``, checked against
   their SHA256SUMS); the CLI's ``--from-terraform`` reader finds the ledger in the
   re-exported outputs. Beside them, examples/premise with its EC2 variant (deploying the
   same release artifacts); with ``--premise-plan-only`` (``make test``'s background run)
   it is planned instead: every resource a create.
5. Re-plan them: no changes (moto's gaps are patched in tools/e2e/local_aws.py), no
   warnings.
6. Run the module's deployed packages through a drain (tools/e2e/deployed.py): the
   StopTask after the wait; parliament over every deployed policy; every call the
   handlers made allowed by the deployed role policy (moto's IAM evaluator); cold-import
   CPU of the deployed handlers against a bare ``import boto3``.
7. A code-only change: the example's plan touches only the functions (and their
   package build).
8. Destroy them; the state is empty.

Ends with one summary line; exit status 1 if any check failed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from serverless.cli.terraform_outputs import from_outputs
from tools.e2e import deployed, iam_check
from tools.e2e.local_aws import MOTO_GAPS, REGION, credentials_env, local_aws
from tools.e2e.terraform import (
    Missing,
    ProviderServerError,
    Terraform,
    TerraformError,
    find_plugin_dir,
    find_terraform,
    locked_version,
    provider_binary,
    provider_server,
    provider_versions,
    select_provider,
    write_cli_config,
)
from tools.e2e.workspace import create_fixtures, make_refused_root, make_workspace

__all__ = [
    "PREMISE_PLAN_ONLY",
    "Run",
    "Session",
    "check_iam",
    "check_outputs",
    "check_refusals",
    "code_change",
    "main",
    "provider_lanes",
    "run_deployed",
]

LAYER_LIMIT_BYTES = 2 * 1024 * 1024
#: The option `make test`'s background lifecycle passes: examples/premise validated and
#: planned, not applied (tests/support/background.py).
PREMISE_PLAN_ONLY = "--premise-plan-only"
IMPORT_RATIO_TARGET = 1.2
# A code-only change may touch these resource types, nothing else.
CODE_CHANGE_TYPES = frozenset({"aws_lambda_function", "terraform_data"})
# What a plan of the module sourced alone with a cluster of another region must say.
REFUSALS = {
    "module sourced alone": "Source it from the repository with a //terraform subdirectory",
    "cluster of another region": "cluster_arns lists clusters this deployment can never serve",
}


class Session:
    """boto3 clients pointed at the local endpoint."""

    def __init__(self, endpoint: str) -> None:
        import boto3

        self._session = boto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
            region_name=REGION,
        )
        self._endpoint = endpoint

    def client(self, name: str) -> Any:
        return self._session.client(name, endpoint_url=self._endpoint)


def _prerequisites() -> tuple[Path, Path]:
    terraform = find_terraform()
    plugin_dir = find_plugin_dir()
    try:
        import flask  # noqa: F401  (moto's server)
        import parliament  # noqa: F401
    except ImportError as error:
        # The project's own lock installs these: their absence is a broken environment,
        # not a machine without Terraform, so it fails instead of skipping.
        raise TerraformError(
            f"{error.name} is not installed: rebuild the environment (make .venv/main/.installed)"
        ) from error
    return terraform, plugin_dir


def _diagnostics(result: dict[str, Any]) -> list[str]:
    return [
        f"{item['severity']}: {item['summary']} {item.get('range', {}).get('filename', '')}"
        for item in result.get("diagnostics", [])
    ]


def _changes_text(changes: list[dict[str, Any]]) -> str:
    return ", ".join(f"{c['address']} {'/'.join(c['change']['actions'])}" for c in changes)


class Run:
    """One lifecycle's state: its Terraform, endpoint session, failures and summary."""

    def __init__(self, terraform: Terraform, session: Session, root: Path) -> None:
        self.terraform = terraform
        self.session = session
        self.root = root
        self.failures: list[str] = []
        self.summary: dict[str, str] = {}
        self.subnet_id = ""
        #: The hashicorp/aws version chosen, and its plugin (None: the mirror holds none).
        self.provider_version = ""
        self.provider: Path | None = None

    def check(self, condition: bool, failure: str) -> bool:
        if not condition:
            self.failures.append(failure)
            print(f"e2e: FAIL {failure}", flush=True)
        return condition

    def step(self, text: str) -> None:
        print(f"e2e: {text}", flush=True)


def _resources(terraform: Terraform, directory: Path) -> list[dict[str, Any]]:
    return terraform.state_resources(directory)


def _module_resources(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        resource["address"].removeprefix("module.drain_terminator."): resource["values"]
        for resource in resources
        if resource["address"].startswith("module.drain_terminator.")
    }


def run_deployed(
    run: Run, workspace_root: Path, module_state: dict[str, dict[str, Any]], aws_env: dict[str, str]
) -> None:
    session = run.session
    lambda_ = session.client("lambda")
    functions: dict[str, dict[str, Any]] = {}
    for key in ("task-events", "sweeper"):
        values = module_state[f'aws_lambda_function.this["{key}"]']
        functions[key] = lambda_.get_function(FunctionName=values["function_name"])["Configuration"]
    function_values = module_state['aws_lambda_function.this["sweeper"]']
    layer_values = module_state["aws_lambda_layer_version.dependencies"]
    layer = lambda_.get_layer_version(
        LayerName=layer_values["layer_name"], VersionNumber=int(layer_values["version"])
    )
    function_package = deployed.Package(
        Path(function_values["filename"]), functions["sweeper"]["CodeSha256"]
    )
    if not run.check(
        functions["task-events"]["CodeSha256"] == functions["sweeper"]["CodeSha256"],
        "the two functions do not run the same package",
    ):
        return
    # Terraform's paths are relative to the root module's directory.
    base = run.root / "module"
    function_package = deployed.Package(
        base / function_package.path, function_package.deployed_sha256
    )
    layer_package = deployed.Package(
        base / layer_values["filename"], layer["Content"]["CodeSha256"]
    )
    layer_size = layer_package.path.stat().st_size
    run.summary["layer"] = f"layer {layer_size / 1e6:.2f} MB"
    run.check(layer_size <= LAYER_LIMIT_BYTES, f"layer is {layer_size} bytes (> 2 MB)")
    with zipfile.ZipFile(function_package.path) as archive:
        names = archive.namelist()
    run.check(
        any(name.endswith(".pyc") for name in names),
        "the function package holds no bytecode although the build Python is the runtime's",
    )
    cli = [name for name in names if name.startswith("serverless/cli/")]
    run.check(not cli, f"the deployed function package holds CLI modules: {cli[:3]}")
    try:
        runtime = deployed.unpack(function_package, layer_package, workspace_root / "lambda")
    except AssertionError as error:
        run.check(False, str(error))
        return
    run.step("deployed packages match CodeSha256; running the handlers from them")

    rule = session.client("events").describe_rule(
        Name=module_state['aws_cloudwatch_event_rule.this["task-events"]']["name"]
    )
    scratch = workspace_root / "invocations"
    scratch.mkdir()
    result = deployed.drive_drain(
        session, runtime, functions, rule["EventPattern"], aws_env, scratch, run.subnet_id
    )
    run.check(result.matched_pattern, "the drain event does not match the deployed rule")
    for name, results in (("task-events", result.task_events), ("sweeper", result.sweeper)):
        for outcome in results:
            run.check(outcome["ok"], f"{name} raised:\n{outcome.get('error', '')}")
    for name, modules in result.modules.items():
        for package in ("handlers", "serverless"):
            run.check(
                str(modules.get(package, "")).startswith(str(runtime.task_root)),
                f"{name}: {package} did not come from the deployed function package",
            )
        run.check(
            str(modules.get("aws_lambda_powertools", "")).startswith(str(runtime.opt)),
            f"{name}: aws_lambda_powertools did not come from the deployed layer",
        )
    if run.check(result.ok, f"no StopTask after the wait (task {result.last_status})"):
        run.summary["drain"] = (
            f"deployed-artifact drain: StopTask {result.seconds_to_stop:.1f}s after the drain "
            f"(wait {deployed.WAIT_SECONDS}s)"
        )
    else:
        run.summary["drain"] = "deployed-artifact drain: FAILED"
    run.summary["boto3"] = "boto3 imported" if result.imported_boto3 else "boto3 not imported"

    check_iam(run, module_state, result.calls)
    # A speed target, reported, never a pass/fail condition (timings belong in benchmarks).
    ratio = deployed.cold_import_ratio(runtime, list(functions.values()), aws_env)
    verdict = "meets" if ratio <= IMPORT_RATIO_TARGET else "misses"
    run.summary["import"] = (
        f"cold import {ratio:.2f}x bare boto3 ({verdict} the {IMPORT_RATIO_TARGET}x target)"
    )


def check_iam(
    run: Run, module_state: dict[str, dict[str, Any]], calls: dict[str, list[dict[str, Any]]]
) -> None:
    """parliament over every deployed policy; every recorded call against its role."""
    session = run.session
    functions = ("task-events", "sweeper")
    roles = {key: module_state[f'aws_iam_role.this["{key}"]']["name"] for key in functions}
    queue_url = module_state["aws_sqs_queue.dead_letter"]["url"]
    documents = iam_check.deployed_policies(session, roles.values(), queue_url)
    findings = iam_check.lint_policies(documents)
    for finding in findings:
        run.check(False, f"parliament: {finding}")
    run.summary["parliament"] = f"parliament: {len(findings)} findings in {len(documents)} policies"
    role_policies = {key: documents[f"{roles[key]} {key}"] for key in functions}
    account = session.client("sts").get_caller_identity()["Account"]
    checked, denied = iam_check.unauthorised_calls(calls, role_policies, account, REGION)
    for item in denied:
        run.check(
            False, f"IAM: {item.function} called {item.action} on {item.resource}, not allowed"
        )
    run.check(checked > 0, "the handlers made no AWS call")
    run.summary["iam"] = f"IAM: {checked - len(denied)}/{checked} calls allowed"


def check_refusals(run: Run, terraform: Terraform, directory: Path) -> None:
    """The plan of a configuration the module can never serve fails with its messages."""
    completed = terraform.run(directory, "plan", "-input=false", "-no-color", ok=(0, 1, 2))
    # Terraform boxes its diagnostics ("│ " before every wrapped line): unwrap them.
    said = " ".join(re.sub("[│╷╵]", " ", completed.stdout + completed.stderr).split())
    missing = [name for name, text in REFUSALS.items() if text not in said]
    run.check(
        completed.returncode == 1 and not missing,
        f"the plan of the refused configuration exited {completed.returncode} without the "
        f"messages for {missing}:\n{said[-3000:]}",
    )
    run.summary["refused"] = (
        f"refused at plan: {', '.join(REFUSALS)}" if not missing else "refused at plan: FAILED"
    )


def check_outputs(run: Run, directory: Path, module_state: dict[str, dict[str, Any]]) -> None:
    """One ``functions`` map, and the CLI's reader finds the ledger in the re-export."""
    # `terraform output` loads no provider: the plain Terraform will do.
    shown = run.terraform.run(directory, "output", "-json", "-no-color")
    outputs = json.loads(shown.stdout)
    module = outputs["drain_terminator"]["value"]
    run.check(
        set(module.get("functions", {})) == {"task-events", "sweeper"},
        f"the functions output is {module.get('functions')}",
    )
    for key, function in module.get("functions", {}).items():
        deployed = module_state[f'aws_lambda_function.this["{key}"]']
        run.check(function.get("arn") == deployed["arn"], f"functions[{key!r}].arn differs")
    table = module_state["aws_dynamodb_table.ledger"]["name"]
    found = from_outputs(outputs)
    run.check(found.table_name == table, f"--from-terraform found {found}, not {table}")


def code_change(
    run: Run, terraform: Terraform, source: Path, directory: Path, var_file: Path
) -> None:
    """A code-only change: the plan touches only the two functions (and their build)."""
    target = source / "serverless" / "settings.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n# e2e: a code-only change\n")
    plan = terraform.plan(directory, var_file)
    _check_diagnostics(run, f"the plan of a code-only change of {directory.name}", plan.diagnostics)
    changes = plan.changes
    touched = {change["type"] for change in changes}
    functions = [c for c in changes if c["type"] == "aws_lambda_function"]
    ok = run.check(
        len(functions) == 2
        and touched <= CODE_CHANGE_TYPES
        and all(c["change"]["actions"] == ["update"] for c in functions),
        f"a code-only change planned {_changes_text(changes)}",
    )
    run.summary["code"] = (
        f"code change: {len(functions)} functions updated, nothing else"
        if ok
        else "code change: FAILED"
    )


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    module_only = "--module-only" in arguments  # quicker loop while developing
    # `make test` runs the lifecycle beside the tests: there examples/premise is validated
    # and planned only (its apply, re-plan and destroy cost about 20 s of CPU more).
    premise_plan_only = PREMISE_PLAN_ONLY in arguments
    started = time.monotonic()
    try:
        terraform_binary, plugin_dir = _prerequisites()
    except Missing as missing:
        print(f"e2e: skipped (Terraform lifecycle on a local AWS endpoint): {missing}")
        return 0
    except TerraformError as broken:
        print(f"e2e: FAIL {broken}")
        return 1
    root = Path(tempfile.mkdtemp(prefix="drain-terminator-e2e-"))
    runtime = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    versions = ", ".join(provider_versions(plugin_dir))
    try:
        provider_version, mirror = select_provider(plugin_dir, root)
        print(
            f"e2e: terraform {terraform_binary}, hashicorp/aws {provider_version} (mirrored: "
            f"{versions}) from {plugin_dir}; scratch {root}",
            flush=True,
        )
        with local_aws() as endpoint:
            aws_env = credentials_env(endpoint)
            base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
            terraform = Terraform(
                terraform_binary,
                write_cli_config(root / "terraform.rc", mirror),
                {**base_env, **aws_env, "TF_PLUGIN_CACHE_DIR": ""},
            )
            run = Run(terraform, Session(endpoint), root)
            run.summary["provider"] = f"hashicorp/aws {provider_version}"
            run.provider_version = provider_version
            try:
                run.provider = provider_binary(mirror, provider_version)
            except Missing as missing:
                run.step(f"provider servers: none ({missing})")
            outcome = _lifecycle(run, root, aws_env, runtime, module_only, premise_plan_only)
    except (TerraformError, Missing) as error:
        print(f"e2e: FAIL {error}")
        print(f"e2e: FAILED after {time.monotonic() - started:.0f}s (scratch kept: {root})")
        return 1
    elapsed = time.monotonic() - started
    parts = [
        outcome.summary.get(key, f"{key}: not reached")
        for key in (
            "provider",
            "applied",
            "premise",
            "replan",
            "refused",
            "release",
            "code",
            "destroy",
            "drain",
            "parliament",
            "iam",
            "import",
            "layer",
        )
    ]
    status = "OK" if not outcome.failures else f"FAILED ({len(outcome.failures)} checks)"
    print("\n".join(f"e2e:   {line}" for line in terraform.log))
    print(f"e2e: {status} in {elapsed:.0f}s: " + "; ".join(parts))
    if not outcome.failures:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"e2e: scratch kept for inspection: {root}")
    return 0 if not outcome.failures else 1


def _check_diagnostics(run: Run, what: str, diagnostics: list[str]) -> None:
    """A plan stands in for ``terraform validate``: 0 errors, 0 warnings."""
    run.check(not diagnostics, f"{what}: {diagnostics}")


def provider_lanes(
    stack: ExitStack, run: Run, directories: Mapping[str, Path]
) -> dict[str, Terraform]:
    """One Terraform per lane, each attached to its own provider server started in the
    lane's directory (closed with ``stack``); where a server cannot be started, every
    lane's commands start their own plugin and the summary says why.

    One server per lane: a server holds one provider configuration, so two commands
    running side by side on one server would configure each other's provider.
    """
    reason = "no provider executable in the mirror"
    if run.provider is not None:
        try:
            with ExitStack() as started:
                servers = {
                    name: started.enter_context(provider_server(run.terraform, run.provider, path))
                    for name, path in directories.items()
                }
                stack.enter_context(started.pop_all())
        except ProviderServerError as error:
            reason = error.reason
            run.step(f"provider servers: none, each command starts its own provider ({error})")
        else:
            run.summary["provider"] += f" ({len(servers)} provider servers, one per lane)"
            run.step(f"provider servers: {', '.join(servers)}")
            return {name: run.terraform.attached(server) for name, server in servers.items()}
    run.summary["provider"] += f" (each command starts its own provider: {reason})"
    return dict.fromkeys(directories, run.terraform)


def _apply_and_replan(
    run: Run, terraform: Terraform, name: str, directory: Path, var_file: Path
) -> tuple[str, int, bool]:
    terraform.apply(directory, var_file)
    count = len(_resources(terraform, directory))
    run.step(f"applied {name}: {count} resources")
    # The apply's output is text; the plan right after it, of the same configuration and
    # variables, validates that configuration again and reports its warnings as JSON.
    plan = terraform.plan(directory, var_file)
    _check_diagnostics(run, f"the re-plan of {name}", plan.diagnostics)
    changes = plan.changes
    run.check(not changes, f"re-plan of {name} not empty: {_changes_text(changes)}")
    return name, count, not changes


def _destroy(run: Run, terraform: Terraform, name: str, directory: Path, var_file: Path) -> bool:
    terraform.destroy(directory, var_file)
    left = _resources(terraform, directory)
    run.check(not left, f"destroy of {name} left {[r['address'] for r in left]}")
    return not left


def _lifecycle(
    run: Run,
    root: Path,
    aws_env: dict[str, str],
    runtime: str,
    module_only: bool = False,
    premise_plan_only: bool = False,
) -> Run:
    terraform = run.terraform
    fixtures = create_fixtures(run.session)
    run.subnet_id = fixtures.subnet_ids[0]
    workspace = make_workspace(root, fixtures, sys.executable, runtime)
    run.summary["release"] = (
        f"release {workspace.release_version}: {len(workspace.release_sums)} artifacts "
        "deployed as prebuilt_packages"
    )
    minimal_dir = workspace.source / "terraform" / "examples" / "minimal"
    refused_root = make_refused_root(root, workspace.source)
    premise_dir = workspace.premise_root
    # Each of them calls the module, so each lock also admits the module's constraints.
    directories = (minimal_dir, workspace.module_root, workspace.example_root, premise_dir)
    for directory in (*directories, refused_root):
        terraform.init(directory)
    chosen = run.provider_version
    for directory in directories:
        run.check(locked_version(directory) == chosen, f"{directory.name} did not lock {chosen}")

    targets: tuple[tuple[str, Path, Path], ...] = (
        ("module", workspace.module_root, workspace.module_vars),
        ("example", workspace.example_root, workspace.example_vars),
    )
    if module_only:
        targets = targets[:1]
    elif not premise_plan_only:
        targets = (*targets, ("premise", premise_dir, workspace.premise_vars))
    with ExitStack() as stack:
        lanes = provider_lanes(stack, run, {name: directory for name, directory, _ in targets})
        # The steps before the lanes run one at a time on the first lane's server: none of
        # them applies, so the provider reads no file by a path relative to its directory.
        first = lanes[targets[0][0]]
        result = first.validate(minimal_dir)
        problems = _diagnostics(result)
        run.check(
            result.get("valid") is True and not problems, f"validate examples/minimal: {problems}"
        )
        run.step(
            "validate: examples/minimal (and the module it calls), 0 errors, 0 warnings; the "
            "module alone, examples/complete and examples/premise: by their plans, 0 warnings"
        )
        check_refusals(run, first, refused_root)
        if premise_plan_only and not module_only:
            plan = first.plan(premise_dir, workspace.premise_vars)
            _check_diagnostics(run, "the plan of examples/premise", plan.diagnostics)
            creates = [c for c in plan.changes if c["change"]["actions"] == ["create"]]
            run.check(
                len(creates) == len(plan.changes) > 0,
                "a fresh plan of examples/premise is not all creates: "
                + _changes_text(plan.changes),
            )
            run.summary["premise"] = (
                f"premise: validated and planned ({len(creates)} to create; make e2e applies it)"
            )
        elif not module_only:
            run.summary["premise"] = "premise (EC2 variant): applied, re-planned and destroyed"
        # The configurations are independent: apply and re-plan them side by side, each
        # on its own provider server.
        with ThreadPoolExecutor(max_workers=len(targets)) as pool:
            applied = list(
                pool.map(lambda target: _apply_and_replan(run, lanes[target[0]], *target), targets)
            )
        run.summary["applied"] = (
            "applied " + " + ".join(f"{n} ({name})" for name, n, _ in applied) + " resources"
        )
        run.summary["replan"] = (
            "re-plan: no changes" if all(empty for _, _, empty in applied) else "re-plan: CHANGES"
        ) + f" (moto gaps patched: {len(MOTO_GAPS)})"

        module_state = _module_resources(_resources(terraform, workspace.module_root))
        check_outputs(run, workspace.module_root, module_state)
        try:
            run_deployed(run, root, module_state, aws_env)
        except Exception as error:  # a broken step is a failure, and destroy still runs
            run.check(False, f"running the deployed packages: {error!r}")

        # The example builds its packages at apply (the module alone deploys prebuilt zips).
        if not module_only:
            code_change(
                run,
                lanes["example"],
                workspace.source,
                workspace.example_root,
                workspace.example_vars,
            )

        with ThreadPoolExecutor(max_workers=len(targets)) as pool:
            destroyed = list(
                pool.map(lambda target: _destroy(run, lanes[target[0]], *target), targets)
            )
    run.summary["destroy"] = "destroy: clean" if all(destroyed) else "destroy: LEFT RESOURCES"
    return run


if __name__ == "__main__":
    sys.exit(main())
