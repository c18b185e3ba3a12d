"""Pass a command's output through as it comes; name the wait when it goes quiet.

Used by .ci/run: `make test 2>&1 | python3 .ci/heartbeat.py`. Some steps print nothing for
a while (pip unpacking wheels, mypy on a cold cache, checkov); after QUIET seconds without
output this prints one line saying how long the run has been going and what it last
printed, so the log never goes silent for longer. While the last line is pytest's closing
summary it stays quiet (the interpreter can take a while to exit after a large run), and it prints
nothing after its input ends: the last line stays pytest's summary.
"""

from __future__ import annotations

import os
import re
import select
import sys
import time

QUIET = float(os.environ.get("HEARTBEAT_SECONDS", "25"))
# pytest's last line, e.g. "==== 781 passed, 13 warnings in 614.06s (0:10:14) ====".
PYTEST_SUMMARY = re.compile(
    rb"^=+ .*\b(passed|failed|error|errors|no tests ran)\b.* in [0-9.]+s.* =+$"
)


def main() -> int:
    source, sink = sys.stdin.fileno(), sys.stdout.fileno()
    start = last = time.monotonic()
    line = b""  # the last complete non-blank line
    pending = b""  # what followed the last newline
    finished = False  # the last line printed is a pytest summary
    while True:
        ready, _, _ = select.select([source], [], [], 1.0)
        now = time.monotonic()
        if ready:
            chunk = os.read(source, 65536)
            if not chunk:
                return 0
            os.write(sink, chunk)
            *complete, pending = (pending + chunk).split(b"\n")
            line = next((c for c in reversed(complete) if c.strip()), line)
            finished = PYTEST_SUMMARY.match(line.strip()) is not None
            last = now
        elif now - last >= QUIET and not finished:
            said = (pending or line)[-120:].decode(errors="replace").strip()
            lead = "\n" if pending else ""
            os.write(sink, f"{lead}[ci {now - start:.0f} s] still running; last: {said}\n".encode())
            pending, last = b"", now


if __name__ == "__main__":
    sys.exit(main())
