"""The queue's life in the chat service process: connect in the background (retrying until it
works, so a down NATS never stops the service from starting), then start the workers (small
jobs, submitted turns)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from chat_service.config import ChatSettings
from chat_service.jobs.handlers import Handler
from chat_service.jobs.jobs import Job
from chat_service.jobs.queue import JobQueue
from chat_service.jobs.worker import Worker, turn_consumer
from chat_service.turn.feed import TurnFeed

log = logging.getLogger(__name__)

RETRY_MAX_S = 30.0


class QueueRuntime:
    """Wires the two workers: the jobs' (the queue's settings) and the submitted turns' (the
    turns' settings, above the inference deadline)."""

    def __init__(
        self,
        queue: JobQueue,
        handlers: dict[type[Job], Handler],
        settings: ChatSettings,
        on_dead_letter: dict[type[Job], Handler] | None = None,
        feed: TurnFeed | None = None,
    ) -> None:
        self.queue = queue
        self.feed = feed  # subscribes once connected (turn/feed.py)
        self.workers = [
            Worker(queue, handlers, settings, on_dead_letter=on_dead_letter),
            Worker(
                queue,
                handlers,
                settings,
                turn_consumer(settings, settings.inference_timeout_s),
                on_dead_letter,
            ),
        ]
        self._connecting: asyncio.Task[None] | None = None
        self.started = asyncio.Event()

    def start(self) -> None:
        self._connecting = asyncio.create_task(self._connect_loop(), name="chat-jobs-connect")

    async def _connect_loop(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.queue.connect()
                for worker in self.workers:
                    await worker.start()
                if self.feed is not None:
                    await self.feed.start()
                self.started.set()
                return
            except Exception as exc:  # logged, retried
                await asyncio.gather(*(worker.stop() for worker in self.workers))
                await self.queue.close()
                log.warning(
                    "message queue unavailable; jobs run in process until it connects",
                    extra={"url": self.queue.url, "error": repr(exc), "retry_s": delay},
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def stop(self) -> None:
        task, self._connecting = self._connecting, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*(worker.stop() for worker in self.workers))
        if self.feed is not None:
            await self.feed.close()
        await self.queue.close()
