"""moto, answering as it does, at less CPU per request (the simulator's main cost).

A simulated run sends moto thousands of requests (about 90 per drain in a chaos case), and
moto spent most of the simulator's CPU on work whose result never changes within a run or
that it repeats for every request. :func:`fast_moto` removes that work and nothing else;
tests/sim/aws/test_fast_moto.py replays a DynamoDB workload with and without it and requires
every reply, errors included, to be the same.

1. **Routing.** moto matches each request's URL against every service's patterns and then
   the service's own URL table, and looks the backend up, for every request. The handler a
   URL resolves to is a class-level callable, so :class:`MotoRouter` resolves each URL
   once with moto's own tables and keeps the answer.
2. **DynamoDB replies.** moto serializes a reply by walking botocore's output shape (about
   16 ms of CPU per Query or GetItem in the chaos profile); for the data operations its
   result already has the wire form, so ``json.dumps`` of it is the same reply.
3. **Action lookup.** moto lists a response class's methods with ``inspect.getmembers`` on
   every request; the list of a class does not change, so it is kept per class.
4. **Update expressions.** moto parses each ``UpdateExpression`` twice per request; the
   syntax tree only depends on the text and moto copies it before changing it, so one
   parse per distinct text is kept.
5. **Index queries.** moto's ``Table.query`` on a global secondary index walks every item
   of the table comparing typed values; the sweeper's due index is queried several times a
   second (and its ``all_items`` sorts the whole table first). For an equality on a string
   hash key, the items are first narrowed with plain string comparison to those moto's own
   loop would keep, in the same order, and moto runs its query (range condition, order,
   limit, pages, projection) on them.
6. **EC2 images.** moto loads about 1,300 default AMIs into every EC2 backend it creates
   (about 0.5 s of CPU each; a world creates several). Nothing the simulator runs reads an
   image, so inside the shortcuts moto loads none, as with its own
   ``MOTO_EC2_LOAD_DEFAULT_AMIS=false`` (which tests/conftest.py sets for every test).
7. **DynamoDB requests.** For each request moto builds a werkzeug request, parses headers,
   query string and body three ways, and parses the body once more against botocore's
   input shape (about 1.5 ms of CPU per call, more than most operations themselves). For
   the data operations :class:`MotoRouter` gives moto's ``DynamoHandler`` the JSON body
   (what that parse yields for them) and calls its method, then answers as moto's
   ``call_action`` does: the same body, status, error and headers (request id, CRC32).
   Where moto would do more (IAM authorization on, the request recorder on, a compressed
   body) the request takes moto's own path. Not done: moto's IAM "access key last used"
   bookkeeping, which nothing in a simulation reads.
8. **Index projections.** moto projects each item an index query returns by converting
   the whole item to plain JSON once per projected attribute and back. For an INCLUDE or
   KEYS_ONLY projection of plain top-level names the same conversion is done once, for
   the projected attributes only, in moto's order.
9. **Condition lexing.** moto lexes each ``ConditionExpression`` with a list of regular
   expressions compiled per token; the tokens depend only on the text, so they are kept
   per text (each use gets its own copy) and the rest of moto's parse runs as before.
10. **EC2 import.** When moto's EC2 models are first imported, they list the EC2 regions
    of three partitions, each through a new boto3 Session that reads botocore's endpoint
    data anew (about 0.65 s of CPU in every fresh process). The first run in a process
    imports them with the three lists read through one botocore session (about 0.15 s);
    the lists come from the same data files.
11. **Service models.** moto reads the botocore service models it parses and serializes
    with (EC2, ECS, ELB, DynamoDB...) through a loader of its own, although the
    simulator's botocore session has read the same files for its clients (about 0.5 s
    of CPU per fresh process). Given that session's loader, moto reads through it.
12. **Index query copies.** moto deep-copies every item a query returns (the whole item,
    every attribute) and then projects the copies. Where shortcut 8 projects, the
    projected item is built from converted values and copied keys and shares nothing
    with the stored one, so the query hands it the stored items instead of copies.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import inspect
import json
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse

__all__ = ["FAST_DYNAMODB_OPERATIONS", "MotoRouter", "fast_moto", "one_session_for_region_lists"]

#: DynamoDB data operations whose moto result is already the wire JSON.
FAST_DYNAMODB_OPERATIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "Query"})

_Handler = Callable[[Any, str, Any], tuple[int, dict[str, str], Any]]


class MotoRouter:
    """moto's request dispatch with each URL's handler resolved once.

    Same steps as ``moto.core.botocore_stubber.BotocoreStubber.process_request`` for a URL
    in the AWS domain (no passthrough is configured in the simulator): find the service
    whose pattern matches, then the first of its URL entries that matches, and call it with
    moto's normalized request.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, _Handler | None] = {}
        self._lock = threading.Lock()

    def _resolve(self, clean_url: str) -> _Handler | None:
        from moto import backend_index, backends
        from moto.core.base_backend import BackendDict
        from moto.core.models import DEFAULT_ACCOUNT_ID

        for service, pattern in backend_index.backend_url_patterns:
            if not pattern.match(clean_url):
                continue
            backend_dict = backends.get_backend(service)  # type: ignore[call-overload]
            if isinstance(backend_dict, BackendDict):
                regions = backend_dict[DEFAULT_ACCOUNT_ID]
                backend = regions["us-east-1" if "us-east-1" in regions else "aws"]
            else:
                backend = backend_dict["global"]
            for url, handler in backend.urls.items():
                if re.compile(url).match(clean_url):
                    return handler  # type: ignore[no-any-return]
        return None

    def __call__(self, request: Any) -> AWSResponse | None:
        """moto's reply to ``request`` (None for a URL no service serves)."""
        from moto.core.request import normalize_request
        from moto.core.utils import get_equivalent_url_in_aws_domain
        from moto.moto_api import recorder
        from werkzeug.exceptions import HTTPException

        parsed, _ = get_equivalent_url_in_aws_domain(request.url)
        clean_url = f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
        with self._lock:
            known = clean_url in self._handlers
            handler = self._handlers.get(clean_url)
        if not known:
            handler = self._resolve(clean_url)
            with self._lock:
                self._handlers[clean_url] = handler
        if handler is None:
            return None
        if getattr(handler, "__self__", None) is _dynamo_handler():
            direct = _direct_dynamodb(request)
            if direct is not None:
                return direct
        normalized = normalize_request(request)
        try:
            recorder._record_request(normalized)
            status, headers, body = handler(normalized, normalized.raw_url, normalized.headers)
        except HTTPException as error:
            status, headers, body = error.code or 500, dict(error.get_headers()), error.get_body()
        return AWSResponse(request.url, status, headers, MockRawResponse(body))


@functools.cache
def _dynamo_handler() -> type:
    from moto.dynamodb.responses import DynamoHandler

    handler: type = DynamoHandler
    return handler


def _header(request: Any, name: str) -> str:
    value = request.headers.get(name)
    return value.decode() if isinstance(value, bytes) else (value or "")


def _direct_dynamodb(request: Any) -> AWSResponse | None:
    """Shortcut 7: a DynamoDB data request answered by moto's handler method directly, as
    ``BaseResponse.call_action`` answers it (None: moto's own path must answer)."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult
    from moto.core.utils import camelcase_to_underscores, utcnow
    from moto.moto_api import recorder
    from moto.utilities.aws_headers import gen_amz_crc32, gen_amzn_requestid_long
    from werkzeug.datastructures import Headers
    from werkzeug.exceptions import HTTPException
    from werkzeug.http import http_date

    operation = _header(request, "X-Amz-Target").rpartition(".")[2]
    if (
        operation not in FAST_DYNAMODB_OPERATIONS
        or _header(request, "Content-Encoding")
        or recorder._user_enabled
        or ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT
    ):
        return None
    try:
        params = json.loads(request.body or b"{}")
    except ValueError:
        return None  # moto's own path reports it
    if not isinstance(params, dict):
        return None
    handler: Any = _dynamo_handler()()
    handler.headers = Headers(
        [(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
    )  # what moto's request holds: text, any case
    handler.querystring = {}
    handler.body = handler.params = params
    handler.uri_match = {}
    region = handler.region_regex.search(request.url)
    if region is None:
        return None  # moto finds the region elsewhere (user agent, signature)
    handler.region = region.group(1)
    handler.current_account = handler.get_current_account()
    ActionAuthenticatorMixin.request_count += 1  # as moto counts an unauthorized request
    headers: dict[str, Any] = {"server": "amazon.com", "date": http_date(utcnow())}
    handler.response_headers = headers
    try:
        result = getattr(handler, camelcase_to_underscores(operation))()
        status, result_headers, body = handler.serialized(result)
    except ServiceException as error:
        status, result_headers, body = handler.serialized(ActionResult(error))
        result_headers["status"] = status
    except HTTPException as error:
        result_headers = dict(error.get_headers() or [])
        status = error.code or 500
        result_headers["status"] = status
        body = error.description
    headers.update(result_headers)
    if "status" in headers:
        headers["status"] = str(headers["status"])
    gen_amzn_requestid_long(headers)
    gen_amz_crc32(body, headers)
    return AWSResponse(request.url, int(status), headers, MockRawResponse(body))


def _narrowed_query(original: Callable[..., Any]) -> Callable[..., Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        # moto's backend passes index_name by position, the key conditions by keyword.
        arguments = signature.bind(self, *args, **kwargs).arguments
        conditions = arguments.get("hash_key_conditions") or []
        if not arguments.get("index_name") or len(conditions) != 1:
            return original(self, *args, **kwargs)
        name, expected = conditions[0]
        if not isinstance(expected, DynamoType) or expected.type != "S":
            return original(self, *args, **kwargs)
        value = expected.value
        # What moto's loop keeps: items whose attribute equals the value, type included,
        # in the order of moto's Table.all_items (by key), without sorting the whole table.
        stored = self.items.values()
        every = [i for group in stored for i in group.values()] if self.range_key_attr else stored
        kept = [
            item
            for item in every
            if isinstance(item, Item)
            and (attribute := item.attrs.get(name)) is not None
            and attribute.type == "S"
            and attribute.value == value
        ]
        kept.sort(key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)
        self.all_items = lambda: kept  # seen by this call only (one thread at a time)
        # Shortcut 12: moto copies every item it returns, then projects the copies; where
        # shortcut 8 projects, the projection is already a fresh item.
        index = next((i for i in self.all_indexes() if i.name == arguments["index_name"]), None)
        _UNCOPIED.active = index is not None and _projected_names(index) is not None
        try:
            return original(self, *args, **kwargs)
        finally:
            _UNCOPIED.active = False
            del self.all_items

    return query


def _projected_names(index: Any) -> list[str] | None:
    """The attribute names an INCLUDE or KEYS_ONLY index keeps, in moto's order (None: a
    projection shortcut 8 leaves to moto)."""
    projection = index.projection or {}
    kind = projection.get("ProjectionType")
    if kind not in ("INCLUDE", "KEYS_ONLY"):
        return None
    names: list[str] = index.table_key_attrs + [key["AttributeName"] for key in index.schema]
    if kind == "INCLUDE":
        names = names + projection.get("NonKeyAttributes", [])
    if any("[" in name for name in names):
        return None  # moto reads these as list indexes
    return names


class _Uncopied:
    """Stands in for the ``copy`` module in moto's table module: ``deepcopy`` of a query's
    results is a plain list while :attr:`active` (one query at a time, see shortcut 12)."""

    active = False

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if self.active and isinstance(value, list):
            return list(value)
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


_UNCOPIED = _Uncopied()


def _fast_project(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    from botocore.utils import merge_dicts
    from moto.dynamodb.models.dynamo_type import Item, deserializer, serializer

    def project(self: Any, item: Any) -> Any:
        names = _projected_names(self)
        if names is None or not isinstance(item, Item):
            return original(self, item)
        # moto: for each name, find_nested_key([name], item.to_regular_json()), merged.
        # Every value is converted to plain JSON and back, so the projected item shares
        # nothing with ``item`` but its keys, which are copied (shortcut 12 relies on it).
        result: dict[str, Any] = {}
        for name in names:
            attribute = item.attrs.get(name)
            if attribute is not None:
                value = deserializer.deserialize(attribute.to_regular_json())
                merge_dicts(result, {name: value})
        return Item(
            hash_key=copy.deepcopy(item.hash_key),
            range_key=copy.deepcopy(item.range_key),
            attrs=serializer.serialize(result)["M"],
        )

    return project


def _cached_lexing(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    tokens: dict[str, tuple[Any, ...]] = {}
    lock = threading.Lock()

    def lex(self: Any) -> Any:
        text = self.condition_expression
        with lock:
            known = tokens.get(text)
        if known is None:
            known = tuple(original(self))  # a syntax error raises and is not kept
            with lock:
                tokens[text] = known
        # Lexed nodes are leaves with an empty child list: each use gets fresh ones.
        return deque(node._replace(children=[]) for node in known)

    return lex


@contextlib.contextmanager
def one_session_for_region_lists() -> Iterator[None]:
    """Inside: ``boto3.Session()`` without arguments shares one botocore session (its
    endpoint data read once). Only for moto's import-time region lists (shortcut 10): a
    boto3 Session adds its handlers to the botocore session it is given, every time."""
    import boto3
    import botocore.session

    session_class = boto3.Session
    shared = botocore.session.get_session()

    def session(*args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return session_class(*args, **kwargs)
        return session_class(botocore_session=shared)

    boto3.Session = session  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        boto3.Session = session_class  # type: ignore[misc]


def _import_ec2_models() -> None:
    if "moto.ec2.models" not in sys.modules:
        with one_session_for_region_lists():
            importlib.import_module("moto.ec2.models")


@contextlib.contextmanager
def fast_moto(loader: Any | None = None) -> Iterator[MotoRouter]:
    """Inside: moto's shortcuts 2-6, 8-10 and 12 are on, and 11 with ``loader`` (a
    botocore data loader); yields the router (1 and 7)."""
    from moto.dynamodb.responses import DynamoResult

    # Patched attributes, typed loosely: not all of them are part of moto's typed API.
    core_responses: Any = importlib.import_module("moto.core.responses")
    table_module: Any = importlib.import_module("moto.dynamodb.models.table")
    parser: Any = importlib.import_module("moto.dynamodb.parsing.expressions")
    UpdateExpressionParser = parser.UpdateExpressionParser

    execute_result = DynamoResult.execute_result
    method_names = core_responses.method_names_from_class
    make = UpdateExpressionParser.__dict__["make"]  # the classmethod itself, to put back
    query = table_module.Table.query
    project = table_module.SecondaryIndex.project
    comparisons: Any = importlib.import_module("moto.dynamodb.comparisons")
    Parser = comparisons.ConditionExpressionParser
    lex = Parser._lex_condition_expression

    def fast_execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name in FAST_DYNAMODB_OPERATIONS:
            body = json.dumps(self.result, separators=(",", ":"))
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return execute_result(self, context)

    DynamoResult.execute_result = fast_execute_result  # type: ignore[method-assign]
    core_responses.method_names_from_class = functools.cache(method_names)
    parse = functools.lru_cache(maxsize=256)(UpdateExpressionParser.make)
    UpdateExpressionParser.make = staticmethod(parse)
    table_module.Table.query = _narrowed_query(query)
    table_module.SecondaryIndex.project = _fast_project(project)
    table_copy = table_module.copy
    table_module.copy = _UNCOPIED
    Parser._lex_condition_expression = _cached_lexing(lex)
    _import_ec2_models()
    moto_utils: Any = importlib.import_module("moto.core.utils")
    load_service_model = moto_utils._load_service_model
    if loader is not None:
        moto_utils._load_service_model = loader.load_service_model
    moto_settings: Any = importlib.import_module("moto.settings")
    load_default_amis = moto_settings.ec2_load_default_amis
    moto_settings.ec2_load_default_amis = lambda: False
    try:
        yield MotoRouter()
    finally:
        DynamoResult.execute_result = execute_result  # type: ignore[method-assign]
        core_responses.method_names_from_class = method_names
        UpdateExpressionParser.make = make
        parse.cache_clear()
        table_module.Table.query = query
        table_module.SecondaryIndex.project = project
        table_module.copy = table_copy
        Parser._lex_condition_expression = lex
        moto_settings.ec2_load_default_amis = load_default_amis
        moto_utils._load_service_model = load_service_model
