"""Opted-in services through the Resource Groups Tagging API (the backstop's round)."""

from __future__ import annotations

from typing import Any

from serverless.adapters.clients import LazyClient
from serverless.adapters.errors import aws_errors

__all__ = ["RESOURCES_PER_PAGE", "TaggedServices"]

#: GetResources returns at most 100 resources per page.
RESOURCES_PER_PAGE = 100


class TaggedServices:
    """:class:`serverless.ports.ServiceListPort` on botocore's resourcegroupstaggingapi
    client: one GetResources call per 100 tagged services of the account and region."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = LazyClient("resourcegroupstaggingapi", client)

    def tagged_services(self, tag_key: str) -> dict[str, str]:
        """GetResources(ecs:service, tag key ``tag_key``), every page: ARN -> tag value."""
        found: dict[str, str] = {}
        kwargs: dict[str, Any] = {
            "ResourceTypeFilters": ["ecs:service"],
            "TagFilters": [{"Key": tag_key}],
            "ResourcesPerPage": RESOURCES_PER_PAGE,
        }
        while True:
            with aws_errors("GetResources"):
                response = self._client.get().get_resources(**kwargs)
            for resource in response.get("ResourceTagMappingList", []):
                arn = resource.get("ResourceARN")
                value = next(
                    (
                        t.get("Value", "")
                        for t in resource.get("Tags", [])
                        if t.get("Key") == tag_key
                    ),
                    None,
                )
                if arn and value is not None:
                    found[arn] = value
            token = response.get("PaginationToken")
            if not token:
                return found
            kwargs["PaginationToken"] = token
