"""The server backend against tsqr's loopback continuous-batching simulator: a sliding window bounded per endpoint,
reasonings cached as they finish, work spread over replicas, failing replicas routed around, fast-failing probes
and error messages that never carry a server's body.
"""
from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tsqr.reasoner import GenerationSettings, ReasonerError, ReasoningCache, load_reasoner
from tsqr.reasoner.backend_server import (
    EndpointFailureWarning,
    ServerMismatchError,
    ServerUnavailableError,
    split_server_specs,
)
from tsqr.reasoner.prompts import get_template
from tsqr.serve.simulate import Latency, Simulator, last_user_text

FAST = GenerationSettings(max_new_tokens=16, concurrency=4, retry_backoff=0.02, max_retries=2, request_timeout=10)
QUERIES = [f"why does thing number {n} happen?" for n in range(24)]


def prompt(query: str) -> str:
    """The user message the simulator sees (and echoes) for a query: the TongSearch prompt around it."""
    return last_user_text({"messages": get_template("tongsearch").messages(query)})


@pytest.fixture
def simulator():
    started: list[Simulator] = []

    def start(**options) -> Simulator:
        options.setdefault("latency", Latency("uniform", 0.01, 0.05))
        started.append(Simulator(**options).start())
        return started[-1]

    yield start
    for sim in started:
        sim.close()


class Straggler:
    """One query takes long, every other is quick: batch-by-batch clients wait on it, a sliding window does not."""

    def seconds(self, text: str) -> float:
        return 1.0 if "number 0 " in text else 0.02


def test_in_flight_never_exceeds_the_window_and_the_window_stays_full(simulator):
    sim = simulator(capacity=100)
    reasoner = load_reasoner(sim.url, FAST.with_changes(concurrency=5), cache=False)
    results = reasoner.reason(QUERIES, progress=False)
    assert [r.query for r in results] == QUERIES  # input order, whatever order they finished in
    assert all(r.text == f"Simulated reasoning about: {prompt(r.query)}" for r in results)
    stats = sim.stats()
    assert stats.answered == len(QUERIES)
    assert stats.peak_in_flight == 5


def test_the_window_slides_past_a_straggler_and_caches_each_reasoning_as_it_arrives(simulator, tmp_path):
    sim = simulator(latency=Straggler(), capacity=100)
    cache = ReasoningCache(tmp_path / "cache.jsonl")
    load_reasoner(sim.url, FAST, cache=cache).reason(QUERIES[:20], progress=False)
    written = [row.query for row in ReasoningCache(tmp_path / "cache.jsonl").rows()]  # file order = finish order
    assert len(written) == 20
    assert written[-1] == QUERIES[0], "the 19 quick queries should all finish while the slow one is in flight"


def test_an_interrupted_run_resumes_asking_only_for_what_is_missing(simulator, tmp_path):
    sim = simulator(capacity=100)
    path = tmp_path / "cache.jsonl"

    def stop_after_ten(done: int, total: int) -> None:
        if done >= 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_reasoner(sim.url, FAST, cache=ReasoningCache(path)).reason(QUERIES, on_progress=stop_after_ten,
                                                                        progress=False)
    assert sim.wait_idle()
    kept = {row.query for row in ReasoningCache(path).rows()}
    assert len(kept) >= 10
    asked_before = sim.stats().received
    results = load_reasoner(sim.url, FAST, cache=ReasoningCache(path)).reason(QUERIES, progress=False)
    asked_again = sim.stats().prompts[asked_before:]
    assert sorted(asked_again) == sorted(prompt(q) for q in QUERIES if q not in kept)
    assert sum(r.cached for r in results) == len(kept)


def test_a_server_dying_midway_keeps_every_finished_reasoning_for_a_replica_to_continue(simulator, tmp_path):
    dying = simulator(latency=Latency("fixed", 0.0), fail_after=7, fail_status=500)
    path = tmp_path / "cache.jsonl"
    patient = FAST.with_changes(retry_backoff=0.2)  # the 7 answered requests are long cached when retries end
    with pytest.raises(ServerUnavailableError, match=r"HTTP 500 Internal Server Error"), \
            pytest.warns(EndpointFailureWarning, match="7 completed"):
        load_reasoner(dying.url, patient, cache=ReasoningCache(path)).reason(QUERIES, progress=False)
    assert len(ReasoningCache(path)) == 7
    replica = simulator()  # same model id: the same cache identity
    load_reasoner(replica.url, FAST, cache=ReasoningCache(path)).reason(QUERIES, progress=False)
    assert replica.stats().answered == len(QUERIES) - 7


def test_work_is_spread_over_endpoints_within_each_ones_bound(simulator):
    sims = [simulator(capacity=100) for _ in range(3)]
    reasoner = load_reasoner(",".join(s.url for s in sims), FAST.with_changes(concurrency=3), cache=False)
    reasoner.reason(QUERIES + [q + " again" for q in QUERIES], progress=False)
    answered = [s.stats().answered for s in sims]
    assert sum(answered) == 48 and min(answered) >= 8, answered
    assert max(s.stats().peak_in_flight for s in sims) <= 3
    assert [e.completed for e in reasoner.endpoint_stats] == answered


def test_a_failing_endpoint_is_routed_around_and_reported(simulator):
    healthy, flaky = simulator(), simulator(fail_after=2, fail_status=503)
    reasoner = load_reasoner(f"{healthy.url},{flaky.url}", FAST, cache=False)
    with pytest.warns(EndpointFailureWarning, match=rf"{flaky.url}: 2 completed, \d+ failed \(HTTP 503"):
        results = reasoner.reason(QUERIES, progress=False)
    assert len(results) == len(QUERIES)
    healthy_run, flaky_run = reasoner.last_run
    assert flaky_run.failed >= 1 and dict(flaky_run.failures).keys() == {"HTTP 503 Service Unavailable"}
    assert healthy_run.failed == 0 and healthy_run.completed + flaky_run.completed == len(QUERIES)


def test_a_replica_that_goes_down_mid_run_costs_nothing_but_retries(simulator):
    staying, leaving = simulator(), simulator()
    reasoner = load_reasoner(f"{staying.url},{leaving.url}", FAST, cache=False)
    leaving.close()  # refused from now on
    with pytest.warns(EndpointFailureWarning, match="ConnectionRefused"):
        results = reasoner.reason(QUERIES, progress=False)
    assert len(results) == len(QUERIES) and staying.stats().answered == len(QUERIES)


def test_replicas_must_serve_one_model(simulator):
    first, second = simulator(model="org/model-a"), simulator(model="org/model-b")
    with pytest.raises(ServerMismatchError, match=r"model-a.*model-b") as raised:
        load_reasoner(f"{first.url},{second.url}", FAST, cache=False)
    assert isinstance(raised.value, ValueError) and "\n" not in str(raised.value)
    with pytest.raises(ServerMismatchError, match=r"'org/model-b' is not listed by: " + first.url):
        load_reasoner(f"{first.url},{second.url}#org/model-b", FAST, cache=False)


def test_replicas_share_one_cache_identity(simulator):
    one, two = simulator(), simulator()
    single = load_reasoner(one.url, FAST, cache=False)
    both = load_reasoner(f"{one.url},{two.url}", FAST, cache=False)
    assert single.name == both.name == "simulated-model (server)"
    assert single.key("q") == both.key("q")


def test_comma_separated_specs_are_checked():
    assert split_server_specs("http://a:1, http://b:2/v1/#m") == (["http://a:1/v1", "http://b:2/v1"], "m")
    with pytest.raises(ValueError, match="more than once"):
        split_server_specs("http://a:1/v1,http://a:1")
    with pytest.raises(ValueError, match="one model"):
        split_server_specs("http://a:1#x,http://b:1#y")
    with pytest.raises(ValueError, match="not an http"):
        split_server_specs("http://a:1,ftp://b")


# -- probing and errors (issue 9) ---------------------------------------------------------------------------

def test_a_server_that_accepts_and_never_answers_fails_fast():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(listener.accept()[0]) for _ in range(16)], daemon=True).start()
    began = time.perf_counter()
    try:
        with pytest.raises(ServerUnavailableError, match="accepted the connection but sent no answer") as raised:
            load_reasoner(f"http://127.0.0.1:{listener.getsockname()[1]}/v1", GenerationSettings(), cache=False)
    finally:
        listener.close()
        for connection in held:
            connection.close()
    assert time.perf_counter() - began < 9  # one probe of 5 s, not 4 attempts x 300 s
    assert "\n" not in str(raised.value)



def test_the_host_sets_the_probe_limit_and_a_bad_value_is_refused_naming_it(monkeypatch):
    from tsqr.reasoner.backend_server import PROBE_TIMEOUT_ENV, probe_timeout

    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(listener.accept()[0]) for _ in range(4)], daemon=True).start()
    monkeypatch.setenv(PROBE_TIMEOUT_ENV, "0.5")
    try:
        with pytest.raises(ServerUnavailableError, match=r"no answer to GET /v1/models within 0\.5 s"):
            load_reasoner(f"http://127.0.0.1:{listener.getsockname()[1]}/v1", GenerationSettings(), cache=False)
    finally:
        listener.close()
        for connection in held:
            connection.close()
    for bad in ("0", "-1", "soon", "inf", "nan"):
        monkeypatch.setenv(PROBE_TIMEOUT_ENV, bad)
        with pytest.raises(ValueError, match=f"{PROBE_TIMEOUT_ENV}=.*seconds > 0"):
            probe_timeout()

class SecretHandler(BaseHTTPRequestHandler):
    """Answers everything with 403 and a body no error message may repeat."""

    def log_message(self, *args) -> None:
        pass

    def _secret(self) -> None:
        data = b'{"error": {"message": "secret: the admin password is hunter2"}}'
        self.send_response(403)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _secret


def test_errors_show_the_status_and_never_the_body(simulator):
    server = ThreadingHTTPServer(("127.0.0.1", 0), SecretHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ReasonerError, match=r"HTTP 403 Forbidden") as probed:
            load_reasoner(f"http://127.0.0.1:{server.server_address[1]}/v1", FAST, cache=False)
    finally:
        server.shutdown()
        server.server_close()
    assert "secret" not in str(probed.value) and "hunter2" not in str(probed.value)
    rejecting = simulator(fail_after=0, fail_status=400, error_body='{"error": {"message": "secret"}}')
    reasoner = load_reasoner(rejecting.url, FAST, cache=False)
    with pytest.raises(ValueError, match=r"HTTP 400 Bad Request") as answered:
        reasoner.reason(["a query"], progress=False)
    with pytest.raises(ValueError, match=r"HTTP 400 Bad Request") as streamed:
        "".join(reasoner.stream("a query"))
    for error in (answered.value, streamed.value):
        assert "secret" not in str(error)


def test_a_refused_url_is_a_one_line_reasoner_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ServerUnavailableError) as raised:
        load_reasoner(f"http://127.0.0.1:{port}/v1", FAST.with_changes(max_retries=1), cache=False)
    assert isinstance(raised.value, ReasonerError)
    assert "ConnectionRefused" in str(raised.value) and "\n" not in str(raised.value)


def test_streaming_goes_through_a_replica(simulator):
    one, two = simulator(), simulator()
    reasoner = load_reasoner(f"{one.url},{two.url}", FAST, cache=False)
    assert "".join(reasoner.stream("why is the sea salty?")) == \
        f"Simulated reasoning about: {prompt('why is the sea salty?')}"
    assert sum(e.completed for e in reasoner.endpoint_stats) == 1


def test_samples_are_cached_one_by_one_and_more_can_be_drawn_later(simulator, tmp_path):
    sim = simulator()
    cache = ReasoningCache(tmp_path / "cache.jsonl")
    reasoner = load_reasoner(sim.url, GenerationSettings.tongsearch_sampling(concurrency=4), cache=cache)
    first = reasoner.reason_samples(QUERIES[:3], 2, progress=False)
    assert [len(row) for row in first] == [2, 2, 2] and sim.stats().received == 6
    more = reasoner.reason_samples(QUERIES[:3], 3, progress=False)
    assert sim.stats().received == 9  # only sample 3 of each query was new
    assert [[r.text for r in row[:2]] for row in more] == [[r.text for r in row] for row in first]
    rows = {row.key: row for row in ReasoningCache(tmp_path / "cache.jsonl").rows()}
    assert len(rows) == 9 and len({row.settings["seed"] for row in rows.values()}) == 3  # one seed per sample
    assert reasoner.reason(QUERIES[:1], progress=False)[0].cached  # sample 0 is the plain reasoning
    with pytest.raises(ValueError, match="need sampling"):
        load_reasoner(sim.url, FAST, cache=False).reason_samples(QUERIES[:1], 2)


def test_progress_counts_completions(simulator):
    sim = simulator()
    seen: list[tuple[int, int]] = []
    load_reasoner(sim.url, FAST, cache=False).reason(QUERIES[:6] + QUERIES[:2], on_progress=lambda *p: seen.append(p),
                                                     progress=False)
    assert seen[0] == (0, 8) and seen[-1] == (8, 8)
    assert len(seen) == 7  # the start, then one per distinct query (its duplicate counts with it)
    assert sim.stats().received == 6

