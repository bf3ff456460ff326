"""The HTTP/1.1 client of the load run, on asyncio streams: one request per connection, a
deadline on every read, the body as it arrives (an SSE stream is read event by event, which
the usual clients buffer or hide); and what an error answer says: its retry hint and reason.

`open_http` is the bare request, shared with the benchmarks (bench/_http.py, bench/engines.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any


class ClosedBeforeResponse(ConnectionError):
    pass


async def open_http(
    host: str,
    port: int,
    method: str,
    path: str,
    body: object | None,
    headers: Mapping[str, str],
) -> tuple[int, dict[str, str], asyncio.StreamReader, asyncio.StreamWriter]:
    """Sends the request (a JSON body if `body` is not None) on a new connection and reads
    the status line and headers. The caller reads the body and closes the writer; on any
    failure here the connection is closed."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        payload = json.dumps(body).encode() if body is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ClosedBeforeResponse(f"{method} {path}: connection closed before a response")
        status = int(status_line.split()[1])
        response_headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            response_headers[name.strip().lower()] = value.strip()
        return status, response_headers, reader, writer
    except BaseException:
        writer.close()
        raise


class TransportError(Exception):
    """The connection failed, closed early or went silent past a deadline."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


async def open_request(
    host: str, port: int, method: str, path: str, body: object | None, token: str,
    timeout_s: float,
) -> Response:  # fmt: skip
    """Sends one request on a new connection and reads the status line and headers, all
    within `timeout_s`. The caller reads the body and closes."""
    try:
        async with asyncio.timeout(timeout_s):
            auth = {"Authorization": f"Bearer {token}"}
            return Response(*await open_http(host, port, method, path, body, auth))
    except TimeoutError as exc:
        raise TransportError(f"{method} {path}: no response within {timeout_s:.0f}s") from exc
    except (OSError, ValueError, IndexError) as exc:
        raise TransportError(f"{method} {path}: {exc!r}") from exc


async def body_chunks(response: Response, idle_timeout_s: float) -> AsyncIterator[bytes]:
    """The body as it arrives (chunked, Content-Length or until EOF); each read has a deadline."""
    reader = response.reader

    async def read(coro: Any) -> bytes:
        try:
            async with asyncio.timeout(idle_timeout_s):
                data: bytes = await coro
                return data
        except TimeoutError as exc:
            raise TransportError(f"no data for {idle_timeout_s:.0f}s") from exc
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            raise TransportError(repr(exc)) from exc

    if response.headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size_line = await read(reader.readline())
            if not size_line:
                raise TransportError("the chunked body ended without its last chunk")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                return
            data = await read(reader.readexactly(size))
            await read(reader.readexactly(2))
            yield data
    elif "content-length" in response.headers:
        yield await read(reader.readexactly(int(response.headers["content-length"])))
    else:
        while data := await read(reader.read(65536)):
            yield data


async def read_body(response: Response, timeout_s: float) -> bytes:
    try:
        async with asyncio.timeout(timeout_s):
            return b"".join([chunk async for chunk in body_chunks(response, timeout_s)])
    except TimeoutError as exc:
        raise TransportError(f"body not read within {timeout_s:.0f}s") from exc
    finally:
        response.close()


async def sse_events(response: Response, idle_timeout_s: float) -> AsyncIterator[dict[str, Any]]:
    """The JSON of each `data:` event of a server-sent event stream, as it arrives."""
    buffer = b""
    async for chunk in body_chunks(response, idle_timeout_s):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            line = line.rstrip(b"\r")
            if line.startswith(b"data:") and (data := line[5:].strip()):
                yield json.loads(data)


def retry_hint_s(headers: Mapping[str, str], body: bytes) -> tuple[float, str] | None:
    """The server's retry hint of an error answer and where it was found: google.rpc.RetryInfo
    in the JSON error body ("RetryInfo"), else a retry-after header ("retry-after")."""
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        for detail in json.loads(body).get("details", []):
            if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
                delay = detail.get("retry_delay", detail.get("retryDelay"))
                if isinstance(delay, str) and delay.endswith("s"):
                    return float(delay[:-1]), "RetryInfo"
                if isinstance(delay, dict):
                    seconds = float(delay.get("seconds", 0)) + float(delay.get("nanos", 0)) / 1e9
                    return seconds, "RetryInfo"
    with contextlib.suppress(ValueError, KeyError):
        return float(headers["retry-after"]), "retry-after"
    return None


def error_reason(body: bytes) -> str:
    """The ErrorInfo reason of a JSON error body, else its message (shortened)."""
    try:
        document = json.loads(body)
    except ValueError:
        return body[:120].decode(errors="replace")
    if not isinstance(document, dict):
        return str(document)[:120]
    for detail in document.get("details", []) or []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("ErrorInfo"):
            return str(detail.get("reason", ""))
    return str(document.get("message", ""))[:120]
