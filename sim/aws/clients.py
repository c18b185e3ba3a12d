"""How the simulator makes botocore clients: per simulated container, lazily, cheaply.

Each simulated Lambda container gets its own clients (botocore's retry quota is per
client), made when first called (:class:`OnFirstUse`), from one botocore session per
process (:func:`botocore_session`), while :func:`botocore_work_kept` lets botocore do the
work it repeats for every client and request once per run, for the same result.
"""

from __future__ import annotations

import contextlib
import functools
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import botocore.client
import botocore.context
import botocore.session
import botocore.useragent
from botocore import UNSIGNED
from botocore.config import Config

from serverless.adapters.errors import client_config
from sim.aws.embedded import AwsInterceptor

__all__ = [
    "OnFirstUse",
    "botocore_session",
    "botocore_work_kept",
    "client",
    "member_client",
    "source_session",
]


def client(interceptor: AwsInterceptor, name: str, region: str, account: str | None = None) -> Any:
    """A client of ``name`` routed through ``interceptor``, with its own botocore retry quota.

    Made by botocore, as the functions' own clients are (serverless/adapters/clients.py):
    a boto3 Session on the shared botocore session would register boto3's handlers on
    it once more each time, and every later client would copy the longer list.
    """
    # The functions' own retry configuration, so injected faults are retried as in
    # AWS; unsigned, because moto checks no signature and SigV4 costs CPU per call.
    config = client_config(name).merge(Config(signature_version=UNSIGNED))
    made = botocore_session().create_client(
        name,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )
    return interceptor.attach(made, account)


def member_client(
    interceptor: AwsInterceptor,
    session: botocore.session.Session,
    service: str,
    region: str,
    account: str,
    *,
    config: Config | None = None,
    **credentials: Any,
) -> Any:
    """A client the functions make for a member account (or the STS client they assume
    its role with): from ``session``, signed with its credentials (moto then acts in the
    role's account), through ``interceptor`` as a call of ``account``; ``config`` as
    :class:`serverless.adapters.accounts.ClientMaker` says."""
    made = session.create_client(
        service, region_name=region, config=config or client_config(service), **credentials
    )
    return interceptor.attach(made, account)


def source_session() -> botocore.session.Session:
    """A botocore session with the functions' own (test) credentials, sharing the parsed
    service models of :func:`botocore_session`: what member roles are assumed from."""
    session = botocore.session.Session()
    session.register_component("data_loader", botocore_session().get_component("data_loader"))
    session.set_credentials("testing", "testing", "testing")
    return session


class OnFirstUse:
    """Stands for a client that ``make`` creates at the first attribute read."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._client: Any = None

    @property
    def created(self) -> bool:
        """Whether the client exists yet."""
        return self._client is not None

    def __getattr__(self, name: str) -> Any:
        # Only names the proxy lacks come here; simulated processes run one at a time.
        if self._client is None:
            self._client = self._make()
        return getattr(self._client, name)


@contextlib.contextmanager
def botocore_work_kept() -> Iterator[None]:
    """Inside: botocore does twice-made work once, for the same result.

    - It builds each service's client class once (not once per client). botocore makes a
      class with a method per operation for every client it creates; the class depends
      only on the service model and the ``creating-client-class`` handlers, which do not
      change during a run, and each client still gets its own event handlers, endpoint and
      retry quota. A burst world creates thousands of clients.
    - It sanitizes each User-Agent component text once: botocore rebuilds the header for
      every request, character by character (about 4 % of a chaos case's CPU), from the
      same few texts; the function is pure.
    - It builds each client's User-Agent text once per set of feature ids: botocore
      assembles it from a dozen components twice per request attempt (about 8 % of a
      chaos case's CPU), and the text depends only on the client's fixed settings and
      the feature ids of the call in progress.
    """
    creator: Any = botocore.client.ClientCreator
    original = creator._create_client_class
    sanitize = botocore.useragent.sanitize_user_agent_string_component
    user_agent: Any = botocore.useragent.UserAgentString
    to_string = user_agent.to_string
    texts: weakref.WeakKeyDictionary[Any, dict[frozenset[str], str]] = weakref.WeakKeyDictionary()
    kept: dict[tuple[str, str], type] = {}

    def user_agent_text(self: Any) -> str:
        context = botocore.context.get_context()
        features = frozenset(context.features if context is not None else ())
        known = texts.setdefault(self, {})
        text = known.get(features)
        if text is None:
            text = known[features] = to_string(self)
        return text

    def create_client_class(self: Any, service_name: str, service_model: Any) -> type:
        key = (service_name, service_model.api_version)
        if key not in kept:
            kept[key] = original(self, service_name, service_model)
        return kept[key]

    creator._create_client_class = create_client_class
    botocore.useragent.sanitize_user_agent_string_component = functools.lru_cache(maxsize=1024)(
        sanitize
    )
    user_agent.to_string = user_agent_text
    try:
        yield
    finally:
        creator._create_client_class = original
        botocore.useragent.sanitize_user_agent_string_component = sanitize
        user_agent.to_string = to_string


@functools.cache
def botocore_session() -> botocore.session.Session:
    """One botocore session per process: its loader keeps the parsed service models, which
    every run would otherwise read and decode again (the EC2 model alone is megabytes)."""
    return botocore.session.get_session()
