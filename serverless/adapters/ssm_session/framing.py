"""The Session Manager data channel's binary message (the agent's ``ClientMessage``).

Every frame after the token is one message: a fixed 120-byte header, then the payload.
All integers are big-endian; the message type is UTF-8, space padded to 32 bytes::

    offset  size  field
         0     4  header length (116: the offset of the payload-length field)
         4    32  message type ("output_stream_data", "acknowledge", ...)
        36     4  schema version (1)
        40     8  created date (epoch milliseconds)
        48     8  sequence number
        56     8  flags (bit 0 SYN: first of a stream; bit 1 FIN: last)
        64    16  message id: a UUID with its two 8-byte halves swapped (least
                  significant half first), as the agent and the plugin write it
        80    32  payload digest (SHA-256 of the payload)
       112     4  payload type (1 output, 5 handshake request, ...)
       116     4  payload length
       120     n  payload

As the public Session Manager plugin and agent read it, the payload starts at header
length + 4, so a longer header from a newer agent still parses.
"""

from __future__ import annotations

import hashlib
import struct
import time
import uuid
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

__all__ = [
    "FLAG_FIN",
    "FLAG_SYN",
    "HEADER_LENGTH",
    "PAYLOAD_OFFSET",
    "FramingError",
    "Message",
    "MessageType",
    "PayloadType",
    "decode",
    "encode",
    "uuid_from_wire",
    "uuid_to_wire",
]

_TYPE_LENGTH = 32
_HEADER = struct.Struct(">I32sIQqQ16s32sII")
#: The header-length field's value: everything before the payload-length field.
HEADER_LENGTH = _HEADER.size - 4
PAYLOAD_OFFSET = _HEADER.size
FLAG_SYN = 1
FLAG_FIN = 2


class MessageType(StrEnum):
    """Message types of the data channel (client and agent side)."""

    INPUT_STREAM_DATA = "input_stream_data"
    OUTPUT_STREAM_DATA = "output_stream_data"
    ACKNOWLEDGE = "acknowledge"
    CHANNEL_CLOSED = "channel_closed"
    START_PUBLICATION = "start_publication"
    PAUSE_PUBLICATION = "pause_publication"


class PayloadType(IntEnum):
    """What a stream message's payload holds."""

    NONE = 0
    OUTPUT = 1
    ERROR = 2
    SIZE = 3
    PARAMETER = 4
    HANDSHAKE_REQUEST = 5
    HANDSHAKE_RESPONSE = 6
    HANDSHAKE_COMPLETE = 7
    ENC_CHALLENGE_REQUEST = 8
    ENC_CHALLENGE_RESPONSE = 9
    FLAG = 10
    STDERR = 11
    EXIT_CODE = 12


class FramingError(ValueError):
    """A frame that is not a valid data-channel message (short, bad length or digest)."""


def _now_millis() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Message:
    """One data-channel message, decoded. ``message_type`` is kept as sent (str)."""

    message_type: str
    sequence_number: int = 0
    payload: bytes = b""
    payload_type: int = PayloadType.NONE
    flags: int = 0
    message_id: uuid.UUID = field(default_factory=uuid.uuid4)
    schema_version: int = 1
    created_date: int = field(default_factory=_now_millis)


def uuid_to_wire(value: uuid.UUID) -> bytes:
    """The 16 bytes of ``value`` as the agent writes them: low 8 bytes, then high 8."""
    raw = value.bytes
    return raw[8:] + raw[:8]


def uuid_from_wire(raw: bytes) -> uuid.UUID:
    """The UUID of 16 wire bytes (the inverse of :func:`uuid_to_wire`)."""
    if len(raw) != 16:
        raise FramingError(f"a message id has 16 bytes, not {len(raw)}")
    return uuid.UUID(bytes=raw[8:] + raw[:8])


def encode(message: Message) -> bytes:
    """The frame of ``message`` (digest and lengths computed here)."""
    kind = message.message_type.encode("utf-8")
    if len(kind) > _TYPE_LENGTH:
        raise FramingError(f"message type longer than {_TYPE_LENGTH} bytes: {kind!r}")
    header = _HEADER.pack(
        HEADER_LENGTH,
        kind.ljust(_TYPE_LENGTH, b" "),
        message.schema_version,
        message.created_date,
        message.sequence_number,
        message.flags,
        uuid_to_wire(message.message_id),
        hashlib.sha256(message.payload).digest(),
        int(message.payload_type),
        len(message.payload),
    )
    return header + message.payload


def decode(frame: bytes) -> Message:
    """The message of one binary frame; raises :class:`FramingError` when it is invalid.

    Checks the header length, the message type, and the payload's length and SHA-256
    digest (the plugin checks the digest too; a bad frame is dropped, not acknowledged).
    """
    if len(frame) < PAYLOAD_OFFSET:
        raise FramingError(f"frame of {len(frame)} bytes is shorter than the header")
    (
        header_length,
        kind,
        schema_version,
        created_date,
        sequence_number,
        flags,
        message_id,
        digest,
        payload_type,
        payload_length,
    ) = _HEADER.unpack_from(frame)
    if header_length < HEADER_LENGTH or header_length + 4 > len(frame):
        raise FramingError(f"bad header length {header_length}")
    payload = frame[header_length + 4 :]
    if len(payload) != payload_length:
        raise FramingError(f"payload of {len(payload)} bytes, header says {payload_length}")
    message_type = kind.strip(b"\x00").decode("utf-8", errors="replace").strip()
    if not message_type:
        raise FramingError("message type missing")
    if payload_length and hashlib.sha256(payload).digest() != digest:
        raise FramingError(f"payload digest mismatch ({message_type} #{sequence_number})")
    return Message(
        message_type=message_type,
        sequence_number=sequence_number,
        payload=payload,
        payload_type=payload_type,
        flags=flags,
        message_id=uuid_from_wire(message_id),
        schema_version=schema_version,
        created_date=created_date,
    )
