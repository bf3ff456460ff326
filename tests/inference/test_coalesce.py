"""Deltas ready together go out as one message; at the engine's pace each goes out alone; errors
and closing behave as without coalescing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest
from chatstack.inference.v1 import inference_pb2 as pb

from inference_service.coalesce import coalesced


def delta(text: str, token: int) -> pb.GenerateResponse:
    return pb.GenerateResponse(delta=pb.TokenDelta(text=text, token_ids=[token]))


FINAL = pb.GenerateResponse(final=pb.GenerateFinal(model="m"))


async def burst(n: int) -> AsyncGenerator[pb.GenerateResponse, None]:
    for i in range(n):
        yield delta(f"t{i} ", i)
    yield FINAL


async def paced(n: int, gap: asyncio.Event) -> AsyncGenerator[pb.GenerateResponse, None]:
    for i in range(n):
        yield delta(f"t{i} ", i)
        await gap.wait()  # the next token only once the reader asked for more
        gap.clear()
    yield FINAL


async def test_a_burst_goes_out_as_one_delta_then_the_final() -> None:
    out = [r async for r in coalesced(burst(16))]
    assert [r.WhichOneof("event") for r in out] == ["delta", "final"]
    assert out[0].delta.text == "".join(f"t{i} " for i in range(16))
    assert list(out[0].delta.token_ids) == list(range(16))


async def test_tokens_at_the_engines_pace_go_out_one_by_one() -> None:
    gap = asyncio.Event()
    out = []
    async for response in coalesced(paced(5, gap)):
        out.append(response)
        gap.set()
    assert [r.delta.text for r in out[:-1]] == [f"t{i} " for i in range(5)]
    assert out[-1] == FINAL


async def test_an_error_comes_out_after_what_was_made_before_it() -> None:
    async def failing() -> AsyncGenerator[pb.GenerateResponse, None]:
        yield delta("a", 1)
        raise ValueError("engine broke")

    seen = []
    with pytest.raises(ValueError, match="engine broke"):
        async for response in coalesced(failing()):
            seen.append(response.delta.text)
    assert seen == ["a"]


async def test_closing_early_stops_the_source() -> None:
    stopped = asyncio.Event()

    async def endless() -> AsyncGenerator[pb.GenerateResponse, None]:
        try:
            i = 0
            while True:
                yield delta("x", i)
                i += 1
                await asyncio.sleep(0.001)
        finally:
            stopped.set()

    stream = coalesced(endless())
    assert (await anext(stream)).delta.text.startswith("x")
    await stream.aclose()
    assert stopped.is_set()


async def test_a_source_cancelled_by_itself_is_an_error_not_a_clean_end() -> None:
    """A CancelledError the engine raises on its own (nobody cancelled the stream) must not
    look like a finished generation."""

    async def gives_up() -> AsyncGenerator[pb.GenerateResponse, None]:
        yield delta("a", 1)
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        async for _ in coalesced(gives_up()):
            pass
