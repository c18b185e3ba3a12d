"""Elastic Load Balancing target health through botocore."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from serverless.adapters.clients import LazyClient
from serverless.adapters.errors import aws_errors

__all__ = ["TargetHealthAdapter"]


class TargetHealthAdapter:
    """:class:`serverless.ports.TargetHealthPort` on botocore's elbv2 client (``route``:
    the client of the target group's account and region, as for the ECS adapter)."""

    def __init__(
        self, client: Any | None = None, route: Callable[[str], Any] | None = None
    ) -> None:
        lazy = LazyClient("elbv2", client)
        self._client: Callable[[str], Any] = route or (lambda _arn: lazy.get())

    def healthy_count(self, target_group_arn: str) -> int:
        """Targets of the group whose state is ``healthy`` (one DescribeTargetHealth call)."""
        with aws_errors("DescribeTargetHealth"):
            response = self._client(target_group_arn).describe_target_health(
                TargetGroupArn=target_group_arn
            )
        return sum(
            1
            for description in response.get("TargetHealthDescriptions", [])
            if description.get("TargetHealth", {}).get("State") == "healthy"
        )
