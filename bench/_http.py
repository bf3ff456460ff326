"""The gateway benchmarks' REST client: HTTP/1.1 on asyncio streams (loadgen's open_http, one
request per connection), JSON calls, server-sent events read as they arrive (which the usual
clients buffer or hide), and a chat's creation and a timed turn through Envoy's REST route.

The turn settings here (system prompt, greedy decoding, max_tokens) are the defaults of the
benchmarks that compare a REST turn with another path (bench/gateway_overhead.py,
bench/vs_litellm.py)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from loadgen.client import ClosedBeforeResponse, open_http

SYSTEM = "You are a helpful assistant."
TEMPERATURE = 0.0
MAX_TOKENS = 32


class HttpError(RuntimeError):
    pass


async def _read_body(
    reader: asyncio.StreamReader, headers: Mapping[str, str]
) -> AsyncIterator[bytes]:
    """The response body in pieces as they arrive: chunked, Content-Length or until EOF."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size_line = await reader.readline()
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                await reader.readline()  # the CRLF after the last chunk (no trailers sent)
                return
            data = await reader.readexactly(size)
            await reader.readexactly(2)
            yield data
    elif "content-length" in headers:
        yield await reader.readexactly(int(headers["content-length"]))
    else:
        while data := await reader.read(65536):
            yield data


async def http_request(
    host: str,
    port: int,
    method: str,
    path: str,
    body: Mapping[str, Any] | None,
    headers: Mapping[str, str],
) -> tuple[int, dict[str, str], AsyncIterator[bytes], asyncio.StreamWriter]:
    """One HTTP/1.1 request on a new connection (closed by the caller via the writer)."""
    try:
        status, response_headers, reader, writer = await open_http(
            host, port, method, path, body, headers
        )
    except ClosedBeforeResponse as exc:
        raise HttpError(str(exc)) from exc
    return status, response_headers, _read_body(reader, response_headers), writer


async def http_json(
    host: str, port: int, method: str, path: str, body: Mapping[str, Any] | None,
    headers: Mapping[str, str],
) -> dict[str, Any]:  # fmt: skip
    status, _, chunks, writer = await http_request(host, port, method, path, body, headers)
    try:
        data = b"".join([chunk async for chunk in chunks])
    finally:
        writer.close()
    if status != 200:
        raise HttpError(f"{method} {path}: HTTP {status}: {data[:500]!r}")
    result: dict[str, Any] = json.loads(data)
    return result


async def sse_events(
    host: str, port: int, path: str, body: Mapping[str, Any], headers: Mapping[str, str]
) -> AsyncIterator[dict[str, Any]]:
    """POSTs `body` and yields the JSON of each server-sent `data:` event as it arrives
    (`data: [DONE]`, OpenAI's end marker, ends the stream)."""
    status, _, chunks, writer = await http_request(host, port, "POST", path, body, headers)
    try:
        if status != 200:
            data = b"".join([chunk async for chunk in chunks])
            raise HttpError(f"POST {path}: HTTP {status}: {data[:500]!r}")
        buffer = b""
        async for chunk in chunks:
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                line = line.rstrip(b"\r")
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    return
                if data:
                    yield json.loads(data)
    finally:
        writer.close()


@dataclass
class Sample:
    side: str
    index: int
    ttft_s: float  # request sent -> first delta with text
    total_s: float  # request sent -> stream finished
    completion_tokens: int
    text: str


async def rest_turn(
    port: int, token: str, chat_id: str, text: str, side: str = "rest", index: int = 0,
    max_tokens: int = MAX_TOKENS,
) -> Sample:  # fmt: skip
    """One completion through Envoy's REST route, read as SSE."""
    body = {
        "content": text,
        "sampling": {"temperature": TEMPERATURE, "max_tokens": max_tokens},
    }
    first: float | None = None
    parts: list[str] = []
    tokens = 0
    start = time.perf_counter()
    async for event in sse_events(
        "127.0.0.1", port, f"/chat/{chat_id}/completion", body,
        {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
    ):  # fmt: skip
        if "delta" in event:
            if first is None:
                first = time.perf_counter()
            parts.append(event["delta"].get("text", ""))
        elif "final" in event:
            tokens = int(event["final"].get("usage", {}).get("completion_tokens", 0))
        elif "error" in event:
            raise RuntimeError(f"{side}: turn failed: {event['error']}")
    end = time.perf_counter()
    if first is None:
        raise RuntimeError(f"{side}: no delta came back for sample {index}")
    return Sample(side, index, first - start, end - start, tokens, "".join(parts))


async def rest_create_chat(port: int, token: str, system: str = SYSTEM) -> str:
    reply = await http_json(
        "127.0.0.1", port, "POST", "/chat", {"title": "bench", "system_prompt": system},
        {"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    return str(reply["chat"]["chat_id"])
