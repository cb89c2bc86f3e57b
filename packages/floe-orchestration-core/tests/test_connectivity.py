"""Tests of ValidationResult, Deadline and run_check."""

from __future__ import annotations

import json
import math
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floe_orchestration_core.connectivity import (
    Deadline,
    DeadlineExceeded,
    ValidationResult,
    run_check,
)
from floe_orchestration_core.errors import ConnectivityError


class FakeClock:
    """A monotonic clock the test advances by hand."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_ok_result_is_truthy_and_has_no_errors() -> None:
    result = ValidationResult.ok("reachable", warnings=["slow answer"], duration_s=0.2)
    assert result
    assert result.errors == ()
    assert result.warnings == ("slow answer",)
    assert result.duration_s == 0.2


def test_failure_without_errors_uses_the_message_as_the_error() -> None:
    result = ValidationResult.failure("cannot reach http://localhost:3000")
    assert not result
    assert result.errors == ("cannot reach http://localhost:3000",)


def test_failure_keeps_given_errors_and_warnings() -> None:
    result = ValidationResult.failure("down", errors=["refused", "timeout"], warnings=("tls",))
    assert result.errors == ("refused", "timeout")
    assert result.warnings == ("tls",)


def test_to_dict_is_json_ready() -> None:
    result = ValidationResult.failure("down", errors=["refused"], duration_s=1.5)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload == {
        "success": False,
        "message": "down",
        "errors": ["refused"],
        "warnings": [],
        "duration_s": 1.5,
    }


def test_a_single_string_is_one_error_not_its_characters() -> None:
    result = ValidationResult(False, "down", errors="refused")
    assert result.errors == ("refused",)


def test_deadline_counts_down_with_the_clock() -> None:
    clock = FakeClock()
    deadline = Deadline(10.0, clock=clock)
    assert deadline.budget == 10.0
    assert deadline.remaining == 10.0
    clock.advance(4.0)
    assert deadline.elapsed == 4.0
    assert deadline.remaining == 6.0
    assert not deadline.expired
    clock.advance(7.0)
    assert deadline.remaining == 0.0
    assert deadline.expired


def test_step_timeout_is_the_smaller_of_remaining_and_cap() -> None:
    clock = FakeClock()
    deadline = Deadline(10.0, clock=clock)
    assert deadline.step_timeout(cap=3.0) == 3.0
    assert deadline.step_timeout() == 10.0
    clock.advance(8.5)
    assert deadline.step_timeout(cap=3.0) == 1.5


def test_the_deadline_bounds_the_whole_check_not_each_step() -> None:
    clock = FakeClock()
    deadline = Deadline(10.0, clock=clock)
    spent = []
    for _ in range(5):  # five steps each allowed up to 3 s must share 10 s in total
        timeout = deadline.step_timeout(cap=3.0)
        spent.append(timeout)
        clock.advance(timeout)
        if deadline.expired:
            break
    assert spent == [3.0, 3.0, 3.0, 1.0]
    with pytest.raises(DeadlineExceeded):
        deadline.step_timeout(cap=3.0)


def test_expired_deadline_names_the_step_and_budget() -> None:
    clock = FakeClock()
    deadline = Deadline(10.0, clock=clock)
    deadline.check("connecting")  # time left: no error
    clock.advance(10.0)
    with pytest.raises(DeadlineExceeded, match=r"gave up after 10\.0 s while querying") as info:
        deadline.check("querying the GraphQL API")
    assert info.value.step == "querying the GraphQL API"
    assert info.value.budget == 10.0
    assert isinstance(info.value, ConnectivityError)


@pytest.mark.parametrize("seconds", [0, -1.0, math.inf, math.nan, True, "10"])
def test_deadline_refuses_a_budget_that_is_not_positive_and_finite(seconds: object) -> None:
    with pytest.raises(ConnectivityError, match=r"above zero.*Deadline\(10\.0\)"):
        Deadline(seconds)  # type: ignore[arg-type]


def test_step_timeout_refuses_a_non_positive_cap() -> None:
    with pytest.raises(ConnectivityError, match="cap must be"):
        Deadline(1.0).step_timeout(cap=0)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=0.001, max_value=1e6),
    st.lists(st.floats(min_value=0, max_value=1e6), max_size=20),
    st.one_of(st.none(), st.floats(min_value=0.001, max_value=1e6)),
)
def test_step_timeouts_never_exceed_what_is_left(
    budget: float, advances: list[float], cap: float | None
) -> None:
    clock = FakeClock(0.0)
    deadline = Deadline(budget, clock=clock)
    for advance in advances:
        clock.advance(advance)
        assert 0.0 <= deadline.remaining <= budget
        if deadline.expired:
            with pytest.raises(DeadlineExceeded):
                deadline.step_timeout(cap)
        else:
            timeout = deadline.step_timeout(cap)
            assert 0.0 < timeout <= deadline.remaining
            assert cap is None or timeout <= cap


def test_run_check_returns_the_check_result_with_measured_duration() -> None:
    def check(deadline: Deadline) -> ValidationResult:
        assert deadline.budget == 5.0
        return ValidationResult.ok("reachable", warnings=["old version"], duration_s=999.0)

    result = run_check(check, timeout=5.0)
    assert result.success
    assert result.message == "reachable"
    assert result.warnings == ("old version",)
    assert 0.0 <= result.duration_s < 5.0


def test_run_check_turns_an_exception_into_an_actionable_failure() -> None:
    def check(deadline: Deadline) -> ValidationResult:
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    result = run_check(check, timeout=5.0)
    assert not result.success
    assert "ConnectionRefusedError: [Errno 111] Connection refused" in result.message
    assert result.errors == ("ConnectionRefusedError: [Errno 111] Connection refused",)
    assert result.duration_s >= 0.0


def test_run_check_turns_an_exceeded_deadline_into_a_failure_naming_the_step() -> None:
    def check(deadline: Deadline) -> ValidationResult:
        raise DeadlineExceeded("gave up after 0.5 s while waiting for the server", step="w")

    result = run_check(check, timeout=0.5)
    assert not result.success
    assert result.message.startswith("gave up after 0.5 s while waiting for the server")
    assert "allow more than 0.5 s" in result.message


def test_run_check_fails_a_check_returning_something_else() -> None:
    result = run_check(lambda deadline: True, timeout=1.0)  # type: ignore[arg-type,return-value]
    assert not result.success
    assert "returned bool, not a ValidationResult" in result.message


def test_run_check_is_bounded_even_when_the_check_ignores_its_deadline() -> None:
    release = threading.Event()

    def stuck(deadline: Deadline) -> ValidationResult:
        release.wait(30.0)  # ignores deadline.step_timeout(): the bug run_check guards against
        return ValidationResult.ok("too late")

    started = time.monotonic()
    try:
        result = run_check(stuck, timeout=0.2)
    finally:
        release.set()
    waited = time.monotonic() - started
    assert not result.success
    assert result.message.startswith("gave up after 0.2 s")
    assert "step_timeout()" in result.message
    assert waited < 10.0  # generous sanity bound: it did not wait for the 30 s call
    assert result.duration_s >= 0.2


def test_run_check_lets_a_cooperative_check_fail_on_its_own_terms() -> None:
    def cooperative(deadline: Deadline) -> ValidationResult:
        waited = threading.Event().wait(deadline.step_timeout(cap=0.05))
        assert not waited
        deadline.check("polling the health endpoint")
        return ValidationResult.failure("health endpoint answered 503")

    result = run_check(cooperative, timeout=5.0)
    assert result.message == "health endpoint answered 503"


def test_run_check_refuses_a_non_positive_timeout() -> None:
    with pytest.raises(ConnectivityError):
        run_check(lambda deadline: ValidationResult.ok("x"), timeout=0)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://admin:s3cret@dagster.example.com/p", "https://***@dagster.example.com/p"),
        ("http://token@host:3000", "http://***@host:3000"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
        ("http://host/path@not-userinfo", "http://host/path@not-userinfo"),
        (None, None),
    ],
)
def test_redact_url_hides_credentials_and_nothing_else(url: str | None, shown: str | None) -> None:
    from floe_orchestration_core.connectivity import redact_url

    assert redact_url(url) == shown
