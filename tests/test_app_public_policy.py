"""The host's policy: when public mode is on, what a public app offers, and that a refusal tells a visitor
nothing about the server. (The same checks through the running app are in test_app_public_live.py.)"""
from __future__ import annotations

import pytest

from tsqr.app.public import PolicyError, host_policy, listens_beyond_loopback
from tsqr.bright import BRIGHT_DOMAINS


@pytest.mark.parametrize("name", [None, "", "127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]", "LOCALHOST"])
def test_loopback_addresses_are_local(name):
    assert not listens_beyond_loopback(name)


@pytest.mark.parametrize("name", ["0.0.0.0", "::", "192.168.1.10", "example.org"])
def test_other_addresses_are_public(name):
    assert listens_beyond_loopback(name)


def test_public_mode_is_on_for_a_space_a_flag_or_a_wide_address():
    assert not host_policy("127.0.0.1", {}).public
    assert host_policy("127.0.0.1", {"SPACE_ID": "someone/tsqr"}).public
    assert host_policy("127.0.0.1", {"TSQR_PUBLIC": "1"}).public
    assert host_policy("0.0.0.0", {"TSQR_PUBLIC": "0"}).public  # nothing turns it off beyond loopback
    with pytest.raises(ValueError, match=r"\$TSQR_PUBLIC='maybe'"):
        host_policy("127.0.0.1", {"TSQR_PUBLIC": "maybe"})


def test_a_public_app_offers_only_the_hosts_models():
    policy = host_policy("0.0.0.0", {"TSQR_MODELS": "default, none,TongSearch/TongSearch-QR-1.5B"})
    assert policy.models == ("default", "none", "TongSearch/TongSearch-QR-1.5B")
    assert policy.check_model(" none ") == "none"
    for typed in ("http://127.0.0.1:9/v1", "/root/.ssh", "/no/such/folder", "Qwen/Qwen2.5-7B-Instruct",
                  "transformers:default"):
        with pytest.raises(PolicyError, match="not offered by this public server: choose one of default, none"):
            policy.check_model(typed)
    assert host_policy("0.0.0.0", {}).models == ("default", "none")
    assert host_policy("0.0.0.0", {"TSQR_MODEL": "TongSearch/TongSearch-QR-7B"}).models[0] == \
        "TongSearch/TongSearch-QR-7B"  # the host's initial model is the host's too
    with pytest.raises(ValueError, match=r"\$TSQR_MODELS lists no model"):
        host_policy("0.0.0.0", {"TSQR_MODELS": " , "})


def test_a_refusal_is_the_same_whether_a_path_exists_or_not(tmp_path, monkeypatch):
    policy = host_policy("0.0.0.0", {})
    monkeypatch.chdir(tmp_path)  # short relative names: a long temporary path would be cut inside the message
    (tmp_path / "exists").mkdir()
    messages = []
    for path in ("exists", "missing"):
        with pytest.raises(PolicyError) as refused:
            policy.check_model(path)
        messages.append(str(refused.value).replace(path, "PATH"))
    assert messages[0] == messages[1]
    with pytest.raises(PolicyError) as refused:
        policy.check_model("x" * 10_000)
    assert len(str(refused.value)) < 200  # a huge value is not echoed back whole


def test_local_use_keeps_its_freedom():
    policy = host_policy("127.0.0.1", {"TSQR_HUB_DOMAINS": ""})
    assert policy.check_model("http://127.0.0.1:9/v1") == "http://127.0.0.1:9/v1"
    assert policy.check_hub_domains(["pony"]) == ("pony",)


def test_hub_domains_are_the_hosts_choice():
    assert host_policy("0.0.0.0", {}).hub_domains == tuple(BRIGHT_DOMAINS)
    assert host_policy("0.0.0.0", {"HF_HUB_OFFLINE": "1"}).hub_domains == ()  # offline: none by default
    assert host_policy("0.0.0.0", {"HF_HUB_OFFLINE": "1", "TSQR_HUB_DOMAINS": "all"}).hub_domains == \
        tuple(BRIGHT_DOMAINS)
    policy = host_policy("0.0.0.0", {"TSQR_HUB_DOMAINS": "biology,pony"})
    assert policy.check_hub_domains(["pony"]) == ("pony",)
    with pytest.raises(PolicyError, match="hub domain 'leetcode' is not offered.*offered: biology, pony"):
        policy.check_hub_domains(["pony", "leetcode"])
    with pytest.raises(PolicyError, match="offered: none"):
        host_policy("0.0.0.0", {"TSQR_HUB_DOMAINS": ""}).check_hub_domains(["../../etc"])
    with pytest.raises(ValueError, match=r"\$TSQR_HUB_DOMAINS: 'chemistry' is not a BRIGHT domain"):
        host_policy("0.0.0.0", {"TSQR_HUB_DOMAINS": "biology,chemistry"})


def test_queries_are_cut_to_the_hosts_bound_with_a_note():
    policy = host_policy("127.0.0.1", {"TSQR_MAX_QUERY_CHARS": "10"})
    assert policy.bounded_query("short") == ("short", "")
    query, note = policy.bounded_query("x" * 1_000_000)
    assert query == "x" * 10 and "cut from 1,000,000 to 10 characters" in note and "TSQR_MAX_QUERY_CHARS" in note
    assert host_policy("127.0.0.1", {}).max_query_chars == 4000
    for bad in ("0", "-5", "lots"):
        with pytest.raises(ValueError, match=r"\$TSQR_MAX_QUERY_CHARS"):
            host_policy("127.0.0.1", {"TSQR_MAX_QUERY_CHARS": bad})


def test_the_app_handlers_check_the_policy_themselves(monkeypatch):
    """Gradio refuses a value outside a dropdown's choices, but the handlers do not rely on it: called as an API
    call reaches them, they refuse what the host does not offer before touching a model, a URL or a path."""
    import app

    monkeypatch.setattr(app, "POLICY", host_policy("0.0.0.0", {"TSQR_HUB_DOMAINS": ""}))
    *_, (reasoning, info, _, raw, _) = app.search("why does ice float", app.DEMO_ID, "/root", 16, 10, "bright")
    assert "model '/root' is not offered by this public server" in info and reasoning == ""
    for model, hub in (("http://127.0.0.1:9/v1", []), ("none", ["biology"])):
        *_, last = app.evaluate(None, None, "", hub, 0, app.REASONING_MODEL, model, None, 16, "bright", [],
                                progress=lambda *args, **kwargs: None)
        assert "not offered by this public server" in last[0]


def test_a_long_typed_query_is_cut_but_a_corpus_example_is_searched_whole(monkeypatch):
    """BRIGHT has queries of 19k characters: a picked example stays whole (and judged); typed text is cut."""
    import app

    monkeypatch.setattr(app, "POLICY", host_policy("127.0.0.1", {"TSQR_MAX_QUERY_CHARS": "50"}))
    example = max(app.STORE.get(app.DEMO_ID).domain.examples, key=lambda ex: len(ex.query))
    assert len(example.query) > 50
    *_, (reasoning, info, _, raw, _) = app.search(example.query, app.DEMO_ID, "none", 16, 10, "bright")
    assert reasoning == example.query and f"`{example.id}`" in info and "cut" not in info
    *_, (reasoning, info, _, raw, _) = app.search(example.query + " and more", app.DEMO_ID, "none", 16, 10, "bright")
    assert reasoning == (example.query + " and more")[:50] and "cut from" in info and "to 50 characters" in info


def test_visitor_work_is_bounded_in_public_mode_and_free_locally_unless_set():
    public, local = host_policy("0.0.0.0", {}), host_policy("127.0.0.1", {})
    assert (public.work_seconds, public.max_embedded_documents, public.max_model_queue) == (600.0, 5000, 8)
    assert (local.work_seconds, local.max_embedded_documents, local.max_model_queue) == (None, None, 8)
    chosen = host_policy("127.0.0.1", {"TSQR_MAX_INDEX_SECONDS": "2.5", "TSQR_MAX_EMBEDDED_DOCS": "10",
                                       "TSQR_MAX_MODEL_QUEUE": "3"})
    assert (chosen.work_bounds.seconds, chosen.work_bounds.embedded_documents, chosen.max_model_queue) == (2.5, 10, 3)
    assert host_policy("0.0.0.0", {"TSQR_MAX_INDEX_SECONDS": "0"}).work_seconds is None  # 0: no limit


@pytest.mark.parametrize("name, value", [("TSQR_MAX_INDEX_SECONDS", "abc"), ("TSQR_MAX_INDEX_SECONDS", "inf"),
                                         ("TSQR_MAX_INDEX_SECONDS", "nan"), ("TSQR_MAX_INDEX_SECONDS", "-1"),
                                         ("TSQR_MAX_EMBEDDED_DOCS", "1.5"), ("TSQR_MAX_EMBEDDED_DOCS", "-3"),
                                         ("TSQR_MAX_MODEL_QUEUE", "0"), ("TSQR_MAX_MODEL_QUEUE", "many")])
def test_a_bad_bound_is_an_error_naming_its_variable(name, value):
    with pytest.raises(ValueError, match=rf"^\${name}={value!r}: give a"):
        host_policy("0.0.0.0", {name: value})
