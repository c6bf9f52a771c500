"""A small thread-safe HTTP/1.1 client on the standard library, with keep-alive and separate connect and
first-byte timeouts: the transport under the server backend.

Usage:
    transport = HttpTransport()
    answer = transport.request("POST", "http://127.0.0.1:8000/v1/chat/completions", {"messages": [...]},
                               read_timeout=300.0, connect_timeout=10.0)
    answer.status, answer.json()
    stream = transport.stream("POST", url, body, read_timeout=300.0)
    for line in stream.lines(): ...
    stream.close()
    transport.close()

Why not httpx: with a few hundred threads sharing one httpx.Client it was the bottleneck. Measured here on 2
shared cores (256 requests, each held 1 s by tsqr.serve.simulate over 4 endpoints): httpx took 5.9-6.3 s
(and one run failed with "Bad file descriptor"), the standard library 1.2 s. A window of 64 requests per
endpoint is the whole point of the server backend, so the transport is the standard library's: one connection
per request in flight, kept alive and reused after.
Failures become `TransportFailure` with a short `kind` ("ConnectionRefused", "ReadTimeout") used for retry
decisions and per-endpoint counts; HTTP error statuses are returned, not raised.
"""
from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_ANSWER_BYTES = 64 << 20  # an answer is a few KB of JSON; a server sending more is broken or hostile
STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class TransportFailure(Exception):
    """No HTTP answer: refused, reset, timed out, or not HTTP. `kind` names it in one word."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind, self.detail = kind, detail


class _StaleReuse(Exception):
    """A kept-alive connection the server had closed meanwhile: retried on a fresh one, never reported."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status and body bytes (the body is for parsing, never for showing to users)."""

    status: int
    data: bytes

    def json(self) -> Any:
        return json.loads(self.data)


class Stream:
    """An answer being read line by line; its connection is closed (not reused) by `close()`."""

    def __init__(self, status: int, response: http.client.HTTPResponse,
                 connection: http.client.HTTPConnection) -> None:
        self.status, self._response, self._connection = status, response, connection

    def lines(self) -> Iterator[str]:
        """Decoded lines without their line ends; TransportFailure if the connection breaks midway."""
        while True:
            try:
                line = self._response.readline(MAX_ANSWER_BYTES)
            except (OSError, http.client.HTTPException) as error:
                raise classify(error, True) from None
            if not line:
                return
            yield line.decode("utf-8", errors="replace").rstrip("\r\n")

    def close(self) -> None:
        self._connection.close()


class _TimedConnect:
    """Connect (and TLS handshake) under `connect_timeout`, then read under the connection's own timeout."""

    connect_timeout: float
    timeout: float | None
    sock: socket.socket

    def connect(self) -> None:
        read_timeout, self.timeout = self.timeout, self.connect_timeout
        try:
            super().connect()  # type: ignore[misc]
        finally:
            self.timeout = read_timeout
        self.sock.settimeout(read_timeout)
        if self.sock.family in (socket.AF_INET, socket.AF_INET6):
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _HTTP(_TimedConnect, http.client.HTTPConnection):
    pass


class _HTTPS(_TimedConnect, http.client.HTTPSConnection):
    pass


def classify(error: BaseException, connected: bool) -> TransportFailure:
    """A socket-level error as a TransportFailure whose kind says what happened."""
    if isinstance(error, TransportFailure):
        return error
    if isinstance(error, (TimeoutError, socket.timeout)):
        return TransportFailure("ReadTimeout" if connected else "ConnectTimeout", "")
    if isinstance(error, ConnectionRefusedError):
        return TransportFailure("ConnectionRefused", "")
    if isinstance(error, STALE):
        return TransportFailure("ConnectionReset", "the server closed the connection before answering")
    if isinstance(error, http.client.HTTPException):
        return TransportFailure("ProtocolError", f"not an HTTP answer ({type(error).__name__})")
    return TransportFailure("ConnectError", str(error).strip().splitlines()[0] if str(error).strip() else "")


class HttpTransport:
    """Idle keep-alive connections per origin, lent to one request at a time."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def _connection(self, url: str, read_timeout: float, connect_timeout: float, fresh: bool
                    ) -> tuple[http.client.HTTPConnection, tuple[str, str, int], str, bool]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        origin = (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            idle = None if fresh else self._idle.get(origin)
            if idle:
                connection = idle.pop()
                connection.timeout = read_timeout
                if connection.sock is not None:
                    connection.sock.settimeout(read_timeout)
                return connection, origin, target, True
        kind = _HTTPS if parts.scheme == "https" else _HTTP
        connection = kind(origin[1], origin[2], timeout=read_timeout)
        connection.connect_timeout = connect_timeout
        return connection, origin, target, False

    def _give_back(self, origin: tuple[str, str, int], connection: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.setdefault(origin, []).append(connection)

    def _send(self, method: str, url: str, body: dict[str, Any] | None, read_timeout: float,
              connect_timeout: float) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection,
                                               tuple[str, str, int]]:
        """Send a request and read the answer's headers; a reused connection the server had closed meanwhile
        is replaced by a fresh one once (that is keep-alive's normal race, not a failure)."""
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            return self._attempt(method, url, data, headers, read_timeout, connect_timeout, fresh=False)
        except _StaleReuse:
            return self._attempt(method, url, data, headers, read_timeout, connect_timeout, fresh=True)

    def _attempt(self, method: str, url: str, data: bytes | None, headers: dict[str, str], read_timeout: float,
                 connect_timeout: float, fresh: bool) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection,
                                                               tuple[str, str, int]]:
        connection, origin, target, reused = self._connection(url, read_timeout, connect_timeout, fresh)
        connected = reused
        try:
            if not reused:
                connection.connect()
                connected = True
            connection.request(method, target, body=data, headers=headers)
            return connection.getresponse(), connection, origin
        except STALE as error:
            connection.close()
            if reused:
                raise _StaleReuse() from None
            raise classify(error, connected) from None
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise classify(error, connected) from None

    def request(self, method: str, url: str, body: dict[str, Any] | None = None, *, read_timeout: float,
                connect_timeout: float = 10.0) -> Answer:
        """The whole answer; TransportFailure when there is none (or it is over MAX_ANSWER_BYTES)."""
        response, connection, origin = self._send(method, url, body, read_timeout, connect_timeout)
        try:
            data = response.read(MAX_ANSWER_BYTES + 1)
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise classify(error, True) from None
        if len(data) > MAX_ANSWER_BYTES:
            connection.close()
            raise TransportFailure("AnswerTooLarge", f"over {MAX_ANSWER_BYTES >> 20} MiB")
        if response.will_close or not response.isclosed():  # not fully read: do not reuse
            connection.close()
        else:
            self._give_back(origin, connection)
        return Answer(response.status, data)

    def stream(self, method: str, url: str, body: dict[str, Any] | None = None, *, read_timeout: float,
               connect_timeout: float = 10.0) -> "Stream":
        """An answer to read line by line as it arrives (server-sent events); close it when done."""
        response, connection, _ = self._send(method, url, body, read_timeout, connect_timeout)
        return Stream(response.status, response, connection)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()
