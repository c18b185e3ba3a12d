"""Read Powertools' EMF output (printed JSON lines) back into metric values."""

from __future__ import annotations

import json
from collections import defaultdict


def emf_metrics(output: str) -> dict[str, list[float]]:
    """Every metric value printed in ``output``, by metric name (the per-account series, the
    ``account`` dimension's, repeat values of the totals and are left out)."""
    values: dict[str, list[float]] = defaultdict(list)
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        blob = json.loads(line)
        if "_aws" not in blob:
            continue
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            if any("account" in dimensions for dimensions in directive["Dimensions"]):
                continue
            for metric in directive["Metrics"]:
                raw = blob[metric["Name"]]
                values[metric["Name"]].extend(raw if isinstance(raw, list) else [raw])
    return dict(values)
