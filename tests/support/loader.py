"""One botocore data loader for every session a test process makes.

Tests build new boto3 sessions all the time (moto resets boto3's default session each time
a mock starts, and test worlds make their own), and each new session decoded botocore's
JSON service models again: about 50 ms of CPU per service per session, a fifth of
tests/functional's and tests/cli's CPU. Sessions share one loader here, as the simulator
(``sim/aws/clients.py``) and the hub's member sessions (``serverless/adapters/accounts.py``)
already do; the loader caches what it has read and hands it out unchanged.
"""

from __future__ import annotations

import functools

import botocore.loaders
import botocore.session

__all__ = ["share_loader"]

_create_loader = botocore.loaders.create_loader


@functools.cache
def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    return _create_loader(search_path_string)


def share_loader() -> None:
    """Make every botocore session created from now on use one loader per data path."""
    botocore.session.create_loader = _shared_loader  # type: ignore[assignment]
