"""The one waiting policy (`smus_mesh.waiting`, ADR 15): its schedule, its deadline, and
how Ctrl-C ends its sleeps. Real threads and clocks; the waits against AWS are covered
by every e2e test and by tests/reliability/test_interrupt.py."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import pytest

from smus_mesh.clients import RateLimiter
from smus_mesh.errors import EXIT_INTERRUPTED, Interrupted
from smus_mesh.settings import Settings
from smus_mesh.waiting import Backoff, DeadlinePassed, Stop, Workers, poll, retry


def test_the_default_schedule_starts_sub_second_and_doubles_to_aws_interval() -> None:
    delays = list(itertools.islice(Backoff.of(Settings()).delays(), 10))
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0, 10.0])
    # A job of a minute: 13 reads (the first at once), against 10 with the former
    # fixed 2 s start (2, 3, 4.5, 6.75, then 10 s).
    elapsed, reads = 0.0, 1
    for delay in Backoff.of(Settings()).delays():
        if elapsed >= 60:
            break
        elapsed += delay
        reads += 1
    assert reads == 13


def test_an_initial_interval_above_the_maximum_is_capped() -> None:
    delays = list(itertools.islice(Backoff(30.0, 2.0, 5.0).delays(), 3))
    assert delays == [5.0, 5.0, 5.0]


def test_poll_returns_the_value_that_meets_the_condition_and_counts_reads() -> None:
    values = iter(["CREATING", "CREATING", "AVAILABLE"])
    reads: list[str] = []

    def read() -> str:
        reads.append(next(values))
        return reads[-1]

    found = poll(
        read, lambda v: v == "AVAILABLE", backoff=Backoff(0.001, 2, 0.01), timeout=5, stop=Stop()
    )
    assert found == "AVAILABLE" and reads == ["CREATING", "CREATING", "AVAILABLE"]


def test_poll_raises_deadline_passed_with_the_last_value() -> None:
    started = time.monotonic()
    with pytest.raises(DeadlinePassed) as raised:
        poll(
            lambda: "CREATING",
            lambda v: v == "AVAILABLE",
            backoff=Backoff(0.05, 1, 0.05),
            timeout=0.2,
            stop=Stop(),
        )
    assert raised.value.last == "CREATING"
    assert str(raised.value) == "still waiting after 0s"
    assert time.monotonic() - started < 2


def test_retry_gives_up_on_an_error_that_is_not_retryable() -> None:
    calls = []

    def call() -> str:
        calls.append(1)
        raise KeyError("other")

    with pytest.raises(KeyError):
        retry(
            call,
            lambda exc: isinstance(exc, ValueError),
            backoff=Backoff(0.001, 2, 0.01),
            timeout=5,
            stop=Stop(),
        )
    assert len(calls) == 1


def _sleeper(stop: Stop, seconds: float, outcome: list[BaseException | None]) -> threading.Thread:
    def run() -> None:
        try:
            stop.sleep(seconds)
            outcome.append(None)
        except Interrupted as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_the_first_ctrl_c_lets_waits_go_on_the_second_ends_them_at_once() -> None:
    stop = Stop()
    outcome: list[BaseException | None] = []
    thread = _sleeper(stop, 30.0, outcome)
    with stop.in_flight():
        assert stop.stop() == 1  # one step in flight, reported by the first Ctrl-C
    time.sleep(0.1)
    assert thread.is_alive() and outcome == []  # still sleeping: a stop is not an abort
    pressed = time.monotonic()
    stop.abort()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - pressed < 1.0
    assert isinstance(outcome[0], Interrupted)
    assert outcome[0].exit_code == EXIT_INTERRUPTED == 130
    assert str(outcome[0]) == "aborted by a second Ctrl-C"


def test_a_paced_call_not_yet_made_is_not_made_once_the_run_stops() -> None:
    """Neighbour of the sleeps: a call queued behind a quota's pace is work not begun."""
    stop = Stop()
    limiter = RateLimiter(0.1, stop)  # one call every 10 s
    limiter.acquire()  # the first goes at once
    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            limiter.acquire()
            outcome.append(None)
        except Interrupted as exc:
            outcome.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.1)
    stop.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert isinstance(outcome[0], Interrupted)
    assert str(outcome[0]) == "interrupted by Ctrl-C before it began"


# --- a step's place among the workers (ADR 47) -----------------------------------------


def _step(workers: Workers, body: Callable[[], None]) -> threading.Thread:
    """A step's thread: `body` runs in the place `try_start` took for it."""

    def run() -> None:
        with workers.step():
            body()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_sleeping_step_lends_its_place_and_gets_it_back_before_any_new_step() -> None:
    stop = Stop()
    freed = threading.Event()
    workers = Workers(1, freed.set)
    assert workers.try_start()
    assert not workers.try_start()  # one place, taken
    awake, hold = threading.Event(), threading.Event()

    def sleeper() -> None:
        stop.sleep(0.2)
        awake.set()  # the place is this step's again
        hold.wait(5)

    first = _step(workers, sleeper)
    assert freed.wait(5)  # while it sleeps its place is free: the executor is told
    assert workers.try_start()  # and a new step, here in this thread, takes it
    with workers.step():
        time.sleep(0.4)  # the sleeper's sleep ends meanwhile: it waits for this place
        assert not awake.is_set() and workers.working == 1
    # This step has ended. Its place went to the sleeper, not to a step not yet begun.
    assert not workers.try_start()
    assert awake.wait(5) and workers.working == 1
    hold.set()
    first.join(5)
    assert workers.working == 0
    assert workers.try_start()


def test_a_sleep_outside_a_step_lends_nothing() -> None:
    freed = threading.Event()
    workers = Workers(1, freed.set)
    Stop().sleep(0.01)  # the CLI's own waits (a query, a check) are not steps
    assert not freed.is_set() and workers.working == 0


def test_an_aborted_step_does_not_wait_for_a_place_again() -> None:
    """After a second Ctrl-C a sleeper ends at once, even while every place is taken."""
    stop = Stop()
    workers = Workers(1)
    assert workers.try_start()
    outcome: list[BaseException | None] = []

    def sleeper() -> None:
        try:
            stop.sleep(30)
            outcome.append(None)
        except Interrupted as exc:
            outcome.append(exc)

    first = _step(workers, sleeper)
    deadline = time.monotonic() + 5
    while workers.working and time.monotonic() < deadline:
        time.sleep(0.01)  # until the sleeper has lent its place
    assert workers.try_start()  # a step that never ends takes it
    stop.abort()
    first.join(5)
    assert not first.is_alive()
    assert isinstance(outcome[0], Interrupted)
    assert workers.working == 1  # the aborted sleeper took no place back


def test_an_ended_step_keeps_its_place_until_the_executor_releases_it() -> None:
    """A step ended while no sleeper waits: its place is not free until the executor has
    queued what its end made ready (`release`), so no step started in between takes it
    (ADR 45, 47). Released twice, or for a step that handed its place over, nothing."""
    workers = Workers(1)
    assert workers.try_start()
    _step_keyed(workers, "r1").join(5)
    assert workers.working == 1 and not workers.try_start()
    workers.release("r1")
    assert workers.working == 0
    workers.release("r1")
    assert workers.working == 0
    assert workers.try_start()


def test_an_ended_step_hands_its_place_to_a_waiting_sleeper_at_once() -> None:
    stop = Stop()
    workers = Workers(1)
    assert workers.try_start()
    awake, hold = threading.Event(), threading.Event()

    def sleeper() -> None:
        stop.sleep(0.05)
        awake.set()
        hold.wait(5)

    first = _step(workers, sleeper)
    deadline = time.monotonic() + 5
    while workers.working and time.monotonic() < deadline:
        time.sleep(0.01)  # until the sleeper has lent its place
    assert workers.try_start()
    ended = _step_keyed(workers, "r2", lambda: time.sleep(0.2))  # the sleeper wakes meanwhile
    ended.join(5)
    assert awake.wait(5)  # handed over at the end, not kept for `release`
    workers.release("r2")  # handed over: nothing to free
    assert workers.working == 1 and not workers.try_start()
    hold.set()
    first.join(5)
    assert workers.working == 0


def _step_keyed(
    workers: Workers, key: str, body: Callable[[], None] = lambda: None
) -> threading.Thread:
    def run() -> None:
        with workers.step(key):
            body()

    thread = threading.Thread(target=run)
    thread.start()
    return thread
