"""The client for each resource: its account's and region's, from its ARN.

A single-account deployment uses one client per service, with the function's own
credentials. A hub (``MEMBER_ACCOUNT_IDS`` set) uses those for its own account and, for a
listed member account, clients made with the member role: botocore's
:class:`~botocore.credentials.AssumeRoleCredentialFetcher` behind
:class:`~botocore.credentials.DeferredRefreshableCredentials`, so the role is assumed at
the first call for that account, kept per warm container and assumed again shortly before
the session expires (botocore refreshes 15 minutes ahead). Any other account or region is
refused with :class:`ForeignResourceError` before a call is made. A client comes in one of
two flavours (:data:`ClientFlavour`): the functions' standard retry configuration, or the
signal steps' (botocore's adaptive mode, its rate limiter's wait capped).

A member whose role cannot be assumed (missing, trust broken) fails its own calls only:
the failure is remembered for :data:`ROLE_FAILURE_SECONDS` (its calls fail at once
meanwhile, without asking STS again), and every other account's clients are untouched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

import botocore.session
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    Credentials,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import BotoCoreError, ClientError

from serverless.adapters.clients import LazyClient, cap_rate_limiter_wait, shared_session
from serverless.adapters.errors import aws_errors, client_config, signal_call_config, translate
from serverless.domain.accounts import Scope, Tenancy, scope_of
from serverless.domain.errors import AwsUnavailableError, DrainTerminatorError, PermanentAwsError
from serverless.settings import Settings

__all__ = [
    "ROLE_FAILURE_SECONDS",
    "SESSION_NAME",
    "AccountClients",
    "ClientFlavour",
    "ClientMaker",
    "ForeignResourceError",
    "MemberRoleError",
    "make_client",
]

#: A member role that could not be assumed is not asked for again this long (its calls
#: fail at once meanwhile): a broken member costs one STS call per container and period.
ROLE_FAILURE_SECONDS = 30.0
#: RoleSessionName of the member sessions (CloudTrail in the member shows it).
SESSION_NAME = "ecs-drain-terminator"


#: A client's configuration: ``"standard"`` (:func:`client_config`, every call but the two
#: below) or ``"signal"`` (:func:`signal_call_config`: ExecuteCommand's ECS client and
#: SendCommand's SSM client, adaptive retries with the rate limiter's wait capped).
ClientFlavour = Literal["standard", "signal"]


class ForeignResourceError(PermanentAwsError):
    """The resource belongs to an account or region this deployment does not serve."""


class MemberRoleError(PermanentAwsError):
    """The member role of an account could not be assumed (recently); no call was made."""


class ClientMaker(Protocol):
    """Makes a botocore client of ``service`` in ``region`` from ``session`` (with the
    static ``credentials`` given as ``aws_access_key_id=...`` keywords, if any) that acts
    in ``account`` (botocore needs not know; the simulator accounts the calls by it), with
    ``config`` (None: the service's standard one, :func:`client_config`)."""

    def __call__(
        self,
        session: botocore.session.Session,
        service: str,
        region: str,
        account: str,
        *,
        config: Config | None = None,
        **credentials: Any,
    ) -> Any: ...


def make_client(
    session: botocore.session.Session,
    service: str,
    region: str,
    account: str,
    *,
    config: Config | None = None,
    **credentials: Any,
) -> Any:
    """The functions' own way: ``config``, else the shared retry configuration
    (:func:`client_config`)."""
    del account  # the session's credentials say whose the client is
    return session.create_client(
        service, region_name=region, config=config or client_config(service), **credentials
    )


def _flavoured(flavour: ClientFlavour, service: str) -> Config | None:
    return signal_call_config(service) if flavour == "signal" else None


class _Fixed(CredentialProvider):  # type: ignore[misc]
    """A credential provider that hands out one (refreshable) credentials object."""

    METHOD = "assume-role"
    CANONICAL_NAME = "custom-assume-role"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials


class _Member:
    """One member account: its role's credentials and its clients by (service, region)."""

    def __init__(self, session: botocore.session.Session) -> None:
        self.session = session
        self.clients: dict[tuple[str, str, ClientFlavour], Any] = {}
        #: When the role last failed to be assumed, and the error it failed with.
        self.failed: tuple[float, DrainTerminatorError] | None = None


class AccountClients:
    """Routes each ARN to the client of its account and region (one per warm container).

    ``home``: the function's own clients by service (injected, or made on first use).
    ``sts``: the client GetCallerIdentity and AssumeRole are sent with (own credentials).
    ``source``: the botocore session of the function's own credentials; ``maker`` makes
    every client (the simulator routes them through its AWS); ``now``: the clock of the
    role-failure memory; ``home_account`` and ``region``: the function's own, when known
    (else GetCallerIdentity, once, and the region of its own ECS client).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        home: Mapping[str, Any] | None = None,
        source: botocore.session.Session | None = None,
        maker: ClientMaker = make_client,
        now: Callable[[], float] = time.time,
        home_account: str | None = None,
        region: str | None = None,
    ) -> None:
        self._settings = settings
        self._home = {
            service: LazyClient(service, (home or {}).get(service))
            for service in ("ecs", "elbv2", "sts", "resourcegroupstaggingapi")
        }
        self._source = source
        self._maker = maker
        self._now = now
        self._lock = threading.Lock()
        self._source_lock = threading.Lock()
        self._members: dict[str, _Member] = {}
        self._tenancy: Tenancy | None = None
        self._home_account = home_account
        self._region = region

    # -- who we are -----------------------------------------------------------------------

    def _source_session(self) -> botocore.session.Session:
        if self._source is None:
            self._source = shared_session()
        return self._source

    def tenancy(self) -> Tenancy:
        """The hub's own account (GetCallerIdentity, once) and region, and its members."""
        if self._tenancy is None:
            account = self._home_account
            if account is None:
                with aws_errors("GetCallerIdentity"):
                    account = str(self._home["sts"].get().get_caller_identity()["Account"])
            region = self._region or str(self._home["ecs"].get().meta.region_name)
            self._tenancy = Tenancy(account, region, self._settings.member_account_ids)
        return self._tenancy

    # -- the client of a resource ---------------------------------------------------------

    def client(self, service: str, arn: str, *, flavour: ClientFlavour = "standard") -> Any:
        """The ``service`` client for the resource ``arn`` names.

        ``flavour="signal"`` is for a member's resource only (the hub's own signal clients
        are its signal adapters'). Raises :class:`ForeignResourceError` for an account or
        region the deployment does not serve, :class:`MemberRoleError` while the member's
        role is known to be broken.
        """
        if not self._settings.is_hub:
            return self._home[service].get()
        scope = self._served(arn)
        if scope.account == self.tenancy().home_account:
            if flavour != "standard":
                raise ValueError("the hub's own signal clients are its signal adapters'")
            return self._home[service].get()
        return self._member_client(service, scope, flavour)

    def member_scope(self, arn: str) -> Scope | None:
        """The member account and region of the resource ``arn`` names, with the member
        role's credentials at hand (assumed now if they are not); None for the hub's own.

        Raises :class:`ForeignResourceError` for an account or region the hub does not
        serve, :class:`MemberRoleError` when the member's role cannot be assumed (now or
        recently), :class:`~serverless.domain.errors.AwsUnavailableError` when STS did not
        answer (after its retries).
        """
        scope = self._served(arn)
        if scope.account == self.tenancy().home_account:
            return None
        member = self._member(scope)
        try:
            credentials = member.session.get_credentials()
            if credentials is None:  # pragma: no cover - the resolver always answers
                raise PermanentAwsError("no member credentials")
            credentials.get_frozen_credentials()  # AssumeRole when absent or near expiry
        except (ClientError, BotoCoreError) as error:
            failure = translate(error, "AssumeRole")
            if isinstance(failure, AwsUnavailableError):
                raise failure from error
            raise MemberRoleError(
                f"member role of account {scope.account} unavailable: {failure}"
            ) from error
        return scope

    def _served(self, arn: str) -> Scope:
        """The scope of ``arn``, one this hub serves (else :class:`ForeignResourceError`)."""
        try:
            scope = scope_of(arn)
        except ValueError as error:
            raise ForeignResourceError(str(error)) from None
        refusal = self.tenancy().refusal(arn)
        if refusal is not None:
            raise ForeignResourceError(refusal)
        return scope

    def client_in(self, service: str, account: str | None) -> Any:
        """The ``service`` client of ``account`` in the hub's region (None: its own), for
        calls that name no resource (the backstop's GetResources).

        Raises :class:`ForeignResourceError` for an account the hub does not list,
        :class:`MemberRoleError` while the member's role is known to be broken.
        """
        if not self._settings.is_hub or account is None:
            return self._home[service].get()
        tenancy = self.tenancy()
        if account == tenancy.home_account:
            return self._home[service].get()
        if not tenancy.serves(account):
            raise ForeignResourceError(f"account {account} is not a member of this hub")
        partition = self._source_session().get_partition_for_region(tenancy.region)
        return self._member_client(service, Scope(partition, account, tenancy.region))

    def _member_client(
        self, service: str, scope: Scope, flavour: ClientFlavour = "standard"
    ) -> Any:
        member = self._member(scope)
        key = (service, scope.region, flavour)
        with self._lock:
            client = member.clients.get(key)
            if client is None:
                config = _flavoured(flavour, service)
                client = self._maker(
                    member.session, service, scope.region, scope.account, config=config
                )
                if config is not None:
                    cap_rate_limiter_wait(client, config)
                member.clients[key] = client
        return client

    def _member(self, scope: Scope) -> _Member:
        """The member of ``scope``'s account (MemberRoleError while its role is known to
        be broken)."""
        with self._lock:
            member = self._members.get(scope.account)
            if member is None:
                member = self._members[scope.account] = _Member(self._member_session(scope))
            failed = member.failed
            if failed is not None and self._now() - failed[0] < ROLE_FAILURE_SECONDS:
                raise MemberRoleError(
                    f"member role of account {scope.account} unavailable: {failed[1]}"
                )
        return member

    def _member_session(self, scope: Scope) -> botocore.session.Session:
        """A botocore session whose credentials are the member role's, assumed on first use
        and refreshed by botocore before they expire."""
        source = self._source_session()
        source_credentials = source.get_credentials()
        if source_credentials is None:
            raise PermanentAwsError("no credentials to assume the member role with")
        extra: dict[str, Any] = {"RoleSessionName": SESSION_NAME}
        if self._settings.member_external_id is not None:
            extra["ExternalId"] = self._settings.member_external_id
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=lambda service, **keys: self._source_client(
                source, service, scope.region, **keys
            ),
            source_credentials=source_credentials,
            role_arn=self._settings.member_role_arn(scope.partition, scope.account, scope.region),
            extra_args=extra,
        )

        def fetch() -> dict[str, Any]:
            try:
                fetched: dict[str, Any] = fetcher.fetch_credentials()
            except (ClientError, BotoCoreError) as error:
                self._role_failed(scope.account, translate(error, "AssumeRole"))
                raise
            return fetched

        credentials = DeferredRefreshableCredentials(refresh_using=fetch, method="assume-role")
        session = botocore.session.Session()
        # The parsed service models are shared with the source session (read once).
        session.register_component("data_loader", source.get_component("data_loader"))
        session.register_component("credential_provider", CredentialResolver([_Fixed(credentials)]))
        return session

    def _source_client(
        self, source: botocore.session.Session, service: str, region: str, **keys: Any
    ) -> Any:
        home = self.tenancy().home_account
        with self._source_lock:  # botocore sessions are not thread-safe; their clients are
            return self._maker(source, service, region, home, **keys)

    def _role_failed(self, account: str, error: DrainTerminatorError) -> None:
        with self._lock:
            member = self._members.get(account)
            if member is not None:
                member.failed = (self._now(), error)
