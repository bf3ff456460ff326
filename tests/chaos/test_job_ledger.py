"""The chaos run's job ledger (loadgen/chaos_checks.py), on figures written here: a job counts as
lost when JetStream stored fewer jobs than the replicas say were published, left one
unacknowledged, or a job run in process never finished; a worker's own count (which dies with a
killed replica) decides nothing."""

from __future__ import annotations

from typing import Any

from loadgen.chaos_checks import HANDLED, IN_PROCESS, OFFERED, JobLedger


def counts(published: int, fallback: int, done_here: int, by_workers: int) -> dict[Any, int]:
    return {
        (OFFERED, "store_cache_entry", "published"): published,
        (OFFERED, "invalidate_chat_cache", "duplicate"): 1,
        (OFFERED, "store_cache_entry", "fallback"): fallback,
        (IN_PROCESS, "store_cache_entry", "ok"): done_here,
        (HANDLED, "store_cache_entry", "ok"): by_workers,
    }


def streams(stored: int, left: int, dead: int = 0) -> dict[str, dict[str, Any] | None]:
    return {
        "CHAT_JOBS": {"last_seq": stored, "messages": left},
        "CHAT_TURNS": {"last_seq": 0, "messages": 0},
        "CHAT_JOBS_DLQ": {"last_seq": dead, "messages": dead},
    }


def test_every_job_stored_and_done_is_not_lost_whatever_the_workers_counted() -> None:
    # One worker count short: a killed replica finished a job after its counters were read.
    report = JobLedger.report(counts(96, 4, 4, 95), streams(96, 0))
    assert report["lost"] == 0 and report["offered"] == 100
    assert report["offered_by_job"] == {"store_cache_entry": 100}  # the duplicate is no offer


def test_a_job_left_in_the_stream_is_lost() -> None:
    assert JobLedger.report(counts(96, 0, 0, 96), streams(96, 1))["lost"] == 1


def test_a_publish_acknowledged_but_not_stored_is_lost() -> None:
    assert JobLedger.report(counts(96, 0, 0, 96), streams(95, 0))["lost"] == 1


def test_a_job_run_in_process_that_never_finished_is_lost() -> None:
    report = JobLedger.report(counts(96, 4, 3, 96), streams(96, 0))
    assert report["lost"] == 1


def test_dead_letters_are_counted_and_an_unknown_stream_is_no_verdict() -> None:
    assert JobLedger.report(counts(96, 0, 0, 95), streams(96, 0, dead=1))["dead_lettered"] == 1
    unknown = streams(96, 0) | {"CHAT_JOBS": None}
    report = JobLedger.report(counts(96, 0, 0, 96), unknown)
    assert report["lost"] is None and "CHAT_JOBS" in report["error"]
