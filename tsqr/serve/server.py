"""Serve a reasoner's model over an OpenAI-compatible chat-completions API.

Usage:
    python -m tsqr serve checkpoints/policy --port 8000          # a folder, hub id, .gguf or "default"
    python -m tsqr serve transformers:default --host 0.0.0.0 --batch-size 16 --sampling tongsearch
    python -m tsqr reason "..." --model http://127.0.0.1:8000/v1          # then reason through it

One loaded model can then serve the app, several evaluation runs and other machines at once. Endpoints:
GET /v1/models, GET /health, POST /v1/chat/completions (with "stream": true as server-sent events).
Non-streaming requests that arrive together are decoded as one batch (MicroBatcher): clients such as
tsqr's server backend send a batch as concurrent requests, and batching them is what makes that fast.
"""
from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tsqr.reasoner.base import Completion, GeneratingReasoner, Messages
from tsqr.reasoner.settings import GenerationSettings

BATCH_WINDOW_S = 0.02


class MicroBatcher:
    """Collects requests with identical settings for a few milliseconds and generates them together."""

    def __init__(self, reasoner: GeneratingReasoner, max_batch: int) -> None:
        self.reasoner, self.max_batch = reasoner, max_batch
        self.model_lock = threading.Lock()  # one generation at a time: batches and streams share the model
        self._pending: list[tuple[Messages, GenerationSettings, Future]] = []
        self._wake = threading.Condition()
        threading.Thread(target=self._run, name="tsqr-serve-batcher", daemon=True).start()

    def submit(self, messages: Messages, settings: GenerationSettings) -> Completion:
        future: Future = Future()
        with self._wake:
            self._pending.append((messages, settings, future))
            self._wake.notify()
        return future.result()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending:
                    self._wake.wait()
            time.sleep(BATCH_WINDOW_S)  # let the rest of a concurrent batch arrive
            with self._wake:
                settings = self._pending[0][1]
                batch = [item for item in self._pending if item[1] == settings][: self.max_batch]
                self._pending = [item for item in self._pending if item not in batch]
            try:
                with self.model_lock:
                    completions = self.reasoner.complete([messages for messages, _, _ in batch], settings)
            except Exception as error:  # every waiting request gets the failure
                for _, _, future in batch:
                    future.set_exception(error)
                continue
            for (_, _, future), completion in zip(batch, completions, strict=True):
                future.set_result(completion)


def settings_from_request(body: dict[str, Any], defaults: GenerationSettings) -> GenerationSettings:
    """The server's default settings overridden by the request's OpenAI fields (ValueError on bad values)."""
    names = {"max_tokens": "max_new_tokens", "max_completion_tokens": "max_new_tokens", "temperature": "temperature",
             "top_p": "top_p", "top_k": "top_k", "seed": "seed", "repetition_penalty": "repetition_penalty",
             "repeat_penalty": "repetition_penalty"}
    changes = {ours: body[theirs] for theirs, ours in names.items() if body.get(theirs) is not None}
    if changes.get("top_k") == -1:  # vLLM's spelling of "off"
        changes["top_k"] = 0
    return defaults.with_changes(**changes)


def check_messages(body: dict[str, Any]) -> Messages:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list of {role, content} objects")
    for index, turn in enumerate(messages):
        if not isinstance(turn, dict) or not isinstance(turn.get("role"), str) or \
                not isinstance(turn.get("content"), str):
            raise ValueError(f"messages[{index}] must be an object with string 'role' and 'content'")
    return [{"role": turn["role"], "content": turn["content"]} for turn in messages]


def make_handler(reasoner: GeneratingReasoner, batcher: MicroBatcher) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to one reasoner."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "tsqr-serve"

        def log_message(self, format: str, *args: Any) -> None:  # one terse line per request on stderr
            sys.stderr.write(f"[tsqr.serve] {self.address_string()} {format % args}\n")

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, kind: str) -> None:
            self._json(status, {"error": {"message": message, "type": kind, "code": status}})

        def do_GET(self) -> None:
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._json(200, {"object": "list", "data": [
                    {"id": reasoner.name, "object": "model", "created": 0, "owned_by": "tsqr"}]})
            elif self.path.rstrip("/") == "/health":
                self._json(200, {"status": "ok", "model": reasoner.name})
            else:
                self._error(404, f"no route GET {self.path}", "not_found")

        def do_POST(self) -> None:
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._error(404, f"no route POST {self.path}", "not_found")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("the request body must be a JSON object")
                messages = check_messages(body)
                settings = settings_from_request(body, reasoner.settings)
            except (ValueError, TypeError) as error:
                self._error(400, str(error), "invalid_request_error")
                return
            try:
                if body.get("stream"):
                    self._stream(messages, settings)
                else:
                    self._answer(messages, settings, batcher.submit(messages, settings))
            except ValueError as error:  # e.g. a prompt longer than the model's context
                self._error(400, str(error), "invalid_request_error")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client left; a stream's generator is closed, which stops generation
            except Exception as error:
                self._error(500, f"{type(error).__name__}: {error}", "server_error")

        def _answer(self, messages: Messages, settings: GenerationSettings, completion: Completion) -> None:
            prompt = _prompt_tokens(reasoner, messages)
            finish = "length" if completion.new_tokens >= settings.max_new_tokens else "stop"
            self._json(200, {
                "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": reasoner.name,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": completion.text},
                             "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion.new_tokens,
                          "total_tokens": prompt + completion.new_tokens},
            })

        def _stream(self, messages: Messages, settings: GenerationSettings) -> None:
            ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

            def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
                chunk = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": reasoner.name,
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
                return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode("utf-8")

            with batcher.model_lock:
                pieces = reasoner.stream_messages(messages, settings)
                new_tokens, piece = 0, None
                try:
                    # Errors before the first piece (a prompt too long) still become a JSON error answer.
                    piece = next(pieces)
                except StopIteration as finished:
                    new_tokens = int(finished.value or 0)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                self.wfile.write(event({"role": "assistant", "content": ""}))
                try:
                    while piece is not None:
                        self.wfile.write(event({"content": piece}))
                        self.wfile.flush()
                        piece = None
                        piece = next(pieces)
                except StopIteration as finished:
                    new_tokens = int(finished.value or 0)
                finally:
                    pieces.close()
            prompt = _prompt_tokens(reasoner, messages)
            finish = "length" if new_tokens >= settings.max_new_tokens else "stop"
            usage = {"prompt_tokens": prompt, "completion_tokens": new_tokens, "total_tokens": prompt + new_tokens}
            self.wfile.write(event({}, finish, usage=usage))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


def _prompt_tokens(reasoner: GeneratingReasoner, messages: Messages) -> int:
    return reasoner.count_tokens(messages) if reasoner.context_length is not None else 0


def make_server(reasoner: GeneratingReasoner, host: str = "127.0.0.1", port: int = 8000,
                max_batch: int | None = None) -> ThreadingHTTPServer:
    """A ready HTTP server (not yet serving): call `serve_forever()`, or run it in a thread in tests/apps.
    Port 0 picks a free port: read it back from `server.server_address[1]`."""
    batcher = MicroBatcher(reasoner, max_batch or reasoner.settings.batch_size)
    server = ThreadingHTTPServer((host, port), make_handler(reasoner, batcher))
    server.daemon_threads = True
    return server


def serve(model: str, settings: GenerationSettings, host: str = "127.0.0.1", port: int = 8000) -> int:
    """Load `model` and serve it until Ctrl-C (`python -m tsqr serve`); `settings` are the defaults a request
    does not override, and `settings.batch_size` requests are decoded together."""
    from tsqr.reasoner.loading import load_reasoner

    reasoner = load_reasoner(model, settings, cache=False)
    if not isinstance(reasoner, GeneratingReasoner):
        raise ValueError(f"{model!r} is not a model that can be served")
    server = make_server(reasoner, host, port)
    bound_host, bound_port = server.server_address[:2]
    print(f"serving {reasoner.name} at http://{bound_host}:{bound_port}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        reasoner.close()
    return 0
