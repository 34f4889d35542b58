"""Pure parts of the orchestration patterns: the backoff schedule and error classification."""

from datetime import timedelta

import pytest

from orchestrators.patterns import (
    BackoffPolicy,
    StepFailed,
    backoff_delays,
    error_message,
    error_type,
)

# What the SDK raises in an orchestrator when an activity failed (Reason + " \n " + Details).
RUNTIME_ERROR = Exception(
    "Activity function 'book_flight' failed:  NoRouteError: no flight route from A to B \n "
    '{"$type":"System.Exception","Message":" NoRouteError: no flight route from A to B"}'
)


def test_delays_grow_by_the_coefficient_and_stop_at_the_maximum():
    policy = BackoffPolicy(first_interval=timedelta(seconds=2), coefficient=3,
                           max_interval=timedelta(seconds=30), max_attempts=5)
    assert backoff_delays(policy) == [timedelta(seconds=s) for s in (2, 6, 18, 30)]


def test_one_attempt_means_no_waits_and_coefficient_one_means_constant_waits():
    assert backoff_delays(BackoffPolicy(timedelta(seconds=1), max_attempts=1)) == []
    constant = BackoffPolicy(timedelta(seconds=5), coefficient=1, max_attempts=4)
    assert backoff_delays(constant) == [timedelta(seconds=5)] * 3


@pytest.mark.parametrize("kwargs", [
    {"first_interval": timedelta(0)},
    {"first_interval": timedelta(seconds=1), "coefficient": 0.5},
    {"first_interval": timedelta(seconds=10), "max_interval": timedelta(seconds=1)},
    {"first_interval": timedelta(seconds=1), "max_attempts": 0},
])
def test_nonsensical_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        BackoffPolicy(**kwargs)


def test_error_type_and_message_are_read_from_the_runtime_failure_text():
    assert error_type(RUNTIME_ERROR) == "NoRouteError"
    assert error_message(RUNTIME_ERROR) == "NoRouteError: no flight route from A to B"


def test_qualified_type_names_reduce_to_the_class_name():
    error = Exception("Activity function 'x' failed:  activities.providers.SoldOutError: full")
    assert error_type(error) == "SoldOutError"


def test_errors_without_the_runtime_shape_have_no_type():
    assert error_type(Exception("boom")) is None
    assert error_message(Exception("boom")) == "boom"


def test_step_failed_says_why_it_gave_up():
    failure = StepFailed("book_flight", 3, RUNTIME_ERROR, permanent=False)
    assert failure.error_type == "NoRouteError" and failure.attempts == 3
    assert "gave up after 3 attempts" in str(failure)
    assert "permanent" in str(StepFailed("book_flight", 1, RUNTIME_ERROR, permanent=True))
