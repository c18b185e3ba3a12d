"""A Session Manager data-channel client (the protocol of the public Session Manager
plugin and agent): :mod:`framing` for the binary messages, :mod:`channel` for a session.
"""

from __future__ import annotations

from serverless.adapters.ssm_session.channel import (
    Phase,
    SessionEnd,
    SessionLimits,
    SessionTranscript,
    run_session,
)

__all__ = ["Phase", "SessionEnd", "SessionLimits", "SessionTranscript", "run_session"]
