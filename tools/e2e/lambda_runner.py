"""Run a Lambda handler the way the Python runtime does, in this (separate) process.

Started by tools/e2e/deployed.py with ``python -S`` and ``PYTHONPATH`` = task root,
layer (``.../opt/python``), runtime packages (boto3/botocore), nothing else: standard
library and botocore only here. Reads a JSON request file (argv[1]), writes a JSON result
file (argv[2]): each invocation's result or error, every AWS call the handler made
(service, operation, parameters, for the IAM check), and where the modules came from.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
import uuid
from typing import Any


class Context:
    """The attributes of the runtime's context object that handlers use."""

    def __init__(self, function_name: str, region: str, account: str, timeout: float) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "e2e"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as handle:
        request = json.load(handle)
    calls: list[dict[str, Any]] = []

    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        calls.append(
            {
                "service": self.meta.service_model.signing_name,
                "operation": operation_name,
                "params": json.loads(json.dumps(api_params, default=str)),
                "at": time.time(),
            }
        )
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = recording  # type: ignore[method-assign]

    module_name, _, function = request["handler"].rpartition(".")
    started = time.process_time()
    handler = getattr(importlib.import_module(module_name), function)
    import_cpu = time.process_time() - started

    results = []
    for event in request["events"]:
        context = Context(
            request["function_name"], request["region"], request["account"], request["timeout"]
        )
        try:
            results.append({"ok": True, "value": handler(event, context)})
        except Exception:  # reported to the harness, which fails the step
            results.append({"ok": False, "error": traceback.format_exc()})

    modules = {
        name: getattr(sys.modules[name], "__file__", None)
        for name in ("handlers", "serverless", "aws_lambda_powertools", "botocore")
        if name in sys.modules
    }
    result = {
        "results": results,
        "calls": calls,
        "modules": modules,
        "imported_boto3": "boto3" in sys.modules,
        "imported_s3transfer": "s3transfer" in sys.modules,
        "import_cpu_seconds": import_cpu,
    }
    with open(sys.argv[2], "w", encoding="utf-8") as handle:
        json.dump(result, handle, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
