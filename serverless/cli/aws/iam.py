"""IAM's policy simulator, for the stop actions' prerequisites: what a role may do."""

from __future__ import annotations

from collections.abc import Sequence

from serverless.cli.aws.session import AwsAccess

__all__ = ["RolePermissions"]


class RolePermissions:
    """Evaluates a role's identity policies with ``iam:SimulatePrincipalPolicy``."""

    def __init__(self, access: AwsAccess) -> None:
        self._access = access

    def denied(self, role_arn: str, actions: Sequence[str]) -> tuple[str, ...]:
        """The ``actions`` the role is not allowed (on any resource); DrainTerminatorError
        when the simulator cannot be used (not allowed, or not available)."""
        iam = self._access.client("iam")
        denied: list[str] = []
        kwargs = {"PolicySourceArn": role_arn, "ActionNames": list(actions)}
        while True:
            response = self._access.call(
                "SimulatePrincipalPolicy", lambda: iam.simulate_principal_policy(**kwargs)
            )
            for result in response.get("EvaluationResults", []):
                if result.get("EvalDecision") != "allowed":
                    denied.append(str(result.get("EvalActionName")))
            marker = response.get("Marker")
            if not response.get("IsTruncated") or not marker:
                return tuple(denied)
            kwargs["Marker"] = marker
