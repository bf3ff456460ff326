"""A minimal HTTP/1.1 client on asyncio streams for the benchmarks: one request per
connection, the response's body left to the caller (an SSE stream is read as it arrives,
which the usual clients buffer or hide)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping


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
