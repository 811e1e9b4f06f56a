"""Load for benchmarks/serve.py: a fixed number of keep-alive connections on 127.0.0.1 posting
one body for a fixed time. ``wrk`` (Debian's package) when it is on PATH, else a bounded
Python client: one process per connection (so the client is not held back by one GIL), each
stopping at its deadline or after MAX_REQUESTS, whichever comes first."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from benchmarks.serving import cpu

MAX_REQUESTS = 1_000_000  # per connection and run: a bound besides the deadline
TIMEOUT = 10.0  # seconds per request

Client = Callable[[str, str, float], "Result"]


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    usage: cpu.Usage | None = None  # CPU of the server's processes per request

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @classmethod
    def of(cls, requests: int, seconds: float, latencies: Sequence[float], errors: int) -> Result:
        ordered = sorted(latencies)

        def pct(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0

        return cls(requests, seconds, pct(0.50), pct(0.99), errors)

    def line(self) -> str:
        text = (
            f"{self.rps:8.0f} req/s  p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms  "
            f"errors {self.errors}"
        )
        if self.usage is not None:
            u = self.usage
            text += f"  CPU/req server {u.server_ms:.2f} ms proxy {u.proxy_ms:.2f} ms"
            text += f"  busiest process {u.busiest:.0%}"
        return text


def which(kind: str) -> str:
    if kind == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if kind == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not on PATH (Debian: apt-get install wrk), or use --client python")
    return kind


def describe(kind: str, connections: int) -> str:
    if which(kind) == "wrk":
        version = subprocess.run(
            ["wrk", "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.split()
        name = " ".join(version[:2]) if version else "wrk"
        return f"`wrk -t1 -c{connections}` ({name}), keep-alive"
    return (
        f"the bounded Python client (benchmarks/serving/load.py): {connections} keep-alive "
        "connections, one process each"
    )


def client(kind: str, connections: int) -> Client:
    if which(kind) == "wrk":
        return lambda url, body, seconds: wrk(url, body, seconds, connections)
    return lambda url, body, seconds: python_client(url, body, seconds, connections)


# ------------------------------------------------------------------ wrk

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk(url: str, body: str, seconds: float, connections: int) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(body)))
        script.flush()
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
        argv += ["--timeout", f"{TIMEOUT:g}s", "-s", script.name, url]
        out = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 60, check=True
        ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT"))
    requests, duration_us, status, socket, p50, p99 = map(int, line.split()[1:])
    return Result(requests, duration_us / 1e6, p50 / 1000, p99 / 1000, status + socket)


# ------------------------------------------------------------------ Python client


def _connection(url: str, body: str, seconds: float) -> tuple[list[float], int]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    data = body.encode()
    headers = {"Content-Type": "application/json"}
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    for _ in range(MAX_REQUESTS):
        start = time.perf_counter()
        if start >= deadline:
            break
        try:
            conn.request("POST", parts.path, body=data, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                latencies.append(time.perf_counter() - start)
            else:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    conn.close()
    return latencies, errors


def python_client(url: str, body: str, seconds: float, connections: int) -> Result:
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(connections) as pool:
        started = time.perf_counter()
        parts = pool.starmap(_connection, [(url, body, seconds)] * connections)
        elapsed = time.perf_counter() - started
    latencies = [x for lat, _ in parts for x in lat]
    return Result.of(len(latencies), elapsed, latencies, sum(err for _, err in parts))
