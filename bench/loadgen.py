"""A small keep-alive HTTP/1.1 load generator on raw asyncio sockets.

Used instead of httpx so the client's own overhead stays well under a millisecond and both servers
under comparison are measured with the same client. Bounded: a fixed number of requests per run.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Result:
    name: str
    concurrency: int
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    rps: float

    def row(self) -> str:
        return (
            f"| {self.name} | {self.concurrency} | {self.p50_ms:.2f} | {self.p99_ms:.2f} | {self.rps:,.0f} |"
            f" {self.errors} |"
        )


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def _worker(
    url: str, headers: dict[str, str], count: int, latencies: list[float], body: bytes | None
) -> int:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
    if body is not None:
        headers = {**headers, "Content-Type": "application/json", "Content-Length": str(len(body))}
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    method = "GET" if body is None else "POST"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = (f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n{extra}\r\n").encode()
    request += body or b""
    errors = 0
    try:
        for _ in range(count):
            start = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append((time.perf_counter() - start) * 1000)
            errors += status != 200
    finally:
        writer.close()
    return errors


async def _run(
    url: str, headers: dict[str, str], concurrency: int, per_client: int, body: bytes | None = None
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    start = time.perf_counter()
    errors = await asyncio.gather(
        *(_worker(url, headers, per_client, latencies, body) for _ in range(concurrency))
    )
    return latencies, sum(errors), time.perf_counter() - start


def measure(
    name: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    concurrency: int,
    total: int,
    warmup: int = 200,
    body: bytes | None = None,
) -> Result:
    """GET ``url``, or POST ``body`` (JSON) to it when one is given."""
    headers = headers or {}
    asyncio.run(_run(url, headers, concurrency, max(warmup // concurrency, 1), body))
    latencies, errors, elapsed = asyncio.run(
        _run(url, headers, concurrency, max(total // concurrency, 1), body)
    )
    latencies.sort()
    return Result(
        name=name,
        concurrency=concurrency,
        requests=len(latencies),
        errors=errors,
        p50_ms=statistics.median(latencies),
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        rps=len(latencies) / elapsed,
    )
