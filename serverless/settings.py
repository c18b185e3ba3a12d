"""Every environment variable the functions read, loaded once into a frozen dataclass.

A missing or malformed variable raises :class:`ConfigError` at cold start, so a
misconfigured deployment fails loudly on its first invocation instead of quietly
doing nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from serverless.errors import ConfigError

__all__ = [
    "CONFIRM_AFTER_SECONDS",
    "DEFAULT_WAIT_SECONDS",
    "DRY_RUN",
    "KICK_BELOW_SECONDS",
    "LEASE_SECONDS",
    "RECORD_RETENTION_SECONDS",
    "REQUIRED_VARIABLES",
    "SWEEPER_FUNCTION_NAME",
    "SWEEP_HORIZON_SECONDS",
    "TABLE_NAME",
    "TAG_CACHE_SECONDS",
    "TAG_PREFIX",
    "Settings",
    "load_settings",
]

# Environment variable names: the only place they are spelled out.
TABLE_NAME = "TABLE_NAME"
TAG_PREFIX = "TAG_PREFIX"
DEFAULT_WAIT_SECONDS = "DEFAULT_WAIT_SECONDS"
SWEEP_HORIZON_SECONDS = "SWEEP_HORIZON_SECONDS"
LEASE_SECONDS = "LEASE_SECONDS"
TAG_CACHE_SECONDS = "TAG_CACHE_SECONDS"
RECORD_RETENTION_SECONDS = "RECORD_RETENTION_SECONDS"
DRY_RUN = "DRY_RUN"
CONFIRM_AFTER_SECONDS = "CONFIRM_AFTER_SECONDS"
SWEEPER_FUNCTION_NAME = "SWEEPER_FUNCTION_NAME"
KICK_BELOW_SECONDS = "KICK_BELOW_SECONDS"

REQUIRED_VARIABLES: tuple[str, ...] = (TABLE_NAME,)

_WHOLE = re.compile(r"-?[0-9]{1,9}")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True, slots=True)
class Settings:
    """Runtime configuration shared by both functions."""

    table_name: str
    tag_prefix: str = "drain-terminator:"
    default_wait_seconds: int = 120
    # How far ahead a sweeper run looks for deadlines it must meet itself: the schedule
    # fires once a minute at an unspecified second, so one minute plus slack.
    sweep_horizon_seconds: int = 90
    # How long a claim on a ledger record holds before another run may take it over.
    lease_seconds: int = 30
    tag_cache_seconds: int = 60
    # How long closed records stay in the ledger before DynamoDB TTL removes them.
    record_retention_seconds: int = 7 * 24 * 3600
    dry_run: bool = False
    # A task still draining this long after our StopTask is reported as unconfirmed.
    confirm_after_seconds: int = 60
    # The sweeper function the task-events function starts at once (asynchronously) when a
    # drain's deadline is nearer than ``kick_below_seconds``: the next scheduled run might
    # start too late for it. Empty: never.
    sweeper_function_name: str = ""
    kick_below_seconds: int = 120


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not _WHOLE.fullmatch(text):
        raise ConfigError(f"{name} must be a whole number, got {raw!r}")
    value = int(text)
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read :class:`Settings` from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    missing = [name for name in REQUIRED_VARIABLES if not env.get(name, "").strip()]
    if missing:
        raise ConfigError(f"missing required environment variable(s): {', '.join(missing)}")
    prefix = env.get(TAG_PREFIX, "drain-terminator:")
    if not prefix.strip():
        raise ConfigError(f"{TAG_PREFIX} must not be empty")
    settings = Settings(
        table_name=env[TABLE_NAME].strip(),
        tag_prefix=prefix,
        default_wait_seconds=_int(env, DEFAULT_WAIT_SECONDS, 120, 0),
        sweep_horizon_seconds=_int(env, SWEEP_HORIZON_SECONDS, 90, 0),
        lease_seconds=_int(env, LEASE_SECONDS, 30, 1),
        tag_cache_seconds=_int(env, TAG_CACHE_SECONDS, 60, 0),
        record_retention_seconds=_int(env, RECORD_RETENTION_SECONDS, 7 * 24 * 3600, 60),
        dry_run=_bool(env, DRY_RUN, False),
        confirm_after_seconds=_int(env, CONFIRM_AFTER_SECONDS, 60, 1),
        sweeper_function_name=env.get(SWEEPER_FUNCTION_NAME, "").strip(),
        kick_below_seconds=_int(env, KICK_BELOW_SECONDS, 120, 0),
    )
    return settings
