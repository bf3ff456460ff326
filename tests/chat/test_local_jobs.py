"""The in-process side of the side work (chat_service/jobs/local.py): a job's handler run here
with the queue worker's retries, and its dead-letter hook once the attempts are spent."""

from __future__ import annotations

from chat_service.config import ChatSettings
from chat_service.jobs.jobs import Job, SummarizeChat
from chat_service.jobs.local import LocalRunner
from server_kit.tasks import BackgroundTasks

SETTINGS = ChatSettings.model_validate({"queue_max_deliver": 3, "queue_retry_delay_s": 0.01})


def runner_with(handler: object, hook: object = None) -> tuple[LocalRunner, BackgroundTasks]:
    tasks = BackgroundTasks("test")
    runner = LocalRunner(SETTINGS, tasks)
    runner.handlers = {SummarizeChat: handler}  # type: ignore[dict-item]
    runner.on_dead_letter = {SummarizeChat: hook} if hook else {}  # type: ignore[dict-item]
    return runner, tasks


async def test_a_failing_job_is_retried_until_it_succeeds() -> None:
    attempts: list[Job] = []

    async def flaky(job: Job) -> None:
        attempts.append(job)
        if len(attempts) < 3:
            raise RuntimeError("not yet")

    runner, tasks = runner_with(flaky)
    runner.start(SummarizeChat("u", "c", "m"))
    assert await tasks.wait(5)
    assert len(attempts) == 3


async def test_a_job_that_keeps_failing_reaches_its_dead_letter_hook_once() -> None:
    attempts: list[Job] = []
    given_up: list[Job] = []

    async def broken(job: Job) -> None:
        attempts.append(job)
        raise RuntimeError("never")

    async def hook(job: Job) -> None:
        given_up.append(job)

    runner, tasks = runner_with(broken, hook)
    job = SummarizeChat("u", "c", "m")
    await runner.run_now(job)  # the first attempt awaited, and it does not raise
    assert attempts == [job]
    assert await tasks.wait(5)
    assert len(attempts) == 3 and given_up == [job]


async def test_with_one_attempt_a_failed_job_goes_straight_to_its_hook() -> None:
    given_up: list[Job] = []

    async def broken(job: Job) -> None:
        raise RuntimeError("never")

    async def hook(job: Job) -> None:
        given_up.append(job)

    tasks = BackgroundTasks("test")
    runner = LocalRunner(ChatSettings.model_validate({"queue_max_deliver": 1}), tasks)
    runner.handlers = {SummarizeChat: broken}
    runner.on_dead_letter = {SummarizeChat: hook}
    job = SummarizeChat("u", "c", "m")
    await runner.run_now(job)
    assert await tasks.wait(5)
    assert given_up == [job]
