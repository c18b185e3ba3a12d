"""Runs the Lambda handlers of a landed version of the project, as Lambda would.

Started by tests/functional/test_upgrade.py as ``python landed_handlers.py <steps.json>
<results.json>`` with ``PYTHONPATH`` = a tree checked out from git history and the
function's environment (``AWS_ENDPOINT_URL`` pointing at a moto server). It imports nothing
of the current code: only the Lambda handler contract (``handlers.<name>.handler(event,
context)``), which every version keeps. Each step is ``{"handler": "task_events" or
"sweeper", "event": {...}, "timeout_seconds": N}``; the results are the handlers' answers.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any


class LambdaContext:
    """The parts of a Lambda context the handlers and Powertools read (real time)."""

    function_name = "drain-terminator-landed"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:drain-terminator"
    log_group_name = "/aws/lambda/drain-terminator-landed"
    log_stream_name = "landed"

    def __init__(self, timeout_seconds: float, request_id: str) -> None:
        self._deadline = time.time() + timeout_seconds
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def main(steps_file: str, results_file: str) -> None:
    steps: list[dict[str, Any]] = json.loads(Path(steps_file).read_text())
    results = []
    for n, step in enumerate(steps):
        module = importlib.import_module(f"handlers.{step['handler']}")
        context = LambdaContext(float(step.get("timeout_seconds", 60)), f"landed-{n}")
        results.append(module.handler(step["event"], context))
    Path(results_file).write_text(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
