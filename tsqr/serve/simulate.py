"""A loopback stand-in for a continuous-batching inference server (vLLM, SGLang, TGI): OpenAI-compatible, no model.

Usage:
    python -m tsqr.serve.simulate --latency uniform:1:4 --capacity 64 --port 8001
    python -m tsqr evaluate ... --reasoned http://127.0.0.1:8001/v1 --concurrency 64

    with Simulator(latency=Latency.parse("uniform:0.05:0.2"), capacity=8) as sim:
        load_reasoner(sim.url, settings).reason(queries)
        sim.stats().peak_in_flight                       # what the client really kept in flight

Such an engine answers each request in about the same time however many are in flight, up to its capacity
(its max_num_seqs); beyond that requests wait for a slot. That is all this server does: each chat completion
holds one of `capacity` slots for a latency drawn from a distribution seeded by the request's text (so a run
can be replayed, and `ideal_seconds` can compute the best any client could do), then answers with the user's
message as its "reasoning". It lives in the package, not in bench/, because it is useful beyond the benchmark:
tests drive the server backend with it, and a user can check a client's settings (concurrency, replicas,
retries) against a simulated replica set before paying for GPUs. It also plays a failing replica
(`fail_after`, `fail_status`, `error_body`) and counts what it saw (`stats`).
Endpoints: GET /v1/models, GET /stats, POST /v1/chat/completions (with "stream": true as server-sent events).
"""
from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import math
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KINDS = {"fixed": 1, "uniform": 2, "lognormal": 2}


@dataclass(frozen=True)
class Latency:
    """Seconds a request takes: fixed:S, uniform:LOW:HIGH, or lognormal:MEDIAN:SIGMA (sigma of ln seconds)."""

    kind: str
    a: float
    b: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"latency kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.a < 0 or self.b < 0 or (self.kind == "uniform" and self.b < self.a):
            raise ValueError(f"latency {self.kind}:{self.a:g}:{self.b:g}: values must be >= 0 (and low <= high)")

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> "Latency":
        kind, *numbers = text.strip().split(":")
        if kind not in KINDS or len(numbers) != KINDS[kind]:
            raise ValueError(f"latency {text!r}: expected fixed:S, uniform:LOW:HIGH or lognormal:MEDIAN:SIGMA")
        try:
            values = [float(n) for n in numbers]
        except ValueError:
            raise ValueError(f"latency {text!r}: {numbers} are not all numbers") from None
        return cls(kind, values[0], values[1] if len(values) > 1 else 0.0, seed)

    def seconds(self, text: str) -> float:
        """The latency of a request whose prompt is `text`: the same text always takes the same time."""
        if self.kind == "fixed":
            return self.a
        digest = hashlib.sha256(f"{self.seed}:{text}".encode()).digest()
        draw = random.Random(int.from_bytes(digest[:8], "big"))
        if self.kind == "uniform":
            return draw.uniform(self.a, self.b)
        return self.a * math.exp(draw.gauss(0.0, self.b))

    def describe(self) -> str:
        return f"{self.kind}:{self.a:g}" + (f":{self.b:g}" if self.kind != "fixed" else "")


def ideal_seconds(latencies: Sequence[float], slots: int) -> float:
    """The fastest any client can finish: requests sent in order, each the instant one of `slots` frees."""
    free = [0.0] * max(1, slots)
    for latency in latencies:
        heapq.heappush(free, heapq.heappop(free) + latency)
    return max(free) if latencies else 0.0


@dataclass(frozen=True)
class SimulatorStats:
    """What the simulator saw: requests received, answered, failed on purpose; in flight now and at peak."""

    received: int
    answered: int
    failed: int
    in_flight: int
    peak_in_flight: int
    prompts: tuple[str, ...]


def last_user_text(body: dict[str, Any]) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for turn in reversed(messages):
        if isinstance(turn, dict) and turn.get("role") == "user" and isinstance(turn.get("content"), str):
            return turn["content"]
    return ""


class Simulator:
    """The simulated server, serving on a daemon thread from `start()` (or `with`) until `close()`."""

    def __init__(self, *, latency: Latency | None = None, capacity: int = 64, model: str = "simulated-model",
                 fail_after: int | None = None, fail_status: int = 503, error_body: str = "",
                 host: str = "127.0.0.1", port: int = 0) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.latency = latency or Latency("uniform", 1.0, 4.0)
        self.capacity, self.model = capacity, model
        self.fail_after, self.fail_status, self.error_body = fail_after, fail_status, error_body
        self._slots = threading.BoundedSemaphore(capacity)
        self._lock = threading.Lock()
        self._received = self._answered = self._failed = self._in_flight = self._peak = 0
        self._prompts: list[str] = []
        self._server = _QuietServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.closed = threading.Event()  # once set, kept-alive connections are dropped too: a dead server

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> "Simulator":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="tsqr-simulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on this thread until interrupted (the command line's way)."""
        self._server.serve_forever()

    def close(self) -> None:
        self.closed.set()
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stats(self) -> SimulatorStats:
        with self._lock:
            return SimulatorStats(self._received, self._answered, self._failed, self._in_flight, self._peak,
                                  tuple(self._prompts))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no request is in flight (a client that gave up leaves some behind); True if it happened."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stats().in_flight == 0:
                return True
            time.sleep(0.01)
        return False

    # -- one chat completion ---------------------------------------------------------------------------------
    def answer(self, body: dict[str, Any]) -> tuple[int, str, int]:
        """(status, text, tokens) for a request: sleeps its latency in a slot, or fails once past fail_after."""
        prompt = last_user_text(body)
        with self._lock:
            self._received += 1
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            self._prompts.append(prompt)
            failing = self.fail_after is not None and self._received > self.fail_after
        try:
            if failing:
                return self.fail_status, self.error_body, 0
            with self._slots:
                time.sleep(self.latency.seconds(prompt))
            tokens = int(body.get("max_tokens") or 16)
            return 200, f"Simulated reasoning about: {prompt}", tokens
        finally:
            with self._lock:  # before the answer is written: a client's next request must not see this one
                self._in_flight -= 1
                self._answered += not failing
                self._failed += failing


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 1024  # hundreds of clients connect at once; the default backlog of 5 drops SYNs


def _handler(sim: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real engines do

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, data: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            self._send(status, json.dumps(payload).encode("utf-8"))

        def _gone(self) -> bool:
            """After close(), drop the connection unanswered, as a server that died would."""
            if sim.closed.is_set():
                self.close_connection = True
            return sim.closed.is_set()

        def do_GET(self) -> None:
            if self._gone():
                return
            path = self.path.rstrip("/")
            if path in ("/v1/models", "/models"):
                self._json(200, {"object": "list", "data": [{"id": sim.model, "object": "model"}]})
            elif path == "/stats":
                stats = sim.stats()
                self._json(200, {name: getattr(stats, name) for name in
                                 ("received", "answered", "failed", "in_flight", "peak_in_flight")})
            else:
                self._json(404, {"error": {"message": f"no route GET {self.path}"}})

        def do_POST(self) -> None:
            if self._gone():
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("not an object")
            except ValueError:
                self._json(400, {"error": {"message": "the body must be a JSON object"}})
                return
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._json(404, {"error": {"message": f"no route POST {self.path}"}})
                return
            status, text, tokens = sim.answer(body)
            if status != 200:
                self._send(status, text.encode("utf-8"), "text/plain")
            elif body.get("stream"):
                self._stream(text, tokens)
            else:
                self._json(200, {"id": "sim", "object": "chat.completion", "model": sim.model, "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}],
                    "usage": {"prompt_tokens": 0, "completion_tokens": tokens, "total_tokens": tokens}})

        def _stream(self, text: str, tokens: int) -> None:
            words = text.split(" ")
            events = [{"choices": [{"index": 0, "delta": {"content": word + (" " if n < len(words) - 1 else "")}}]}
                      for n, word in enumerate(words)]
            events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
                           "usage": {"completion_tokens": tokens}})
            data = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
            self._send(200, data.encode("utf-8"), "text/event-stream")

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tsqr.serve.simulate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", default="uniform:1:4", help="fixed:S, uniform:LOW:HIGH, lognormal:MEDIAN:SIGMA")
    parser.add_argument("--capacity", type=int, default=64, help="requests served at once; the rest wait")
    parser.add_argument("--model", default="simulated-model", help="the id /v1/models lists")
    parser.add_argument("--seed", type=int, default=0, help="seeds the latency draws")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="0 picks a free port (printed at start)")
    args = parser.parse_args(argv)
    try:
        sim = Simulator(latency=Latency.parse(args.latency, args.seed), capacity=args.capacity, model=args.model,
                        host=args.host, port=args.port)
    except (ValueError, OSError) as error:
        print(f"error: {error}")
        return 2
    print(f"simulating {args.model} ({sim.latency.describe()} s per request, capacity {args.capacity}) at {sim.url}",
          flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
