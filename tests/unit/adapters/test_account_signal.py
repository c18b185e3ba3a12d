"""A hub's signal port: each signal step on a member's task made with that member's role, on
clients of the signal steps' flavour (botocore clients, AWS answered in-process)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import botocore.endpoint
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse

from serverless.adapters import clients, signal_ports
from serverless.adapters.account_signal import AccountSignalPort
from serverless.adapters.accounts import ROLE_FAILURE_SECONDS, AccountClients, make_client
from serverless.adapters.clients import RateLimiterHeldError
from serverless.adapters.errors import RATE_LIMITER_WAIT_MAX_SECONDS, call_time_bound, client_config
from serverless.adapters.exec_signal import ExecSignalAdapter
from serverless.adapters.ssm_signal import SsmSignalAdapter
from serverless.domain.errors import AwsUnavailableError
from serverless.domain.model import StopAction
from serverless.domain.signals import SignalCommand, SignalOutcome, SignalResult, SignalTarget
from serverless.settings import Settings

HUB, MEMBER, OTHER, STRANGER = "111122223333", "222233334444", "555566667777", "999988887777"
REGION = "us-east-1"
MEMBER_KEY = {MEMBER: "ASIAMEMBERAAAAAAAAAA", OTHER: "ASIAOTHERBBBBBBBBBBB"}
_STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def _target(account: str, region: str = REGION) -> SignalTarget:
    return SignalTarget(
        f"arn:aws:ecs:{region}:{account}:cluster/prod",
        f"arn:aws:ecs:{region}:{account}:task/prod/0123456789abcdef0123456789abcdef",
        "app",
    )


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.content = body

    def stream(self, **_: Any) -> Any:
        yield self.content


def _answer(request: Any, status: int, body: bytes) -> AWSResponse:
    return AWSResponse(request.url, status, {}, _Raw(body))  # type: ignore[arg-type]


def _assumed(account: str) -> bytes:
    return (
        f'<AssumeRoleResponse xmlns="{_STS_NS}"><AssumeRoleResult><Credentials>'
        f"<AccessKeyId>{MEMBER_KEY[account]}</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
        "<SessionToken>t</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>"
        "</Credentials><AssumedRoleUser><AssumedRoleId>AROA:x</AssumedRoleId>"
        f"<Arn>arn:aws:sts::{account}:assumed-role/member/x</Arn></AssumedRoleUser>"
        "</AssumeRoleResult></AssumeRoleResponse>"
    ).encode()


_DENIED = (
    f'<ErrorResponse xmlns="{_STS_NS}"><Error><Type>Sender</Type><Code>AccessDenied</Code>'
    "<Message>not authorized to perform sts:AssumeRole</Message></Error></ErrorResponse>"
).encode()
_THROTTLED = (
    f'<ErrorResponse xmlns="{_STS_NS}"><Error><Type>Sender</Type><Code>Throttling</Code>'
    "<Message>Rate exceeded</Message></Error></ErrorResponse>"
).encode()


class _HomePort:
    """The hub's own adapter: records what it was asked."""

    time_bound = 60.0

    def __init__(self) -> None:
        self.targets: list[SignalTarget] = []

    def signal(self, target: SignalTarget, command: SignalCommand) -> SignalResult:
        self.targets.append(target)
        return SignalResult(action="exec", outcome=SignalOutcome.SIGNALLED, elapsed=0.0)


@dataclass
class _Aws:
    """The member clients AccountClients makes, and the requests they sent."""

    #: Accounts whose member role answers AccessDenied; STS answering Throttling.
    broken: set[str] = field(default_factory=set)
    sts_throttled: bool = False
    made: list[tuple[str, str, Any]] = field(default_factory=list)  # service, account, client
    assumed: list[str] = field(default_factory=list)  # role ARNs
    #: (operation, the access key that signed it) of every member call.
    sent: list[tuple[str, str]] = field(default_factory=list)
    #: Throttled answers to give ExecuteCommand before its answer.
    exec_throttles: int = 0
    now: float = 1000.0

    def maker(
        self,
        session: botocore.session.Session,
        service: str,
        region: str,
        account: str,
        **keys: Any,
    ) -> Any:
        client = make_client(session, service, region, account, **keys)
        if service == "sts":
            client.meta.events.register("before-send.sts.AssumeRole", self._sts)
        else:
            self.made.append((service, account, client))
            client.meta.events.register(f"before-send.{service}", self._member_call)
        return client

    def _sts(self, request: Any, **_: Any) -> AWSResponse:
        text = request.body if isinstance(request.body, str) else request.body.decode()
        role = parse_qs(text)["RoleArn"][0]
        self.assumed.append(role)
        if self.sts_throttled:
            return _answer(request, 400, _THROTTLED)
        account = role.split(":")[4]
        if account in self.broken:
            return _answer(request, 403, _DENIED)
        return _answer(request, 200, _assumed(account))

    def _member_call(self, request: Any, **_: Any) -> AWSResponse:
        operation = request.headers["X-Amz-Target"].decode().rsplit(".", 1)[-1]
        key = request.headers["Authorization"].decode().split("Credential=")[1].split("/")[0]
        self.sent.append((operation, key))
        if operation == "ExecuteCommand" and self.exec_throttles:
            self.exec_throttles -= 1
            body = {"__type": "ThrottlingException", "message": "Rate exceeded"}
            return _answer(request, 400, json.dumps(body).encode())
        # No session to connect to: the exec adapter stops there (SESSION_FAILED).
        return _answer(request, 200, json.dumps({"session": {}}).encode())

    def accounts(self) -> AccountClients:
        source = botocore.session.Session()
        source.set_credentials("ASIAHUBCCCCCCCCCCCCC", "hub-secret")
        return AccountClients(
            Settings(table_name="t", member_account_ids=frozenset({MEMBER, OTHER})),
            home={},
            source=source,
            maker=self.maker,
            now=lambda: self.now,
            home_account=HUB,
            region=REGION,
        )


def _exec_port(aws: _Aws, home: _HomePort) -> AccountSignalPort:
    return AccountSignalPort(
        "exec",
        aws.accounts(),
        home,
        lambda member: ExecSignalAdapter(member.client("ecs", "signal"), member.client("ssm")),
    )


def test_given_member_tasks_when_signalled_then_each_call_signed_with_its_members_role() -> None:
    aws, home = _Aws(), _HomePort()
    port = _exec_port(aws, home)

    first = port.signal(_target(MEMBER), SignalCommand())
    port.signal(_target(OTHER), SignalCommand())
    port.signal(_target(MEMBER), SignalCommand())

    assert first.outcome is SignalOutcome.SESSION_FAILED  # the member's answer, judged
    assert aws.sent == [
        ("ExecuteCommand", MEMBER_KEY[MEMBER]),
        ("ExecuteCommand", MEMBER_KEY[OTHER]),
        ("ExecuteCommand", MEMBER_KEY[MEMBER]),
    ]
    assert aws.assumed == [
        f"arn:aws:iam::{MEMBER}:role/ecs-drain-terminator-member-{REGION}",
        f"arn:aws:iam::{OTHER}:role/ecs-drain-terminator-member-{REGION}",
    ]  # once per member and warm container
    # One adapter per member: its two clients made once, in its account.
    assert [(service, account) for service, account, _ in aws.made] == [
        ("ecs", MEMBER),
        ("ssm", MEMBER),
        ("ecs", OTHER),
        ("ssm", OTHER),
    ]
    assert home.targets == []


def test_given_the_hubs_own_task_when_signalled_then_its_own_adapter_and_no_role() -> None:
    aws, home = _Aws(), _HomePort()

    result = _exec_port(aws, home).signal(_target(HUB), SignalCommand())

    assert result.outcome is SignalOutcome.SIGNALLED
    assert home.targets == [_target(HUB)]
    assert aws.assumed == aws.made == []


def test_given_a_member_when_its_signal_clients_made_then_adaptive_with_the_wait_capped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aws = _Aws()
    port = AccountSignalPort(
        "ssm-signal",
        aws.accounts(),
        _HomePort(),
        lambda member: SsmSignalAdapter(
            member.client("ecs"), member.client("ssm"), send_client=member.client("ssm", "signal")
        ),
    )
    port.signal(_target(MEMBER), SignalCommand())  # DescribeTasks answers no task: gone
    made = {(service, c.meta.config.retries["mode"]): c for service, _, c in aws.made}

    assert set(made) == {("ecs", "standard"), ("ssm", "standard"), ("ssm", "adaptive")}
    send = made[("ssm", "adaptive")]
    assert send.meta.config.retries["total_max_attempts"] == 5
    ticks = iter([100.0, 100.0 + RATE_LIMITER_WAIT_MAX_SECONDS + 0.5])
    monkeypatch.setattr(clients, "_monotonic", lambda: next(ticks))

    class _Request:
        context: dict[str, Any] = {}  # noqa: RUF012 - one request, one context
        url = "https://ssm.us-east-1.amazonaws.com/"
        headers = {  # noqa: RUF012 - one request
            "X-Amz-Target": b"AmazonSSM.SendCommand",
            "Authorization": f"AWS4 Credential={MEMBER_KEY[MEMBER]}/x".encode(),
        }

    with pytest.raises(RateLimiterHeldError):
        send.meta.events.emit("before-send.ssm.SendCommand", request=_Request())


def test_given_a_members_execute_command_throttled_when_signalled_then_counted() -> None:
    aws = _Aws(exec_throttles=2)

    result = _exec_port(aws, _HomePort()).signal(_target(MEMBER), SignalCommand())

    assert [op for op, _ in aws.sent] == ["ExecuteCommand"] * 3  # adaptive retries
    assert result.throttled == 2


def test_given_a_broken_member_role_when_signalled_then_refused_and_not_asked_again_soon() -> None:
    aws = _Aws(broken={MEMBER})
    port = _exec_port(aws, _HomePort())

    first = port.signal(_target(MEMBER), SignalCommand())
    again = port.signal(_target(MEMBER), SignalCommand())
    other = port.signal(_target(OTHER), SignalCommand())

    assert first.outcome is again.outcome is SignalOutcome.REFUSED
    assert first.action == "exec"
    assert f"member role of account {MEMBER} unavailable" in first.detail
    assert "AccessDenied" in first.detail
    assert [role.split(":")[4] for role in aws.assumed] == [MEMBER, OTHER]  # remembered
    assert aws.sent == [("ExecuteCommand", MEMBER_KEY[OTHER])]  # nothing sent for MEMBER
    assert other.outcome is SignalOutcome.SESSION_FAILED  # the other member unaffected

    aws.now += ROLE_FAILURE_SECONDS + 1
    aws.broken.clear()  # the trust is fixed: the next step after the pause assumes it
    port.signal(_target(MEMBER), SignalCommand())
    assert aws.sent[-1] == ("ExecuteCommand", MEMBER_KEY[MEMBER])


@pytest.mark.parametrize(
    ("account", "region", "reason"),
    [
        (STRANGER, REGION, f"account {STRANGER} is not a member of this hub"),
        (MEMBER, "eu-west-1", "region eu-west-1 is not this hub's region"),
    ],
)
def test_given_a_task_the_hub_does_not_serve_when_signalled_then_refused_without_calls(
    account: str, region: str, reason: str
) -> None:
    aws, home = _Aws(), _HomePort()

    result = _exec_port(aws, home).signal(_target(account, region), SignalCommand())

    assert result.outcome is SignalOutcome.REFUSED
    assert reason in result.detail
    assert aws.assumed == aws.made == aws.sent == home.targets == []


def test_given_sts_unavailable_when_signalled_then_aws_unavailable_raised_as_the_port_says() -> (
    None
):
    aws = _Aws(sts_throttled=True)

    with pytest.raises(AwsUnavailableError, match="AssumeRole"):
        _exec_port(aws, _HomePort()).signal(_target(MEMBER), SignalCommand())
    assert aws.sent == []


def test_given_a_hub_port_when_bounded_then_one_assume_role_more_than_its_adapter() -> None:
    port = _exec_port(_Aws(), _HomePort())

    assert port.time_bound == _HomePort.time_bound + call_time_bound(client_config("sts"))


def test_given_single_account_settings_when_ports_made_then_plain_adapters() -> None:
    settings = Settings(table_name="t", exec_enabled=True, ssm_signal_enabled=True)

    ports = signal_ports(settings)

    assert isinstance(ports[StopAction.EXEC], ExecSignalAdapter)
    assert isinstance(ports[StopAction.SSM_SIGNAL], SsmSignalAdapter)


def test_given_a_hub_when_ports_made_then_each_routed_per_account() -> None:
    settings = Settings(
        table_name="t",
        exec_enabled=True,
        ssm_signal_enabled=True,
        member_account_ids=frozenset({MEMBER}),
    )

    ports = signal_ports(settings, accounts=_Aws().accounts())

    assert all(isinstance(port, AccountSignalPort) for port in ports.values())
    assert set(ports) == {StopAction.EXEC, StopAction.SSM_SIGNAL}
