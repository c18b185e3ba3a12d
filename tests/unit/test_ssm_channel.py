"""The data-channel client's sequencing, without a network: any order and any duplicates
of the agent's stream give the same output, exit status and acknowledgements."""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosedError

from serverless.adapters.ssm_session import SessionEnd, SessionLimits, run_session
from serverless.adapters.ssm_session.framing import (
    Message,
    MessageType,
    PayloadType,
    decode,
    encode,
)

MARKER = b"EXIT_STATUS="
LIMITS = SessionLimits(handshake_timeout=1.0, command_timeout=1.0, close_timeout=0.2)


class ScriptedConnection:
    """Delivers prepared frames to ``recv``, records what the client sends."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = deque(frames)
        self.sent: list[Any] = []
        self.closed = False

    def send(self, data: Any) -> None:
        self.sent.append(data)

    def recv(self, timeout: float | None = None) -> bytes:
        if not self.frames:
            raise ConnectionClosedError(None, None)
        return self.frames.popleft()

    def close(self) -> None:
        self.closed = True

    def acknowledged(self) -> list[int]:
        acks = [decode(f) for f in self.sent if isinstance(f, bytes)]
        return [
            json.loads(m.payload)["AcknowledgedMessageSequenceNumber"]
            for m in acks
            if m.message_type == MessageType.ACKNOWLEDGE
        ]


def _stream(sequence: int, payload_type: PayloadType, payload: bytes) -> bytes:
    return encode(
        Message(
            message_type=MessageType.OUTPUT_STREAM_DATA,
            sequence_number=sequence,
            payload=payload,
            payload_type=payload_type,
        )
    )


def _agent_stream(chunks: list[bytes], status: int) -> list[bytes]:
    request = {
        "AgentVersion": "3.3.0.0",
        "RequestedClientActions": [
            {
                "ActionType": "SessionType",
                "ActionParameters": {"SessionType": "InteractiveCommands"},
            }
        ],
    }
    frames = [
        _stream(0, PayloadType.HANDSHAKE_REQUEST, json.dumps(request).encode()),
        _stream(1, PayloadType.HANDSHAKE_COMPLETE, b"{}"),
    ]
    for chunk in [*chunks, MARKER + str(status).encode() + b"\r\n"]:
        frames.append(_stream(len(frames), PayloadType.OUTPUT, chunk))
    return frames


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(
        st.binary(min_size=1, max_size=20).filter(lambda b: b"EXIT" not in b), max_size=8
    ),
    status=st.integers(min_value=0, max_value=255),
    data=st.data(),
)
def test_given_any_order_and_duplicates_when_read_then_output_status_and_acks_are_exact(
    chunks: list[bytes], status: int, data: st.DataObject
) -> None:
    frames = _agent_stream(chunks, status)
    shuffled = data.draw(st.permutations(frames))
    copies = data.draw(st.lists(st.sampled_from(frames), max_size=5))
    delivered = [*shuffled, *copies]
    closed = encode(Message(message_type=MessageType.CHANNEL_CLOSED, payload=b'{"Output":""}'))
    connection = ScriptedConnection([*delivered, closed])

    transcript = run_session(
        "ws://agent", "token", LIMITS, exit_marker=MARKER, connector=lambda *_: connection
    )

    assert transcript.end == SessionEnd.CLOSED
    assert transcript.output == b"".join(chunks)
    assert transcript.exit_status == status
    assert sorted(set(connection.acknowledged())) == list(range(len(frames)))
    assert len(connection.acknowledged()) == len(delivered)  # every copy acknowledged
    assert connection.closed


def test_given_a_frame_with_a_bad_digest_when_read_then_ignored_and_not_acknowledged() -> None:
    frames = _agent_stream([b"hello"], 0)
    bad = bytearray(frames[2])
    bad[-1] ^= 0xFF
    connection = ScriptedConnection([frames[0], frames[1], bytes(bad), *frames[2:]])

    transcript = run_session(
        "ws://agent", "token", LIMITS, exit_marker=MARKER, connector=lambda *_: connection
    )

    assert transcript.invalid == 1
    assert transcript.output == b"hello"
    assert transcript.exit_status == 0
    assert connection.acknowledged() == list(range(len(frames)))


def test_given_a_text_frame_after_the_token_when_read_then_ignored() -> None:
    frames = _agent_stream([], 0)
    connection = ScriptedConnection([frames[0], "not binary", *frames[1:]])  # type: ignore[list-item]

    transcript = run_session(
        "ws://agent", "token", LIMITS, exit_marker=MARKER, connector=lambda *_: connection
    )

    assert transcript.exit_status == 0
