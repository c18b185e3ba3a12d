"""The member role covers every call the hub's functions make in a member account.

The root module's function policies (read from ``terraform/*.tf`` as test_iam.py does,
through every ``aws_iam_role_policy`` and their ``source_policy_documents``) are the record of
what the functions call; the member role (``terraform/modules/member``, rendered by
Terraform core as test_member_equivalence.py does) must grant each of those actions that
acts on a member account's resources, behind the member variable that matches the root
variable gating it, and nothing the root does not grant. A call added to the functions and
to the root's IAM but not to ``terraform/patterns/member-role.json`` fails here.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest

from sim.terraform import load_tf
from tests.terraform.test_member_equivalence import MEMBER_DIR, Case, _terraform

# Actions of the root's function policies that act on the hub's own resources, never on a
# member account's: the deliberate exceptions, by service or action, with the reason.
HUB_ONLY = {
    "dynamodb": "the ledger table and its due-index live in the hub account",
    "sqs": "the functions' dead-letter queue lives in the hub account",
    "lambda": "the sweeper starts the hub's own sweeper function (hand-over, near deadlines)",
    "logs": "each function writes its own log group in the hub account",
    "xray": "traces go to the hub account's X-Ray",
    "cloudwatch": "metrics go to the hub account (EMF through the logs)",
    "events": "rules and buses of the hub account",
    "kms": "the customer key encrypts the hub's table, queue and functions",
    "sts:AssumeRole": "the hub's functions assume the member roles: the call that gets there",
}
# The root variable gating a statement (its dynamic block's for_each) -> the member's.
MATCHING_VARIABLES = {
    "backstop_enabled": "backstop",
    "exec_enabled": "exec_",
    "ssm_signal_enabled": "ssm_signal",
}
# for_each variables that scope a statement rather than switch a feature.
SCOPING_VARIABLES = {"cluster_arns", "member_account_ids"}
UNGATED = ""


def _hub_only(action: str) -> bool:
    return action in HUB_ONLY or action.split(":", maxsplit=1)[0] in HUB_ONLY


def _documents_of_function_roles(module: dict[str, Any]) -> set[str]:
    """Names of the policy documents attached to the function roles (and their sources)."""
    texts = [str(policy["policy"]) for policy in module["resource"]["aws_iam_role_policy"].values()]
    texts += [str(function["policy"]) for function in module["locals"]["functions"].values()]
    documents = module["data"]["aws_iam_policy_document"]
    names: set[str] = set()
    pending = [n for t in texts for n in re.findall(r"data\.aws_iam_policy_document\.(\w+)", t)]
    while pending:
        name = pending.pop()
        if name not in names:
            names.add(name)
            sources = documents[name].get("source_policy_documents", [])
            pending += re.findall(r"data\.aws_iam_policy_document\.(\w+)", str(sources))
    return names


def _gate(for_each: str) -> str:
    switches = set(re.findall(r"var\.(\w+)", for_each)) - SCOPING_VARIABLES
    assert len(switches) <= 1, f"statement gated by several variables: {for_each}"
    return switches.pop() if switches else UNGATED


def root_actions(module: dict[str, Any]) -> dict[str, set[str]]:
    """Every action the root grants the functions, by the variable gating it ("" none)."""
    documents = module["data"]["aws_iam_policy_document"]
    found: dict[str, set[str]] = {}
    for name in _documents_of_function_roles(module):
        document = documents[name]
        document_gate = _gate(str(document.get("count", "")))
        for statement in document.get("statement", []):
            found.setdefault(document_gate, set()).update(statement["actions"])
        for dynamic in document.get("dynamic", []):
            if "statement" not in dynamic:
                continue
            gate = _gate(dynamic["statement"]["for_each"]) or document_gate
            for content in dynamic["statement"]["content"]:
                found.setdefault(gate, set()).update(content["actions"])
    return found


@functools.cache
def member_actions(*switched_on: str) -> frozenset[str]:
    """The member role's actions with only ``switched_on`` features (listed clusters)."""
    case = Case(
        ["prod"],
        exec_="exec_" in switched_on,
        ssm_signal="ssm_signal" in switched_on,
        backstop="backstop" in switched_on,
    )
    return frozenset(a for s in _terraform(case)["statements"] for a in s["actions"])


def test_given_the_root_policies_when_read_then_the_functions_documents_are_found(
    module: dict[str, Any],
) -> None:
    assert {"task_events", "sweeper", "common"} <= _documents_of_function_roles(module)
    gates = set(root_actions(module))
    assert {UNGATED, *MATCHING_VARIABLES} <= gates
    # A new switch in the root must be given its member twin (or declared hub-only) here.
    unknown = {
        gate
        for gate, actions in root_actions(module).items()
        if gate not in MATCHING_VARIABLES
        and gate != UNGATED
        and not all(_hub_only(action) for action in actions)
    }
    assert unknown == set()


@pytest.mark.parametrize("gate", [UNGATED, *MATCHING_VARIABLES])
def test_given_a_root_feature_when_on_then_the_member_grants_its_account_calls(
    module: dict[str, Any], gate: str
) -> None:
    needed = {a for a in root_actions(module).get(gate, set()) if not _hub_only(a)}
    switched = () if gate == UNGATED else (MATCHING_VARIABLES[gate],)

    assert needed, gate
    assert needed - member_actions(*switched) == set()


@pytest.mark.parametrize("gate", list(MATCHING_VARIABLES))
def test_given_a_root_feature_when_off_then_the_member_does_not_grant_its_calls(
    module: dict[str, Any], gate: str
) -> None:
    always = root_actions(module)[UNGATED]
    gated = {a for a in root_actions(module)[gate] if not _hub_only(a)} - always

    assert gated, gate
    assert gated & member_actions() == set()


def test_given_every_feature_when_on_then_the_member_grants_nothing_the_root_does_not(
    module: dict[str, Any],
) -> None:
    granted = member_actions(*MATCHING_VARIABLES.values())
    by_root = set().union(*root_actions(module).values())

    assert granted - by_root == set()
    assert {a for a in granted if _hub_only(a)} == set()


def test_given_the_hub_only_exceptions_when_read_then_each_is_still_granted_by_the_root(
    module: dict[str, Any],
) -> None:
    by_root = set().union(*root_actions(module).values())
    # dynamodb, sqs, lambda, logs, xray, sts:AssumeRole are in the function policies today;
    # cloudwatch, events and kms (kms_key_arn) are listed so that adding them stays hub-only.
    present = {key for key in HUB_ONLY if any(a == key or a.startswith(f"{key}:") for a in by_root)}

    assert {"dynamodb", "sqs", "lambda", "logs", "xray", "sts:AssumeRole", "kms"} <= present


@pytest.mark.parametrize(
    ("root", "member"),
    [
        ("backstop_enabled", "enable_backstop"),
        ("exec_enabled", "enable_exec"),
        ("ssm_signal_enabled", "enable_ssm_signal"),
    ],
)
def test_given_matching_variables_when_read_then_their_defaults_agree(
    variables: dict[str, Any], root: str, member: str
) -> None:
    member_variables = load_tf(MEMBER_DIR / "variables.tf")["variable"]

    assert member_variables[member]["type"] == variables[root]["type"] == "bool"
    assert member_variables[member]["default"] == variables[root]["default"]
