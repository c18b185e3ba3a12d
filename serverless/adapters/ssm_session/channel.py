"""A Session Manager data-channel client: one command's session, start to end, bounded.

What ``ecs:ExecuteCommand`` (or ``ssm:StartSession``) returns is a ``streamUrl`` and a
``tokenValue``; the client opens the websocket, sends the token (``OpenDataChannel``,
a text frame), then speaks binary :mod:`framing` messages:

1. The agent sends a handshake request (``output_stream_data``, payload type 5) naming
   the session type; the client acknowledges it and answers with a handshake response
   (``input_stream_data``, payload type 6). A requested action the client cannot do (KMS
   session encryption) is answered as failed and the session ends at once.
2. The agent sends handshake complete (payload type 7): the command now runs in the
   agent's pseudo terminal; its output arrives as ``output_stream_data`` (type 1 or 11,
   and 12 ``EXIT_CODE: n`` where the agent reports it).
3. The service sends ``channel_closed`` when the session ends.

Every agent stream message is acknowledged (also duplicates, so the agent stops resending
them). Stream messages are processed in sequence order: later ones are buffered, earlier
ones (duplicates) dropped. The client's own stream messages carry its sequence numbers and
are resent until acknowledged; ``pause_publication`` holds them until
``start_publication``. Each phase (connect, handshake, command, close) has its own time
bound; the websocket is closed on every path (the caller ends the session with
``ssm:TerminateSession`` where it did not end by itself).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from serverless.adapters.ssm_session.framing import (
    FLAG_FIN,
    FLAG_SYN,
    FramingError,
    Message,
    MessageType,
    PayloadType,
    decode,
    encode,
)

__all__ = [
    "CLIENT_VERSION",
    "Phase",
    "SessionEnd",
    "SessionLimits",
    "SessionTranscript",
    "run_session",
]

#: The version the client reports to the agent. The agent compares it only to enable
#: features of newer plugins (separate stdout/stderr since 1.2.312.0, port multiplexing);
#: this client speaks the protocol of that version and needs none of the rest.
CLIENT_VERSION = "1.2.312.0"
MESSAGE_SCHEMA_VERSION = "1.0"
#: Session types whose handshake this client accepts (ECS Exec uses InteractiveCommands).
_SESSION_TYPES = frozenset({"Standard_Stream", "InteractiveCommands", "NonInteractiveCommands"})
_ACTION_SUCCESS, _ACTION_FAILED, _ACTION_UNSUPPORTED = 1, 2, 3
_EXIT_CODE = re.compile(rb"EXIT_CODE:\s*(-?\d+)")


class Phase(StrEnum):
    """The steps of a session, each bounded in time."""

    CONNECT = "connect"
    HANDSHAKE = "handshake"
    COMMAND = "command"
    CLOSE = "close"


class SessionEnd(StrEnum):
    """How the session ended."""

    #: The service sent ``channel_closed`` (the agent ended the session).
    CLOSED = "CLOSED"
    #: The client saw the exit status and closed the websocket itself.
    FINISHED = "FINISHED"
    #: The websocket closed or broke without ``channel_closed``.
    DROPPED = "DROPPED"
    #: A phase exceeded its time bound.
    TIMED_OUT = "TIMED_OUT"
    #: The websocket could not be opened (refused, bad URL, HTTP error).
    CONNECT_FAILED = "CONNECT_FAILED"
    #: The handshake failed (an action the client cannot do, or a failed response).
    HANDSHAKE_FAILED = "HANDSHAKE_FAILED"


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """Time bounds (seconds) of each phase and the sizes the client keeps."""

    connect_timeout: float = 5.0
    handshake_timeout: float = 10.0
    command_timeout: float = 20.0
    close_timeout: float = 2.0
    #: Resend a stream message the agent has not acknowledged after this long.
    resend_interval: float = 0.5
    #: Bytes of output kept (the end of it).
    output_limit: int = 16384
    #: Out-of-order messages buffered at most (later ones are dropped unacknowledged and
    #: resent by the agent).
    buffer_limit: int = 1024
    #: The pseudo terminal's size sent after the handshake (wide: no wrapped output).
    terminal_cols: int = 200
    terminal_rows: int = 50

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "handshake_timeout", "command_timeout", "close_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    @property
    def total(self) -> float:
        """The longest a session can take, all phases timing out."""
        return (
            self.connect_timeout
            + self.handshake_timeout
            + self.command_timeout
            + 2 * self.close_timeout
        )


@dataclass(frozen=True, slots=True)
class SessionTranscript:
    """What a session showed: how and where it ended, the output, the exit status."""

    end: SessionEnd
    phase: Phase  # the phase the session was in when it ended
    output: bytes = b""
    exit_status: int | None = None
    closed_output: str = ""  # the text of channel_closed, if any
    detail: str = ""
    session_type: str = ""
    agent_version: str = ""
    acknowledged: int = 0  # agent stream messages acknowledged (duplicates included)
    duplicates: int = 0
    reordered: int = 0  # messages that arrived ahead of their turn and were buffered
    invalid: int = 0  # frames that failed to decode (ignored, not acknowledged)

    @property
    def handshake_complete(self) -> bool:
        """Whether the agent completed the handshake (the command was started)."""
        return self.phase in {Phase.COMMAND, Phase.CLOSE}


Connector = Callable[[str, float, float], ClientConnection]


def _connect(url: str, open_timeout: float, close_timeout: float) -> ClientConnection:
    connection = connect(
        url,
        open_timeout=open_timeout,
        close_timeout=close_timeout,
        # The protocol has its own acknowledgements; pings would only add traffic.
        ping_interval=None,
        max_size=2**20,
        compression=None,
        legacy=True,
    )
    assert isinstance(connection, ClientConnection)
    return connection


@dataclass
class _Outgoing:
    frame: bytes
    sent_at: float | None  # None: not sent yet (publication paused)


@dataclass
class _State:
    """The mutable state of one session (private to :func:`run_session`)."""

    limits: SessionLimits
    exit_marker: bytes | None
    phase: Phase = Phase.CONNECT
    expected: int = 0
    next_out: int = 0
    paused: bool = False
    outgoing: dict[int, _Outgoing] = field(default_factory=dict)
    buffer: dict[int, Message] = field(default_factory=dict)
    output: bytearray = field(default_factory=bytearray)
    scan: bytearray = field(default_factory=bytearray)
    exit_status: int | None = None
    closed_output: str = ""
    session_type: str = ""
    agent_version: str = ""
    acknowledged: int = 0
    duplicates: int = 0
    reordered: int = 0
    invalid: int = 0
    failure: str = ""  # why the handshake failed, when it did
    closed: bool = False  # channel_closed received

    def transcript(self, end: SessionEnd, detail: str) -> SessionTranscript:
        return SessionTranscript(
            end=end,
            phase=self.phase,
            output=bytes(self.output),
            exit_status=self.exit_status,
            closed_output=self.closed_output,
            detail=detail,
            session_type=self.session_type,
            agent_version=self.agent_version,
            acknowledged=self.acknowledged,
            duplicates=self.duplicates,
            reordered=self.reordered,
            invalid=self.invalid,
        )


class _Session:
    def __init__(self, connection: ClientConnection, state: _State, now: Callable[[], float]):
        self._ws = connection
        self._state = state
        self._now = now
        self._send_closed = False

    # -- sending -------------------------------------------------------------------------
    def _send(self, frame: bytes) -> bool:
        """Send ``frame``; False once the connection is closing (the frames already
        received are still read: ``channel_closed`` may be among them)."""
        if self._send_closed:
            return False
        try:
            self._ws.send(frame)
        except ConnectionClosed:
            self._send_closed = True
            return False
        return True

    def _send_stream(self, payload_type: PayloadType, payload: bytes) -> None:
        state = self._state
        frame = encode(
            Message(
                message_type=MessageType.INPUT_STREAM_DATA,
                sequence_number=state.next_out,
                payload=payload,
                payload_type=payload_type,
            )
        )
        entry = _Outgoing(frame, None)
        state.outgoing[state.next_out] = entry
        state.next_out += 1
        if not state.paused and self._send(frame):
            entry.sent_at = self._now()

    def _resend_due(self) -> float | None:
        """Resend what is due; return when the next resend is due (None: nothing waits)."""
        state = self._state
        if state.paused or not state.outgoing:
            return None
        now = self._now()
        due_next: float | None = None
        for entry in state.outgoing.values():
            if entry.sent_at is None or now - entry.sent_at >= state.limits.resend_interval:
                if not self._send(entry.frame):
                    return None
                entry.sent_at = now
            when = entry.sent_at + state.limits.resend_interval
            due_next = when if due_next is None else min(due_next, when)
        return due_next

    def _acknowledge(self, message: Message) -> None:
        content = {
            "AcknowledgedMessageType": message.message_type,
            "AcknowledgedMessageId": str(message.message_id),
            "AcknowledgedMessageSequenceNumber": message.sequence_number,
            "IsSequentialMessage": True,
        }
        frame = encode(
            Message(
                message_type=MessageType.ACKNOWLEDGE,
                payload=json.dumps(content).encode(),
                flags=FLAG_SYN | FLAG_FIN,
            )
        )
        if self._send(frame):
            self._state.acknowledged += 1

    # -- receiving -----------------------------------------------------------------------
    def handle(self, message: Message) -> None:
        kind = message.message_type
        state = self._state
        if kind == MessageType.OUTPUT_STREAM_DATA:
            self._stream(message)
        elif kind == MessageType.ACKNOWLEDGE:
            try:
                acked = json.loads(message.payload)["AcknowledgedMessageSequenceNumber"]
            except (ValueError, KeyError, TypeError):
                return
            state.outgoing.pop(acked, None)
        elif kind == MessageType.CHANNEL_CLOSED:
            state.closed = True
            try:
                state.closed_output = str(json.loads(message.payload).get("Output") or "")
            except (ValueError, AttributeError):
                state.closed_output = message.payload.decode("utf-8", errors="replace")
        elif kind == MessageType.PAUSE_PUBLICATION:
            state.paused = True
        elif kind == MessageType.START_PUBLICATION:
            state.paused = False

    def _stream(self, message: Message) -> None:
        state = self._state
        sequence = message.sequence_number
        if sequence < state.expected:
            state.duplicates += 1
            self._acknowledge(message)
            return
        if sequence > state.expected:
            if sequence in state.buffer:
                state.duplicates += 1
                self._acknowledge(message)
            elif len(state.buffer) < state.limits.buffer_limit:
                state.reordered += 1
                state.buffer[sequence] = message
                self._acknowledge(message)
            return
        self._acknowledge(message)
        self._process(message)
        state.expected += 1
        while state.expected in state.buffer and not state.failure:
            self._process(state.buffer.pop(state.expected))
            state.expected += 1

    def _process(self, message: Message) -> None:
        kind = message.payload_type
        if kind == PayloadType.HANDSHAKE_REQUEST:
            self._handshake_request(message.payload)
        elif kind == PayloadType.HANDSHAKE_COMPLETE:
            if self._state.phase == Phase.HANDSHAKE:
                self._state.phase = Phase.COMMAND
                size = {"cols": self._state.limits.terminal_cols}
                size["rows"] = self._state.limits.terminal_rows
                self._send_stream(PayloadType.SIZE, json.dumps(size).encode())
        elif kind == PayloadType.EXIT_CODE:
            match = _EXIT_CODE.search(message.payload)
            if match:
                self._state.exit_status = int(match.group(1))
        elif kind in (PayloadType.OUTPUT, PayloadType.STDERR, PayloadType.ERROR):
            self._output(message.payload)

    def _handshake_request(self, payload: bytes) -> None:
        state = self._state
        try:
            request = json.loads(payload)
            actions = [
                a for a in request.get("RequestedClientActions") or [] if isinstance(a, dict)
            ]
            state.agent_version = str(request.get("AgentVersion") or "")
        except (ValueError, AttributeError, TypeError):
            state.failure = "handshake request is not JSON"
            return
        processed: list[dict[str, Any]] = []
        errors: list[str] = []
        for action in actions:
            kind = str(action.get("ActionType", ""))
            parameters = action.get("ActionParameters")
            parameters = parameters if isinstance(parameters, dict) else {}
            if kind == "SessionType":
                session_type = str(parameters.get("SessionType", ""))
                if session_type in _SESSION_TYPES:
                    state.session_type = session_type
                    processed.append({"ActionType": kind, "ActionStatus": _ACTION_SUCCESS})
                    continue
                error = f"unsupported session type {session_type!r}"
                processed.append(
                    {"ActionType": kind, "ActionStatus": _ACTION_FAILED, "Error": error}
                )
            elif kind == "KMSEncryption":
                error = "KMS-encrypted sessions are not supported by this client"
                processed.append(
                    {"ActionType": kind, "ActionStatus": _ACTION_FAILED, "Error": error}
                )
            else:
                error = f"unsupported action {kind}"
                processed.append(
                    {"ActionType": kind, "ActionStatus": _ACTION_UNSUPPORTED, "Error": error}
                )
            errors.append(error)
        response = {
            "ClientVersion": CLIENT_VERSION,
            "ProcessedClientActions": processed,
            "Errors": errors or None,
        }
        self._send_stream(PayloadType.HANDSHAKE_RESPONSE, json.dumps(response).encode())
        if errors:
            state.failure = "; ".join(errors)

    def _output(self, data: bytes) -> None:
        state = self._state
        marker = state.exit_marker
        if marker is None or state.exit_status is not None:
            self._keep(data)
            return
        # The marker line may be split over messages: hold back the tail that could be
        # its beginning until the rest arrives.
        state.scan += data
        match = re.search(re.escape(marker) + rb"(-?\d+)\r?\n", state.scan)
        if match:
            state.exit_status = int(match.group(1))
            self._keep(bytes(state.scan[: match.start()] + state.scan[match.end() :]))
            state.scan.clear()
            return
        held = len(marker) + 16
        if len(state.scan) > held:
            self._keep(bytes(state.scan[:-held]))
            del state.scan[:-held]

    def flush(self) -> None:
        """Move held-back output to the output (the session has ended)."""
        state = self._state
        if state.scan:
            marker = state.exit_marker or b""
            match = re.search(re.escape(marker) + rb"(-?\d+)", state.scan) if marker else None
            if match and state.exit_status is None:
                state.exit_status = int(match.group(1))
                self._keep(bytes(state.scan[: match.start()] + state.scan[match.end() :]))
            else:
                self._keep(bytes(state.scan))
            state.scan.clear()

    def _keep(self, data: bytes) -> None:
        output = self._state.output
        output += data
        limit = self._state.limits.output_limit
        if len(output) > limit:
            del output[: len(output) - limit]

    # -- the session ---------------------------------------------------------------------
    def open(self, token: str, client_id: str) -> None:
        opening = {
            "MessageSchemaVersion": MESSAGE_SCHEMA_VERSION,
            "RequestId": str(uuid.uuid4()),
            "TokenValue": token,
            "ClientId": client_id,
            "ClientVersion": CLIENT_VERSION,
        }
        self._state.phase = Phase.HANDSHAKE
        self._ws.send(json.dumps(opening))

    def run(self) -> SessionTranscript:
        """Receive until the session ends or a phase's time bound passes."""
        state = self._state
        limits = state.limits
        bounds = {
            Phase.HANDSHAKE: limits.handshake_timeout,
            Phase.COMMAND: limits.command_timeout,
            Phase.CLOSE: limits.close_timeout,
        }
        phase = state.phase
        deadline = self._now() + bounds[phase]
        while True:
            if state.failure:
                return state.transcript(SessionEnd.HANDSHAKE_FAILED, state.failure)
            if state.closed:
                said = f": {state.closed_output}" if state.closed_output else ""
                return state.transcript(SessionEnd.CLOSED, f"the service closed the channel{said}")
            if state.phase == Phase.COMMAND and state.exit_status is not None:
                state.phase = Phase.CLOSE
            if state.phase != phase:
                phase = state.phase
                deadline = self._now() + bounds[phase]
            resend_at = self._resend_due()
            now = self._now()
            if now >= deadline:
                if phase == Phase.CLOSE:
                    return state.transcript(
                        SessionEnd.FINISHED, "exit status received; the channel stayed open"
                    )
                return state.transcript(
                    SessionEnd.TIMED_OUT, f"no end of the {phase} step within {bounds[phase]} s"
                )
            wait = deadline - now if resend_at is None else max(0.0, min(deadline, resend_at) - now)
            try:
                raw = self._ws.recv(timeout=wait)
            except TimeoutError:
                continue
            except ConnectionClosed as error:
                return state.transcript(SessionEnd.DROPPED, _closed_detail(error))
            if isinstance(raw, str):
                continue  # the service sends no text frames after the token
            try:
                message = decode(raw)
            except FramingError:
                state.invalid += 1
                continue
            self.handle(message)

    def terminate(self) -> None:
        """Ask the agent to end the session (best effort: the TerminateSession flag)."""
        flag = (2).to_bytes(4, "big")  # PayloadTypeFlag TerminateSession
        self._send_stream(PayloadType.FLAG, flag)


def _closed_detail(error: ConnectionClosed) -> str:
    received = error.rcvd
    if received is None:
        return "the connection dropped (no close frame)"
    reason = f": {received.reason}" if received.reason else ""
    return f"the connection closed with code {received.code}{reason}"


def run_session(
    stream_url: str,
    token: str,
    limits: SessionLimits | None = None,
    *,
    exit_marker: bytes | None = None,
    client_id: str | None = None,
    connector: Connector = _connect,
    now: Callable[[], float] = time.monotonic,
) -> SessionTranscript:
    """Run one session on the data channel at ``stream_url`` and say how it went.

    ``exit_marker``: the command prints ``<marker><status>`` as its last line (the agent
    reports no exit status of an interactive command); the line is taken out of the
    output and its number becomes ``exit_status``. Never raises for network or protocol
    failures: they are in the transcript. The websocket is closed before returning.
    """
    limits = limits or SessionLimits()
    state = _State(limits=limits, exit_marker=exit_marker)
    try:
        connection = connector(stream_url, limits.connect_timeout, limits.close_timeout)
    except TimeoutError:
        return state.transcript(
            SessionEnd.TIMED_OUT, f"no connection within {limits.connect_timeout} s"
        )
    except (OSError, WebSocketException) as error:
        return state.transcript(SessionEnd.CONNECT_FAILED, f"cannot connect: {error}")
    session = _Session(connection, state, now)
    try:
        try:
            session.open(token, client_id or str(uuid.uuid4()))
            transcript = session.run()
        except ConnectionClosed as error:
            transcript = state.transcript(SessionEnd.DROPPED, _closed_detail(error))
        if transcript.end in {SessionEnd.TIMED_OUT, SessionEnd.FINISHED}:
            session.terminate()
    finally:
        connection.close()
    if state.scan:
        session.flush()
        transcript = state.transcript(transcript.end, transcript.detail)
    return transcript
