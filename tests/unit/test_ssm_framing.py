"""The data channel's binary message: byte layout, digest, the agent's UUID byte order."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serverless.adapters.ssm_session.framing import (
    HEADER_LENGTH,
    PAYLOAD_OFFSET,
    FramingError,
    Message,
    MessageType,
    PayloadType,
    decode,
    encode,
    uuid_from_wire,
    uuid_to_wire,
)

MESSAGE_ID = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")


def _golden() -> bytes:
    """An acknowledge message written out field by field, as the agent lays it out."""
    payload = b'{"AcknowledgedMessageSequenceNumber":5}'
    return b"".join(
        [
            (116).to_bytes(4, "big"),  # header length
            b"acknowledge".ljust(32, b" "),  # message type, space padded
            (1).to_bytes(4, "big"),  # schema version
            (1_765_000_000_123).to_bytes(8, "big"),  # created date, epoch ms
            (5).to_bytes(8, "big"),  # sequence number
            (3).to_bytes(8, "big"),  # flags: SYN | FIN
            bytes.fromhex("8899aabbccddeeff0011223344556677"),  # UUID, halves swapped
            hashlib.sha256(payload).digest(),  # payload digest
            (0).to_bytes(4, "big"),  # payload type
            len(payload).to_bytes(4, "big"),  # payload length
            payload,
        ]
    )


def test_given_the_header_layout_when_measured_then_it_is_the_agents() -> None:
    assert HEADER_LENGTH == 116
    assert PAYLOAD_OFFSET == 120


def test_given_a_message_when_encoded_then_the_bytes_are_the_agents_layout() -> None:
    message = Message(
        message_type=MessageType.ACKNOWLEDGE,
        sequence_number=5,
        payload=b'{"AcknowledgedMessageSequenceNumber":5}',
        flags=3,
        message_id=MESSAGE_ID,
        created_date=1_765_000_000_123,
    )

    assert encode(message) == _golden()


def test_given_the_agents_bytes_when_decoded_then_every_field_is_read() -> None:
    message = decode(_golden())

    assert message.message_type == "acknowledge"
    assert message.schema_version == 1
    assert message.created_date == 1_765_000_000_123
    assert message.sequence_number == 5
    assert message.flags == 3
    assert message.message_id == MESSAGE_ID
    assert message.payload_type == PayloadType.NONE
    assert message.payload == b'{"AcknowledgedMessageSequenceNumber":5}'


def test_given_a_uuid_when_written_then_its_low_half_comes_first() -> None:
    wire = uuid_to_wire(MESSAGE_ID)

    assert wire.hex() == "8899aabbccddeeff0011223344556677"
    assert uuid_from_wire(wire) == MESSAGE_ID


@given(
    kind=st.sampled_from(list(MessageType)),
    sequence=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    flags=st.integers(min_value=0, max_value=2**64 - 1),
    payload=st.binary(max_size=300),
    payload_type=st.sampled_from(list(PayloadType)),
    message_id=st.uuids(),
)
def test_given_any_message_when_round_tripped_then_it_is_unchanged(
    kind: MessageType,
    sequence: int,
    flags: int,
    payload: bytes,
    payload_type: PayloadType,
    message_id: uuid.UUID,
) -> None:
    message = Message(
        message_type=kind,
        sequence_number=sequence,
        payload=payload,
        payload_type=payload_type,
        flags=flags,
        message_id=message_id,
    )

    assert decode(encode(message)) == message


def test_given_a_payload_changed_in_transit_when_decoded_then_the_digest_rejects_it() -> None:
    frame = bytearray(_golden())
    frame[-2] ^= 0x01

    with pytest.raises(FramingError, match="digest"):
        decode(bytes(frame))


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (_golden()[:100], "shorter than the header"),
        (_golden()[:-1], "payload of"),
        (_golden() + b"x", "payload of"),
        ((7).to_bytes(4, "big") + _golden()[4:], "header length"),
        (_golden()[:4] + b" " * 32 + _golden()[36:], "type missing"),
    ],
    ids=["short", "truncated-payload", "extra-byte", "bad-header-length", "blank-type"],
)
def test_given_a_malformed_frame_when_decoded_then_framing_error(frame: bytes, match: str) -> None:
    with pytest.raises(FramingError, match=match):
        decode(frame)


def test_given_a_longer_header_when_decoded_then_the_payload_follows_its_length() -> None:
    # The agent reads the payload length at its fixed offset and the payload from header
    # length + 4: fields a newer agent adds after the length are skipped.
    golden = _golden()
    payload = golden[PAYLOAD_OFFSET:]
    longer = (120).to_bytes(4, "big") + golden[4:PAYLOAD_OFFSET] + b"\0\0\0\0" + payload

    assert decode(longer).payload == payload


def test_given_a_type_longer_than_32_bytes_when_encoded_then_framing_error() -> None:
    with pytest.raises(FramingError, match="longer than 32"):
        encode(Message(message_type="x" * 33))
