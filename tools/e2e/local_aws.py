"""A local AWS endpoint: moto's server in this process, on a free loopback port.

moto's known gaps that the real provider would see as drift are patched here, in the
harness only, and named in :data:`MOTO_GAPS`:

* Lambda ``GetFunction``/``GetFunctionConfiguration`` omit ``DeadLetterConfig`` and
  ``LoggingConfig`` (the provider would plan to set them again on every plan);
* ECS ``DescribeServices`` omits ``availabilityZoneRebalancing`` and
  ``enableExecuteCommand``, and answers an empty
  ``networkConfiguration`` for a service without one (bridge networking on EC2): AWS omits
  it, and hashicorp/aws crashes reading the empty one;
* EC2 security-group rules that reference another group lose their description;
* EC2 instances launched with a network interface (a public address) list none of its
  security groups as theirs;
* EventBridge ``TestEventPattern`` is not implemented: it is answered with moto's own
  pattern matcher (the one its rules use to route events).

Each patch returns what the request set, nothing invented.

AWS's managed IAM policies exist in every account; moto loads its copy of them only when
asked (``MOTO_IAM_LOAD_MANAGED_POLICIES``, about 0.1 s of CPU per account): the server here
always has them, as examples/premise attaches two to its container instance's role.

moto also has no ECS draining: a drain is modelled where it is driven (see
:mod:`tools.e2e.deployed`).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

__all__ = ["MOTO_GAPS", "REGION", "credentials_env", "local_aws", "moto_gaps_patched"]

#: What one gap's patch sets: (object, attribute, the value it takes while patched).
_Patches = list[tuple[Any, str, Any]]

REGION = "us-east-1"
MOTO_GAPS = (
    "Lambda GetFunction omits DeadLetterConfig and LoggingConfig",
    "ECS DescribeServices omits availabilityZoneRebalancing and enableExecuteCommand",
    "ECS services without a network configuration answer an empty one",
    "EC2 security-group rules that reference a group lose their description",
    "EC2 instances launched with a network interface list none of its security groups",
    "EventBridge TestEventPattern is not implemented (answered with moto's own matcher)",
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _patch_lambda_configuration() -> _Patches:
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.get_configuration

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        configuration: dict[str, Any] = original(self, on_create)
        spec = getattr(self, "_e2e_spec", None) or {}
        if "DeadLetterConfig" in spec and "DeadLetterConfig" not in configuration:
            configuration["DeadLetterConfig"] = spec["DeadLetterConfig"]
        if "LoggingConfig" in spec and "LoggingConfig" not in configuration:
            configuration["LoggingConfig"] = spec["LoggingConfig"]
        return configuration

    original_init = LambdaFunction.__init__

    def __init__(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kw: Any) -> None:
        original_init(self, account_id, spec, *args, **kw)
        self._e2e_spec = {
            key: spec[key] for key in ("DeadLetterConfig", "LoggingConfig") if key in spec
        }

    original_update = LambdaFunction.update_configuration

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> Any:
        kept = getattr(self, "_e2e_spec", {})
        for key in ("DeadLetterConfig", "LoggingConfig"):
            if key in config_updates:
                kept[key] = config_updates[key]
        self._e2e_spec = kept
        return original_update(self, config_updates)

    return [
        (LambdaFunction, "get_configuration", get_configuration),
        (LambdaFunction, "__init__", __init__),
        (LambdaFunction, "update_configuration", update_configuration),
    ]


#: CreateService/UpdateService parameters moto ignores, and the model attribute its
#: DescribeServices answer reads each from.
_ECS_SERVICE_FIELDS = (
    ("availabilityZoneRebalancing", "availability_zone_rebalancing"),
    ("enableExecuteCommand", "enable_execute_command"),
)


def _patch_ecs_service() -> _Patches:
    from moto.ecs.responses import EC2ContainerServiceResponse

    def recording(name: str) -> Any:
        original = getattr(EC2ContainerServiceResponse, name)

        def call(self: Any) -> Any:
            result = original(self)
            values = {
                attribute: self._get_param(parameter)
                for parameter, attribute in _ECS_SERVICE_FIELDS
                if self._get_param(parameter) is not None
            }
            if values:
                cluster = self._get_param("cluster", "default")
                service = self._get_param("serviceName") or self._get_param("service")
                found, _ = self.ecs_backend.describe_services(cluster, [service])
                for model in found:
                    for attribute, value in values.items():
                        setattr(model, attribute, value)
            return result

        return call

    return [
        (EC2ContainerServiceResponse, name, recording(name))
        for name in ("create_service", "update_service")
    ]


def _patch_ecs_empty_network_configuration() -> _Patches:
    from moto.ecs.models import Service

    original_init = Service.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if not self.network_configuration:
            self.network_configuration = None  # omitted from the answer, as AWS does

    return [(Service, "__init__", __init__)]


def _patch_instance_security_groups() -> _Patches:
    from moto.ec2.models.instances import Instance

    original_init = Instance.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if not self.security_groups and 0 in self.nics:
            self.security_groups = sorted(self.nics[0].group_set, key=lambda group: group.id)

    return [(Instance, "__init__", __init__)]


def _patch_security_group_rule_description() -> _Patches:
    from moto.ec2.models.security_groups import SecurityGroupRule

    def description(self: Any) -> str | None:
        found: str | None = self.ip_range.get("Description") or self.source_group.get("Description")
        return found

    return [(SecurityGroupRule, "description", property(description))]


def _patch_test_event_pattern() -> _Patches:
    import json

    from moto.events.models import EventPattern
    from moto.events.responses import EventsHandler

    def test_event_pattern(self: Any) -> tuple[str, dict[str, Any]]:
        pattern = EventPattern.load(self._get_param("EventPattern"))
        event = json.loads(self._get_param("Event"))
        return json.dumps({"Result": pattern.matches_event(event)}), self.response_headers

    return [(EventsHandler, "test_event_pattern", test_event_pattern)]


def credentials_env(endpoint: str) -> dict[str, str]:
    """Environment that sends every AWS SDK (the provider, botocore) to ``endpoint``."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }


def _load_aws_managed_policies() -> _Patches:
    import moto.iam.models

    return [(moto.iam.models, "load_iam_aws_managed_policies", lambda: True)]


_GAPS = (
    _patch_lambda_configuration,
    _patch_ecs_service,
    _patch_ecs_empty_network_configuration,
    _patch_instance_security_groups,
    _patch_security_group_rule_description,
    _patch_test_event_pattern,
    _load_aws_managed_policies,
)


@contextmanager
def moto_gaps_patched() -> Iterator[None]:
    """moto with the gaps of :data:`MOTO_GAPS` patched and its AWS managed policies loaded,
    undone on exit: a test process that starts the local endpoint must not leave the
    rest of its tests (or their cost: every account then loads ~1,300 policies) changed."""
    with ExitStack() as undo:
        for gap in _GAPS:
            for target, name, value in gap():
                undo.enter_context(mock.patch.object(target, name, value))
        yield


@contextmanager
def local_aws() -> Iterator[str]:
    """Start moto's server on a free loopback port; yield its endpoint URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    with moto_gaps_patched():
        port = _free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()
