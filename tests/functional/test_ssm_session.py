"""The data-channel client against the fake agent over a real websocket: the protocol's
happy path and each fault ending with a clear outcome in bounded time."""

from __future__ import annotations

import socket
import time
import uuid

import pytest

from serverless.adapters.ssm_session import (
    Phase,
    SessionEnd,
    SessionLimits,
    SessionTranscript,
    run_session,
)
from serverless.adapters.ssm_session.channel import CLIENT_VERSION
from serverless.adapters.ssm_session.framing import PayloadType
from tests.support.fake_ssm_agent import FakeSsmAgent, Fault, Scenario, fake_agent

MARKER = b"EXIT_STATUS="
LIMITS = SessionLimits(
    connect_timeout=2.0,
    handshake_timeout=2.0,
    command_timeout=1.0,
    close_timeout=0.5,
    resend_interval=0.1,
)
#: No session may take longer than its phases' bounds (plus scheduling slack).
BOUND = LIMITS.total + 1.0


def _run(agent: FakeSsmAgent, token: str | None = None) -> tuple[SessionTranscript, float]:
    started = time.monotonic()
    transcript = run_session(agent.url, token or agent.scenario.token, LIMITS, exit_marker=MARKER)
    elapsed = time.monotonic() - started
    assert agent.wait(), "the fake agent's session did not finish"
    return transcript, elapsed


def test_given_a_command_that_exits_0_when_run_then_output_and_status_and_every_ack() -> None:
    scenario = Scenario(output=b"signalled 1\r\n", exit_status=0)
    with fake_agent(scenario) as agent:
        transcript, elapsed = _run(agent)

    received = agent.received
    assert transcript.end == SessionEnd.CLOSED
    assert transcript.exit_status == 0
    assert transcript.output == b"signalled 1\r\n"  # the exit line taken out
    assert transcript.session_type == "InteractiveCommands"
    assert transcript.agent_version == "3.3.0.0"
    assert elapsed < BOUND
    # The client's side of the protocol, as the agent saw it.
    assert received.opening is not None
    assert received.opening["TokenValue"] == scenario.token
    assert received.opening["MessageSchemaVersion"] == "1.0"
    assert received.opening["ClientVersion"] == CLIENT_VERSION
    uuid.UUID(received.opening["RequestId"])
    uuid.UUID(received.opening["ClientId"])
    assert received.handshake_response == {
        "ClientVersion": CLIENT_VERSION,
        "ProcessedClientActions": [{"ActionType": "SessionType", "ActionStatus": 1}],
        "Errors": None,
    }
    assert sorted(received.acknowledged) == list(range(transcript.acknowledged))
    assert all(a["AcknowledgedMessageType"] == "output_stream_data" for a in received.ack_contents)
    assert all(a["IsSequentialMessage"] is True for a in received.ack_contents)
    kinds = [m.payload_type for m in received.inputs]
    assert kinds == [PayloadType.HANDSHAKE_RESPONSE, PayloadType.SIZE]
    assert [m.sequence_number for m in received.inputs] == [0, 1]
    assert received.invalid == []


def test_given_the_ack_content_when_read_then_it_names_the_message_by_its_uuid() -> None:
    with fake_agent(Scenario()) as agent:
        _run(agent)

    ids = [a["AcknowledgedMessageId"] for a in agent.received.ack_contents]
    assert ids
    assert all(str(uuid.UUID(i)) == i for i in ids)
    assert len(set(ids)) == len(ids)


def test_given_the_exit_status_as_exit_code_payload_when_run_then_it_is_read() -> None:
    scenario = Scenario(output=b"done\r\n", exit_status=3, exit_code_payload=True)
    with fake_agent(scenario) as agent:
        transcript, _ = _run(agent)

    assert transcript.end == SessionEnd.CLOSED
    assert transcript.exit_status == 3
    assert transcript.output == b"done\r\n"


def test_given_a_wrong_token_when_opened_then_dropped_with_the_close_reason() -> None:
    with fake_agent(Scenario()) as agent:
        transcript, elapsed = _run(agent, token="not-the-token")

    assert transcript.end == SessionEnd.DROPPED
    assert transcript.phase == Phase.HANDSHAKE
    assert "1008" in transcript.detail
    assert "invalid token" in transcript.detail
    assert elapsed < BOUND


def test_given_a_refused_handshake_when_run_then_handshake_failed_at_once() -> None:
    with fake_agent(Scenario(fault=Fault.REFUSE_HANDSHAKE)) as agent:
        transcript, elapsed = _run(agent)

    assert transcript.end == SessionEnd.HANDSHAKE_FAILED
    assert not transcript.handshake_complete
    assert "KMS" in transcript.detail
    response = agent.received.handshake_response
    assert response is not None
    statuses = {a["ActionType"]: a["ActionStatus"] for a in response["ProcessedClientActions"]}
    assert statuses == {"SessionType": 1, "KMSEncryption": 2}
    assert elapsed < LIMITS.handshake_timeout  # it does not wait for the bound


def test_given_a_connection_dropped_in_the_handshake_when_run_then_dropped_before_command() -> None:
    with fake_agent(Scenario(fault=Fault.DROP_IN_HANDSHAKE)) as agent:
        transcript, elapsed = _run(agent)

    assert transcript.end == SessionEnd.DROPPED
    assert transcript.phase == Phase.HANDSHAKE
    assert "no close frame" in transcript.detail
    assert elapsed < BOUND


def test_given_a_connection_dropped_mid_session_when_run_then_dropped_without_status() -> None:
    scenario = Scenario(fault=Fault.DROP_MID_SESSION, output=b"0123456789abcdefghij", chunk=5)
    with fake_agent(scenario) as agent:
        transcript, elapsed = _run(agent)

    assert transcript.end == SessionEnd.DROPPED
    assert transcript.phase == Phase.COMMAND
    assert transcript.handshake_complete
    assert transcript.exit_status is None
    assert transcript.output == b"0123456789"  # what arrived is kept
    assert elapsed < BOUND


def test_given_a_command_missing_from_the_image_when_run_then_exit_127_and_its_message() -> None:
    with fake_agent(Scenario(fault=Fault.EXIT_127)) as agent:
        transcript, _ = _run(agent)

    assert transcript.end == SessionEnd.CLOSED
    assert transcript.exit_status == 127
    assert b"not found" in transcript.output


def test_given_a_session_that_never_ends_when_run_then_timed_out_and_terminated() -> None:
    with fake_agent(Scenario(fault=Fault.NEVER_ENDS, output=b"still running")) as agent:
        transcript, elapsed = _run(agent)

    assert transcript.end == SessionEnd.TIMED_OUT
    assert transcript.phase == Phase.COMMAND
    assert "command" in transcript.detail
    assert transcript.output == b"still running"
    assert LIMITS.command_timeout <= elapsed < BOUND
    assert agent.received.flags == [2]  # the TerminateSession flag
    assert agent.received.client_closed


def test_given_no_channel_closed_after_the_exit_line_when_run_then_finished_after_close_bound() -> (
    None
):
    with fake_agent(Scenario(fault=Fault.NO_CHANNEL_CLOSED)) as agent:
        transcript, elapsed = _run(agent)

    assert transcript.end == SessionEnd.FINISHED
    assert transcript.exit_status == 0
    assert LIMITS.close_timeout <= elapsed < BOUND
    assert agent.received.client_closed


def test_given_frames_out_of_order_when_run_then_buffered_and_read_in_sequence() -> None:
    output = b"first line\r\nsecond line\r\nthird line\r\n"
    with fake_agent(Scenario(fault=Fault.OUT_OF_ORDER, output=output, chunk=4)) as agent:
        transcript, _ = _run(agent)

    assert transcript.end == SessionEnd.CLOSED
    assert transcript.output == output
    assert transcript.exit_status == 0
    assert transcript.reordered > 0
    assert agent.received.invalid == []  # every message acknowledged


def test_given_duplicated_frames_when_run_then_dropped_but_acknowledged() -> None:
    output = b"only once\r\n"
    with fake_agent(Scenario(fault=Fault.DUPLICATES, output=output, chunk=3)) as agent:
        transcript, _ = _run(agent)

    assert transcript.end == SessionEnd.CLOSED
    assert transcript.output == output  # not twice
    assert transcript.exit_status == 0
    assert transcript.duplicates > 0
    # Each copy is acknowledged, so the agent stops resending it.
    acked = agent.received.acknowledged
    assert len(acked) == transcript.acknowledged == 2 * len(set(acked))
    # The duplicated handshake request is not answered twice.
    responses = [
        m for m in agent.received.inputs if m.payload_type == PayloadType.HANDSHAKE_RESPONSE
    ]
    assert len(responses) == 1


def test_given_paused_publication_when_run_then_the_response_waits_and_is_sent() -> None:
    with fake_agent(Scenario(fault=Fault.PAUSED, output=b"ok\r\n")) as agent:
        transcript, _ = _run(agent)

    assert transcript.end == SessionEnd.CLOSED
    assert transcript.exit_status == 0
    assert agent.received.handshake_response is not None


def test_given_the_clients_messages_lost_once_when_run_then_resent_until_acknowledged() -> None:
    with fake_agent(Scenario(fault=Fault.LOSES_INPUT, output=b"ok\r\n")) as agent:
        transcript, elapsed = _run(agent)

    assert transcript.end == SessionEnd.CLOSED
    assert transcript.exit_status == 0
    # The first copy of the handshake response was lost: the handshake completed on the
    # copy the client resent when no acknowledgement came.
    first = agent.received.inputs[0]
    assert first.payload_type == PayloadType.HANDSHAKE_RESPONSE
    assert first.sequence_number == 0
    assert elapsed < BOUND


def test_given_no_server_when_connecting_then_connect_failed_fast() -> None:
    with fake_agent() as agent:
        url = agent.url
    started = time.monotonic()

    transcript = run_session(url, "token", LIMITS)

    assert transcript.end == SessionEnd.CONNECT_FAILED
    assert transcript.phase == Phase.CONNECT
    assert time.monotonic() - started < LIMITS.connect_timeout


def test_given_a_server_that_never_upgrades_when_connecting_then_timed_out_in_connect() -> None:
    # TCP is accepted (by the kernel's backlog) but no websocket handshake ever comes.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        limits = SessionLimits(connect_timeout=0.3)
        started = time.monotonic()

        transcript = run_session(f"ws://127.0.0.1:{port}/v1/data-channel/s", "token", limits)

    assert transcript.end == SessionEnd.TIMED_OUT
    assert transcript.phase == Phase.CONNECT
    assert time.monotonic() - started < 0.3 + 1.0


def test_given_an_exit_line_split_over_messages_when_run_then_it_is_still_found() -> None:
    # One byte per message: the marker, the digits and the line end all arrive apart.
    with fake_agent(Scenario(output=b"x" * 40, exit_status=42, chunk=1)) as agent:
        transcript, _ = _run(agent)

    assert transcript.exit_status == 42
    assert transcript.output == b"x" * 40


@pytest.mark.parametrize("name", ["connect_timeout", "command_timeout"])
def test_given_a_non_positive_bound_when_limits_made_then_value_error(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        SessionLimits(**{name: 0})
