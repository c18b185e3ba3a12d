"""Opted-in services through the Resource Groups Tagging API (the backstop's round)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from serverless.adapters.clients import LazyClient
from serverless.adapters.errors import aws_errors

__all__ = ["RESOURCES_PER_PAGE", "TAGGING", "TaggedServices"]

#: botocore's name of the Resource Groups Tagging API.
TAGGING = "resourcegroupstaggingapi"

#: GetResources returns at most 100 resources per page.
RESOURCES_PER_PAGE = 100


class TaggedServices:
    """:class:`serverless.ports.ServiceListPort` on botocore's resourcegroupstaggingapi
    client: one GetResources call per 100 tagged services of the account and region.

    ``route``: a hub's client of an account (None: its own), e.g.
    :meth:`serverless.adapters.accounts.AccountClients.client_in`; without it every
    listing is of the function's own account.
    """

    def __init__(
        self, client: Any | None = None, route: Callable[[str | None], Any] | None = None
    ) -> None:
        self._client = LazyClient(TAGGING, client)
        self._route = route

    def tagged_services(self, tag_key: str, account: str | None = None) -> dict[str, str]:
        """GetResources(ecs:service, tag key ``tag_key``) in ``account``, every page:
        ARN -> tag value."""
        client = self._client.get() if self._route is None else self._route(account)
        found: dict[str, str] = {}
        kwargs: dict[str, Any] = {
            "ResourceTypeFilters": ["ecs:service"],
            "TagFilters": [{"Key": tag_key}],
            "ResourcesPerPage": RESOURCES_PER_PAGE,
        }
        while True:
            with aws_errors("GetResources"):
                response = client.get_resources(**kwargs)
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
