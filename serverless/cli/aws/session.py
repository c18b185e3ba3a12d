"""AWS access for the operator CLI: the AWS CLI's credentials, region and endpoint.

Clients come from one botocore session, which resolves what the AWS CLI resolves: the
profile (``--profile``, ``AWS_PROFILE``), the credential chain (environment, config and
credentials files, SSO, instance or container role), the endpoint (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_<SERVICE>``, ``endpoint_url`` in the profile) and the region
(``--region``, then ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile's ``region``: the
AWS CLI v2's order; botocore alone does not read ``AWS_REGION``, so the session is told
to). The clients use the functions' retry configuration, or are injected (tests, the
simulator). Every call goes through :meth:`AwsAccess.call`, which turns botocore
failures into :mod:`serverless.domain.errors` types with messages a person can act on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import botocore.session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from serverless.adapters.errors import CLIENT_CONFIG, translate
from serverless.domain.errors import ConfigError

__all__ = ["REGION_VARIABLES", "AwsAccess", "new_session"]

#: Environment variables naming the region, first wins (the AWS CLI v2's order).
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


def new_session(profile: str | None = None) -> botocore.session.Session:
    """A botocore session that resolves the region as the AWS CLI does."""
    session = botocore.session.Session(profile=profile)
    session.session_var_map["region"] = ("region", list(REGION_VARIABLES), None, None)
    return session


T = TypeVar("T")

#: Error codes meaning the credentials exist but AWS does not accept them.
_BAD_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)


class AwsAccess:
    """Creates (or hands out injected) clients and runs calls with translated errors."""

    def __init__(
        self,
        *,
        region: str | None = None,
        profile: str | None = None,
        clients: Mapping[str, Any] | None = None,
    ) -> None:
        self._region = region
        self._profile = profile
        self._clients: dict[str, Any] = dict(clients or {})
        self._session: Any | None = None
        self._lock = threading.Lock()

    @property
    def region(self) -> str | None:
        """The region the clients use (None when not yet known)."""
        if self._region:
            return self._region
        for client in self._clients.values():
            return str(client.meta.region_name)
        if self._session is not None:
            value = self._session.get_config_variable("region")
            return str(value) if value else None
        return None

    def client(self, service: str) -> Any:
        """The client of ``service`` (created on first use)."""
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                if self._session is None:
                    self._session = new_session(self._profile)
                client = self._session.create_client(
                    service, region_name=self._region, config=CLIENT_CONFIG
                )
                self._clients[service] = client
            return client

    def call(self, action: str, request: Callable[[], T]) -> T:
        """Run ``request``; failures become DrainTerminatorError subclasses."""
        try:
            return request()
        except NoRegionError as error:
            raise ConfigError(
                "no AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION), "
                "a region in your profile, or pass --region"
            ) from error
        except (NoCredentialsError, PartialCredentialsError) as error:
            raise ConfigError(
                "no AWS credentials found: configure the default credential chain "
                "(environment, AWS_PROFILE, SSO, instance role) or pass --profile"
            ) from error
        except ProfileNotFound as error:
            raise ConfigError(f"AWS profile not found: {error.kwargs.get('profile')}") from error
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _BAD_CREDENTIAL_CODES:
                raise ConfigError(
                    f"{action}: AWS rejected the credentials ({code}): refresh them "
                    "(e.g. aws sso login) and try again"
                ) from error
            raise translate(error, action) from error
        except BotoCoreError as error:
            raise translate(error, action) from error
