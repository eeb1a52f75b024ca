"""telemetry.retry: the one write policy, as pure functions (no server, no sleeping).

The classification of every error type; the schedule (attempts, growth, cap, floor); a
server's ``Retry-After`` honoured but capped; seeded jitter repeatable and bounded;
``RetryPolicy.call`` retries only what is transient and gives up after the last attempt.
"""

from __future__ import annotations

import dataclasses

import pytest

from telemetry.errors import (
    DatabaseNotFound,
    PayloadTooLarge,
    QueryError,
    ServiceError,
    ServiceUnavailable,
    ServiceUnreachable,
    TransientServiceError,
    WriteError,
    WriteRejected,
    WriteRetryable,
)
from telemetry.retry import ONE_SHOT, SPOOLED, Action, Backoff, RetryPolicy, classify

URL = "http://db:8086"


@pytest.mark.parametrize(
    ("error", "action"),
    [
        (PayloadTooLarge(url=URL), Action.SPLIT),
        (WriteRejected("unable to parse", status=400), Action.BAD_POINTS),
        (WriteRejected("field type conflict", status=422), Action.BAD_POINTS),
        (WriteRejected("authorization failed", status=401), Action.FAIL),
        (WriteRejected("forbidden", status=403), Action.FAIL),
        (WriteRejected('database not found: "x"', status=404), Action.FAIL),
        (WriteRetryable("busy", 3.0, status=429), Action.RETRY),
        (WriteRetryable("bad gateway", status=502), Action.RETRY),
        (ServiceUnreachable("InfluxDB", URL, "connection refused"), Action.RETRY),
        (ServiceUnavailable("down", status=503), Action.RETRY),
        (QueryError("error parsing query"), Action.FAIL),
        (DatabaseNotFound("no database 'x'"), Action.FAIL),
        (ServiceError("is this InfluxDB?"), Action.FAIL),
        (OSError("disk full"), Action.FAIL),
    ],
)
def test_every_error_type_has_one_action(error: BaseException, action: Action) -> None:
    assert classify(error) is action
    assert ONE_SHOT.classify(error) is SPOOLED.classify(error) is action


def test_the_types_say_what_happened_on_the_wire() -> None:
    unreachable = ServiceUnreachable("InfluxDB", URL, "connection refused")
    assert str(unreachable) == f"cannot reach InfluxDB at {URL}: connection refused"
    assert not isinstance(unreachable, WriteError)  # ping and query raise it too
    retryable = WriteRetryable("overloaded", 2.5, status=503, url=URL)
    assert isinstance(retryable, WriteError)
    assert isinstance(retryable, TransientServiceError)
    assert (retryable.status, retryable.reason, retryable.retry_after_s) == (503, "overloaded", 2.5)
    assert str(retryable) == (
        f"InfluxDB at {URL} cannot take the write now (HTTP 503): overloaded (retry after 2.5 s)"
    )
    for error in (unreachable, retryable, ServiceUnavailable("x", status=503)):
        assert isinstance(error, TransientServiceError)
        assert error.exit_code == 3
    assert DatabaseNotFound("x").exit_code == 2


def test_one_shot_schedule() -> None:
    assert ONE_SHOT.max_attempts == 3
    assert ONE_SHOT.schedule() == [1.0, 2.0]  # as write_batches waited before: 1, 2 s
    assert not ONE_SHOT.gives_up(2)
    assert ONE_SHOT.gives_up(3)


def test_schedule_grows_to_its_cap_and_no_further() -> None:
    policy = RetryPolicy(max_attempts=None, first_wait_s=0.5, factor=2.0, max_wait_s=30.0)
    assert [policy.backoff_s(n) for n in range(1, 10)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        30.0,
        30.0,
        30.0,
    ]
    assert policy.backoff_s(10**6) == 30.0  # no overflow after a long outage
    assert not policy.gives_up(10**6)
    with pytest.raises(ValueError, match="no finite schedule"):
        policy.schedule()
    assert RetryPolicy(max_attempts=4, first_wait_s=0.0, min_wait_s=0.1).schedule() == [0.1] * 3
    with pytest.raises(ValueError, match="counts from 1"):
        policy.backoff_s(0)


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_attempts=5, first_wait_s=1.0, max_wait_s=30.0, min_wait_s=0.1)

    def asked(seconds: float | None) -> WriteRetryable:
        return WriteRetryable("busy", seconds, status=429)

    assert policy.wait_s(1, asked(7.0)) == 7.0  # longer than the schedule: the server's
    assert policy.wait_s(4, asked(2.0)) == 8.0  # never earlier than it asked, nor than backoff
    assert policy.wait_s(1, asked(3600.0)) == 30.0  # but never longer than the cap
    assert policy.wait_s(1, asked(0.0)) == 1.0  # "Retry-After: 0" does not spin
    assert policy.wait_s(2, asked(None)) == 2.0
    assert policy.wait_s(1, ServiceUnavailable("down", status=503, retry_after_s=5.0)) == 5.0
    assert policy.wait_s(1, OSError("not a service error")) == 1.0


def test_seeded_jitter_is_repeatable_and_bounded() -> None:
    policy = dataclasses.replace(SPOOLED, max_wait_s=8.0)
    runs = []
    for _ in range(2):
        backoff = Backoff(policy, seed=42)
        runs.append([backoff.failed() for _ in range(12)])
    assert runs[0] == runs[1]
    assert runs[0] != [policy.backoff_s(n) for n in range(1, 13)]  # spread, not the schedule
    for n, wait in enumerate(runs[0], start=1):
        assert policy.backoff_s(n) * 0.9 - 1e-12 <= wait <= min(8.0, policy.backoff_s(n) * 1.1)
    assert all(0.1 <= w <= 8.0 for w in runs[0])


def test_backoff_resets_on_success() -> None:
    backoff = Backoff(RetryPolicy(max_attempts=3))
    assert [backoff.failed(), backoff.failed()] == [1.0, 2.0]
    assert not backoff.given_up
    backoff.succeeded()
    assert backoff.failed() == 1.0
    backoff.failed()
    backoff.failed()
    assert backoff.given_up


def test_call_retries_only_transient_failures() -> None:
    policy = RetryPolicy(max_attempts=4, first_wait_s=0.25)
    waits: list[float] = []
    outcomes: list[Exception | str] = [
        ServiceUnreachable("InfluxDB", URL, "connection refused"),
        WriteRetryable("busy", 3.0, status=429),
        "ok",
    ]

    def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert policy.call(attempt, sleep=waits.append) == "ok"
    assert waits == [0.25, 3.0]

    calls = []

    def rejected() -> None:
        calls.append(1)
        raise WriteRejected("authorization failed", status=401)

    with pytest.raises(WriteRejected):
        policy.call(rejected, sleep=waits.append)
    assert len(calls) == 1  # no retry: it would fail the same way

    def down() -> None:
        calls.append(1)
        raise ServiceUnreachable("InfluxDB", URL, "connection refused")

    calls.clear()
    waits.clear()
    with pytest.raises(ServiceUnreachable):
        policy.call(down, sleep=waits.append)
    assert len(calls) == 4
    assert waits == policy.schedule() == [0.25, 0.5, 1.0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"min_wait_s": 5.0, "max_wait_s": 1.0},
        {"max_wait_s": float("inf")},
        {"factor": 0.5},
        {"first_wait_s": -1.0},
        {"jitter": 1.0},
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must|need"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
