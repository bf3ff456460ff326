"""Coalescing a generation's stream: token deltas that are ready together go out as one message.

Every message of a stream costs each hop (this servicer, Envoy, the chat service, Envoy again,
the client) about the same whatever it carries. When the engine produces tokens faster than the
stream forwards them (a burst after a stall, several tokens from one engine step, a loaded
chat service), the deltas waiting are merged into one; at the engine's own pace nothing waits,
and every token goes out alone as soon as it is made. Nothing is held back to be merged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

from chatstack.inference.v1 import inference_pb2 as pb

_END = object()
MAX_MERGED = 256  # deltas in one message at most (bounds one message's size)


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


async def coalesced(
    responses: AsyncIterator[pb.GenerateResponse],
) -> AsyncGenerator[pb.GenerateResponse, None]:
    """`responses` read ahead by a task of its own; consecutive deltas waiting when the caller
    asks for the next message are merged. Errors come out where they happened; closing this
    generator cancels the reading (which aborts the engine request)."""
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for response in responses:
                queue.put_nowait(response)
        except BaseException as exc:  # handed to the reader, raised there
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # our own cancellation (the reader closed): nobody reads any more
            queue.put_nowait(_Failed(exc))  # the source's failure, its own cancellation too
        finally:
            queue.put_nowait(_END)

    reader = asyncio.ensure_future(pump())
    try:
        item = await queue.get()
        while item is not _END:
            if isinstance(item, _Failed):
                raise item.error
            assert isinstance(item, pb.GenerateResponse)
            if not item.HasField("delta"):
                yield item
                item = await queue.get()
                continue
            texts, ids = [item.delta.text], list(item.delta.token_ids)
            item = queue.get_nowait() if not queue.empty() else None
            while isinstance(item, pb.GenerateResponse) and item.HasField("delta"):
                texts.append(item.delta.text)
                ids.extend(item.delta.token_ids)
                if len(texts) >= MAX_MERGED or queue.empty():
                    item = None
                    break
                item = queue.get_nowait()
            yield pb.GenerateResponse(delta=pb.TokenDelta(text="".join(texts), token_ids=ids))
            if item is None:
                item = await queue.get()
    finally:
        reader.cancel()
        # wait(), not await: a cancellation of this task meanwhile is not swallowed with the
        # reader's own.
        await asyncio.wait([reader])
