"""A fake Session Manager agent: a websocket server on 127.0.0.1 that speaks the agent's
(and the service's) side of the data channel, with faults.

It plays what the real service and agent do for an ECS Exec session: check the token of
``OpenDataChannel``, send a handshake request (session type ``InteractiveCommands``),
read the client's handshake response, send handshake complete, stream the command's
output (its last line the exit marker the client asked for), wait until the client has
acknowledged every stream message, then send ``channel_closed`` and close. It acknowledges
the client's stream messages and records everything the client sent, so tests can check
the client's side of the protocol. A session's handler never runs longer than
:data:`HANDLER_LIMIT` seconds.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

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
    "AGENT_VERSION",
    "HANDLER_LIMIT",
    "FakeSsmAgent",
    "Fault",
    "Received",
    "Scenario",
    "fake_agent",
]

HANDLER_LIMIT = 10.0
AGENT_VERSION = "3.3.0.0"
_WAIT = 5.0  # how long the fake waits for each thing it expects of the client


class Fault(StrEnum):
    """What goes wrong in a scenario."""

    NONE = "none"
    #: The token of OpenDataChannel is rejected: the websocket closes with 1008.
    BAD_TOKEN = "bad-token"
    #: The agent asks for KMS encryption; the client cannot, the agent gives up.
    REFUSE_HANDSHAKE = "refuse-handshake"
    #: The connection drops (no close frame) after the handshake request.
    DROP_IN_HANDSHAKE = "drop-in-handshake"
    #: The connection drops (no close frame) after half the output, before the exit line.
    DROP_MID_SESSION = "drop-mid-session"
    #: The command is not in the image: the shell prints "not found" and exits 127.
    EXIT_127 = "exit-127"
    #: The command never ends: output, then nothing, the channel stays open.
    NEVER_ENDS = "never-ends"
    #: The exit line arrives but the service never sends channel_closed.
    NO_CHANNEL_CLOSED = "no-channel-closed"
    #: Output messages are sent in reverse order.
    OUT_OF_ORDER = "out-of-order"
    #: Every stream message (handshake included) is sent twice, the copies late.
    DUPLICATES = "duplicates"
    #: pause_publication before the handshake, start_publication a little later.
    PAUSED = "paused"
    #: The first copy of each client stream message is lost (neither read nor acked).
    LOSES_INPUT = "loses-input"


@dataclass(frozen=True)
class Scenario:
    """One session the fake plays."""

    fault: Fault = Fault.NONE
    token: str = "token-0123"
    session_id: str = "ecs-execute-command-0a1b2c3d4e5f"
    output: bytes = b""
    exit_status: int = 0
    #: The marker the client's command prints before its exit status (None: none).
    exit_marker: bytes | None = b"EXIT_STATUS="
    #: Report the exit status as an EXIT_CODE payload (type 12) instead of the marker.
    exit_code_payload: bool = False
    #: Split the output (exit line included) into messages of this many bytes.
    chunk: int = 7
    closed_output: str = ""


@dataclass
class Received:
    """What the client sent, as the fake saw it."""

    opening: dict[str, Any] | None = None
    handshake_response: dict[str, Any] | None = None
    acknowledged: list[int] = field(default_factory=list)  # sequence numbers acked
    ack_contents: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[Message] = field(default_factory=list)  # input_stream_data, first copies
    resent: int = 0  # input messages the client sent again
    flags: list[int] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    client_closed: bool = False
    sent_channel_closed: bool = False
    finished: threading.Event = field(default_factory=threading.Event)


class _Aborted(Exception):
    pass


class _Play:
    """One connection's part of the scenario."""

    def __init__(self, ws: ServerConnection, scenario: Scenario, received: Received) -> None:
        self.ws = ws
        self.scenario = scenario
        self.received = received
        self.sequence = 0
        self.sent: list[bytes] = []
        self.lost: set[int] = set()
        self.started = time.monotonic()

    # -- sending ---------------------------------------------------------------------
    def stream(self, payload_type: PayloadType, payload: bytes) -> bytes:
        frame = encode(
            Message(
                message_type=MessageType.OUTPUT_STREAM_DATA,
                sequence_number=self.sequence,
                payload=payload,
                payload_type=payload_type,
                flags=FLAG_SYN if self.sequence == 0 else 0,
            )
        )
        self.sequence += 1
        self.sent.append(frame)
        return frame

    def control(self, message_type: MessageType, payload: bytes = b"") -> None:
        self.ws.send(
            encode(Message(message_type=message_type, payload=payload, flags=FLAG_SYN | FLAG_FIN))
        )

    def abort(self) -> None:
        """Drop the TCP connection without a close frame."""
        with suppress(OSError):
            self.ws.socket.shutdown(socket.SHUT_RDWR)
        raise _Aborted

    # -- receiving -------------------------------------------------------------------
    def pump(self, until: Callable[[], bool], timeout: float = _WAIT) -> bool:
        """Read the client's frames until ``until()`` holds (False: timed out)."""
        deadline = min(time.monotonic() + timeout, self.started + HANDLER_LIMIT)
        while not until():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                raw = self.ws.recv(timeout=remaining)
            except TimeoutError:
                return False
            if isinstance(raw, str):
                self.received.invalid.append(f"text frame after the token: {raw[:40]!r}")
                continue
            try:
                message = decode(raw)
            except FramingError as error:
                self.received.invalid.append(str(error))
                continue
            self.take(message)
        return True

    def take(self, message: Message) -> None:
        received = self.received
        if message.message_type == MessageType.ACKNOWLEDGE:
            content = json.loads(message.payload)
            received.ack_contents.append(content)
            received.acknowledged.append(int(content["AcknowledgedMessageSequenceNumber"]))
        elif message.message_type == MessageType.INPUT_STREAM_DATA:
            if (
                self.scenario.fault == Fault.LOSES_INPUT
                and message.sequence_number not in self.lost
            ):
                self.lost.add(message.sequence_number)
                return
            known = {m.sequence_number for m in received.inputs}
            if message.sequence_number in known:
                received.resent += 1
            else:
                received.inputs.append(message)
            if message.payload_type == PayloadType.HANDSHAKE_RESPONSE:
                received.handshake_response = json.loads(message.payload)
            if message.payload_type == PayloadType.FLAG:
                received.flags.append(int.from_bytes(message.payload, "big"))
            ack = {
                "AcknowledgedMessageType": message.message_type,
                "AcknowledgedMessageId": str(message.message_id),
                "AcknowledgedMessageSequenceNumber": message.sequence_number,
                "IsSequentialMessage": True,
            }
            self.control(MessageType.ACKNOWLEDGE, json.dumps(ack).encode())
        else:
            received.invalid.append(f"unexpected message type {message.message_type}")

    def all_acknowledged(self) -> bool:
        """Every stream message sent so far acknowledged (each copy, when duplicated)."""
        acked = self.received.acknowledged
        copies = 2 if self.scenario.fault == Fault.DUPLICATES else 1
        return set(range(self.sequence)) <= set(acked) and len(acked) >= copies * self.sequence

    # -- the scenario ----------------------------------------------------------------
    def play(self) -> None:
        scenario, received = self.scenario, self.received
        opening = json.loads(self.ws.recv(timeout=_WAIT))
        received.opening = opening
        if scenario.fault == Fault.BAD_TOKEN or opening.get("TokenValue") != scenario.token:
            self.ws.close(1008, "invalid token")
            return
        if scenario.fault == Fault.PAUSED:
            self.control(MessageType.PAUSE_PUBLICATION)
        actions: list[dict[str, Any]] = [
            {
                "ActionType": "SessionType",
                "ActionParameters": {
                    "SessionType": "InteractiveCommands",
                    "Properties": {"commands": "", "runAsElevated": False},
                },
            }
        ]
        if scenario.fault == Fault.REFUSE_HANDSHAKE:
            key = "arn:aws:kms:us-east-1:111122223333:key/0a1b2c3d"
            actions.append({"ActionType": "KMSEncryption", "ActionParameters": {"KMSKeyId": key}})
        request = {"AgentVersion": AGENT_VERSION, "RequestedClientActions": actions}
        self.send_all([self.stream(PayloadType.HANDSHAKE_REQUEST, json.dumps(request).encode())])
        if scenario.fault == Fault.DROP_IN_HANDSHAKE:
            self.abort()
        if scenario.fault == Fault.PAUSED:
            time.sleep(0.2)
            self.control(MessageType.START_PUBLICATION)
        if not self.pump(lambda: received.handshake_response is not None):
            self.close_channel("Handshake timed out.")
            return
        response = received.handshake_response or {}
        failed = [
            a for a in response.get("ProcessedClientActions") or [] if a.get("ActionStatus") != 1
        ]
        if failed:
            self.close_channel(f"Handshake failed: {failed[0].get('Error', '')}")
            return
        self.send_all([self.stream(PayloadType.HANDSHAKE_COMPLETE, b'{"CustomerMessage":""}')])
        self.command()

    def command(self) -> None:
        scenario = self.scenario
        output, status = scenario.output, scenario.exit_status
        if scenario.fault == Fault.EXIT_127:
            output, status = b"/bin/sh: 1: nosuch: not found\r\n", 127
        chunks = [output[i : i + scenario.chunk] for i in range(0, len(output), scenario.chunk)]
        if scenario.fault == Fault.DROP_MID_SESSION:
            chunks = chunks[: max(1, len(chunks) // 2)]
        frames = [self.stream(PayloadType.OUTPUT, chunk) for chunk in chunks]
        if scenario.fault == Fault.NEVER_ENDS:
            self.send_all(frames)
            self.pump(lambda: False, timeout=HANDLER_LIMIT)
            return
        if scenario.fault == Fault.DROP_MID_SESSION:
            self.send_all(frames)
            self.pump(self.all_acknowledged)
            self.abort()
        if scenario.exit_code_payload:
            code = f"EXIT_CODE: {status}".encode()
            frames.append(self.stream(PayloadType.EXIT_CODE, code))
        elif scenario.exit_marker is not None:
            line = scenario.exit_marker + str(status).encode() + b"\r\n"
            frames += [
                self.stream(PayloadType.OUTPUT, line[i : i + scenario.chunk])
                for i in range(0, len(line), scenario.chunk)
            ]
        if scenario.fault == Fault.OUT_OF_ORDER:
            frames.reverse()
        self.send_all(frames)
        if not self.pump(self.all_acknowledged):
            self.received.invalid.append("not every stream message was acknowledged")
        if scenario.fault == Fault.NO_CHANNEL_CLOSED:
            self.pump(lambda: False, timeout=HANDLER_LIMIT)
            return
        self.close_channel(scenario.closed_output)

    def send_all(self, frames: list[bytes]) -> None:
        for frame in frames:
            self.ws.send(frame)
        if self.scenario.fault == Fault.DUPLICATES:
            for frame in frames:
                self.ws.send(frame)

    def close_channel(self, output: str) -> None:
        closed = {
            "MessageType": "channel_closed",
            "MessageId": "00000000-0000-4000-8000-000000000000",
            "CreatedDate": "2026-12-06T08:00:00.000Z",
            "DestinationId": "ecs:cluster_task_container",
            "SessionId": self.scenario.session_id,
            "SchemaVersion": 1,
            "Output": output,
        }
        self.control(MessageType.CHANNEL_CLOSED, json.dumps(closed).encode())
        self.received.sent_channel_closed = True
        self.ws.close()


class FakeSsmAgent:
    """The server: ``url`` is the session's streamUrl, ``received`` what the client sent."""

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.scenario = scenario or Scenario()
        self.received = Received()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/v1/data-channel/{self.scenario.session_id}?role=publish_subscribe"

    def _handle(self, ws: ServerConnection) -> None:
        try:
            _Play(ws, self.scenario, self.received).play()
        except ConnectionClosed:
            self.received.client_closed = True
        except (_Aborted, TimeoutError):
            pass
        finally:
            self.received.finished.set()

    def start(self) -> FakeSsmAgent:
        self._server = serve(self._handle, "127.0.0.1", 0, compression=None, ping_interval=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=HANDLER_LIMIT)

    def wait(self, timeout: float = HANDLER_LIMIT) -> bool:
        """Wait for the session's handler to finish (True: it did)."""
        return self.received.finished.wait(timeout)


@contextmanager
def fake_agent(scenario: Scenario | None = None) -> Iterator[FakeSsmAgent]:
    """A running fake agent for the ``with`` block."""
    agent = FakeSsmAgent(scenario).start()
    try:
        yield agent
    finally:
        agent.stop()
