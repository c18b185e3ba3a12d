"""Every time bound of the sweeper, in one place, each with its reason.

The bounds of one AWS call (``ECS_CALL_MAX_SECONDS``, ``LEDGER_CALL_MAX_SECONDS``) live in
:mod:`serverless.shared.pacing`, beside the client configurations that guarantee them; the
margins below are derived from them.
"""

from __future__ import annotations

from serverless.shared.pacing import ECS_CALL_MAX_SECONDS, LEDGER_CALL_MAX_SECONDS

__all__ = [
    "CLOCK_SKEW_SECONDS",
    "HEALTH_CACHE_SECONDS",
    "HEALTH_RECHECK_SECONDS",
    "LEASE_MARGIN_SECONDS",
    "LOOKUP_RETRY_SECONDS",
    "MAX_STOP_ATTEMPTS",
    "RETRY_SECONDS",
    "SAFETY_MARGIN_SECONDS",
    "STAGGER_HOLD_SECONDS",
    "STOP_RETRY_SECONDS",
    "TASK_STATE_MAX_AGE_SECONDS",
    "TRANSIENT_LOOKUP_RETRY_SECONDS",
    "TRANSIENT_RETRY_SECONDS",
    "UNIT_SECONDS",
]

# -- the run ------------------------------------------------------------------------------

#: Time kept in reserve at the end of an invocation (finish writes, flush metrics).
SAFETY_MARGIN_SECONDS = 10.0
#: The least time a unit of work needs: a claim, then a DescribeTasks or StopTask, at their
#: longest. A batch, a claim or a StopTask is started only with this much time left.
UNIT_SECONDS = LEDGER_CALL_MAX_SECONDS + ECS_CALL_MAX_SECONDS
#: After a round that claimed nothing (another run holds the records, or the ledger
#: failed), look again this much later instead of at once.
RETRY_SECONDS = 1.0

# -- one stop -----------------------------------------------------------------------------

#: The clock difference between two invocations a lease allows for.
CLOCK_SKEW_SECONDS = 1.0
#: A StopTask is sent only while the run's lease has at least this long left: the longest
#: possible call plus the clock difference between invocations. Another run can therefore
#: never claim the record while our StopTask may still be in flight. A signal step (exec,
#: ssm-signal) first extends the lease to its port's ``time_bound`` + CLOCK_SKEW_SECONDS, in
#: the conditional write that marks it started.
LEASE_MARGIN_SECONDS = ECS_CALL_MAX_SECONDS + CLOCK_SKEW_SECONDS
#: A StopTask is first sent at most this long after the DescribeTasks that showed the task
#: draining was sent (or ``DECISION_MAX_AGE_SECONDS``, if lower); when the checks between
#: the two took longer (guards' reads, retries), the task is described again. ECS may still
#: begin stopping the task itself inside this window; the StopTask is then a no-op.
TASK_STATE_MAX_AGE_SECONDS = 2.0
#: A permanently failing StopTask is retried this often before the record is given up.
MAX_STOP_ATTEMPTS = 5
STOP_RETRY_SECONDS = 30.0
#: After a StopTask that stayed unavailable through botocore's retries, look again this late.
TRANSIENT_RETRY_SECONDS = 1.0

# -- lookups ------------------------------------------------------------------------------

#: A record whose lookup failed (DescribeTasks, DescribeServices, target health, stagger
#: slot) is looked at again this much later: soon when AWS was only unavailable
#: (throttling, 5xx, time-outs that outlived botocore's retries), later when it refused.
TRANSIENT_LOOKUP_RETRY_SECONDS = 5.0
LOOKUP_RETRY_SECONDS = 15.0

# -- guards -------------------------------------------------------------------------------

#: How often tasks the min-healthy guard deferred are looked at again: on a grid of this
#: step shared by every task, at the first grid point at least half a step away (7.5-22.5 s
#: later, 15 s on average). One sweeper wake and one DescribeTargetHealth per target group
#: then serve all the deferred tasks of a service, not one wake and read per task each on
#: its own schedule; ELB's Describe* bucket (10/s, shared by the account) is the scarce one.
HEALTH_RECHECK_SECONDS = 15.0
#: How long one DescribeTargetHealth answer is reused: within one batch of decisions only,
#: so a stop is never decided on health older than a second.
HEALTH_CACHE_SECONDS = 1.0
#: How long a taken stagger slot stays held beyond its spacing if the run dies before it can
#: record when its StopTask happened.
STAGGER_HOLD_SECONDS = 60.0
