"""Prompt templates, query composition and generation settings: the words a model sees and what BM25 gets."""
from __future__ import annotations

import pytest

from tsqr.reasoner import GenerationSettings, TEMPLATES, build_messages, get_template
from tsqr.reasoner.backend_none import NoneReasoner

TONGSEARCH_USER_TURN = (
    "Instructions:\n1. Identify the essential problem.\n2. Think step by step to reason and describe what "
    "information could be relevant and helpful to address the questions in detail.\n3. Draft an answer with as "
    "many thoughts as you have.\nQuery: {query}\n\n"
)


def test_tongsearch_template_is_the_papers_prompt_after_an_empty_system_turn():
    messages = build_messages("Why is the sky blue?", "tongsearch")
    assert messages == [
        {"role": "system", "content": ""},
        {"role": "user", "content": TONGSEARCH_USER_TURN.replace("{query}", "Why is the sky blue?")},
    ]


def test_every_template_places_the_query_once_and_has_a_distinct_fingerprint():
    query = "QUERY-MARKER-42"
    for name, template in TEMPLATES.items():
        user = template.messages(query)[-1]
        assert user["role"] == "user" and user["content"].count(query) == 1, name
    assert len({t.fingerprint for t in TEMPLATES.values()}) == len(TEMPLATES)
    assert {"tongsearch", "query2doc", "hyde"} <= set(TEMPLATES)


def test_a_query_with_braces_is_inserted_verbatim():
    query = "What does {x} mean in f\"{x:>{width}}\"?"
    assert query in build_messages(query)[-1]["content"]


def test_unknown_template_error_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown prompt template 'cot'.*tongsearch"):
        get_template("cot")


def test_settings_defaults_follow_the_paper_and_tongsearch_eval_code():
    settings = GenerationSettings()
    assert (settings.max_new_tokens, settings.template, settings.repetition_penalty) == (1024, "tongsearch", 1.05)
    assert settings.greedy
    sampling = GenerationSettings.tongsearch_sampling()
    assert (sampling.temperature, sampling.top_p, sampling.top_k, sampling.max_new_tokens) == (0.7, 0.8, 20, 500)


def test_output_fields_leave_out_transport_settings_and_the_seed_when_greedy():
    base = GenerationSettings()
    assert base.output_fields() == base.with_changes(batch_size=1, threads=1, max_retries=0).output_fields()
    assert base.output_fields() == base.with_changes(seed=7).output_fields()
    sampled = base.with_changes(temperature=0.7)
    assert sampled.output_fields() != sampled.with_changes(seed=7).output_fields()
    assert base.output_fields() != base.with_changes(max_new_tokens=16).output_fields()


def test_invalid_settings_name_every_problem():
    with pytest.raises(ValueError) as caught:
        GenerationSettings(max_new_tokens=0, top_p=1.5, batch_size=0)
    message = str(caught.value)
    assert "max_new_tokens" in message and "top_p" in message and "batch_size" in message
    with pytest.raises(ValueError, match="unknown prompt template"):
        GenerationSettings(template="nope")


def test_none_reasoner_returns_queries_unchanged_and_reports_progress():
    seen = []
    results = NoneReasoner().reason(["a b", "c"], on_progress=lambda done, total: seen.append((done, total)))
    assert [r.text for r in results] == ["a b", "c"] and results[0].model == "none"
    assert seen[-1] == (2, 2)
    assert "".join(NoneReasoner().stream("a b")) == "a b"


def test_empty_query_error_names_its_index():
    with pytest.raises(ValueError, match="query 1 is empty"):
        NoneReasoner().reason(["fine", "   "])
    with pytest.raises(ValueError, match="single string"):
        NoneReasoner().reason("not a list")


def test_a_template_without_a_system_turn_sends_only_the_user_turn():
    from tsqr.reasoner import PromptTemplate

    bare = PromptTemplate(name="bare", user="Q: {query}")
    assert bare.messages("tides?") == [{"role": "user", "content": "Q: tides?"}]
    assert PromptTemplate(name="empty", user="Q: {query}", system="").messages("x")[0] == \
        {"role": "system", "content": ""}


# -- the rewriters' published prompts, template files, and the cache key that follows the words -----------------

INF_X_USER_TURN = (
    "For the input query, formulating a concise search query for dense retrieval by distilling the core intent "
    "from a complex user prompt and ignoring LLM instructions.The response should be less than 200 words\n\n"
    "**Input Query:**\n{query}\n**Your Output:**\n"
)


def test_inf_x_template_is_the_query_aligners_prompt_after_qwens_default_system_turn():
    assert build_messages("Why do cats purr?", "inf-x") == [
        {"role": "system", "content": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."},
        {"role": "user", "content": INF_X_USER_TURN.replace("{query}", "Why do cats purr?")},
    ]


def test_every_named_template_gives_its_own_cache_key():
    from tsqr.reasoner.cache import reasoning_key

    settings = GenerationSettings()
    keys = {name: reasoning_key("model", get_template(name), settings, "tides?") for name in TEMPLATES}
    assert len(set(keys.values())) == len(TEMPLATES)
    assert {"tongsearch", "inf-x"} <= set(keys)


def test_a_template_file_is_its_words_and_its_key_follows_them(tmp_path):
    from tsqr.reasoner.cache import reasoning_key
    from tsqr.reasoner.prompts import load_template_file

    first, same, other = tmp_path / "mine.txt", tmp_path / "copy.txt", tmp_path / "other.txt"
    first.write_text("Explain what a searcher needs for: {query}\n", encoding="utf-8")
    same.write_text(first.read_text(encoding="utf-8"), encoding="utf-8")
    other.write_text("List the concepts behind: {query}\n", encoding="utf-8")
    template = load_template_file(first)
    assert template.messages("tides?") == [{"role": "user", "content": "Explain what a searcher needs for: tides?\n"}]
    assert template.name == f"custom-{template.fingerprint[:8]}"

    settings = GenerationSettings(template=template)
    key = reasoning_key("model", get_template(settings.template), settings, "tides?")
    assert key == reasoning_key("model", load_template_file(same), settings, "tides?")  # the words, not the file
    assert key != reasoning_key("model", load_template_file(other), settings, "tides?")
    assert key != reasoning_key("model", get_template("tongsearch"), settings, "tides?")


@pytest.mark.parametrize("content, message", [
    (b"No slot at all.\n", r"no \{query\} placeholder"),
    (b"", r"no \{query\} placeholder"),
    (b"Domain {domain}: {query}", r"unknown placeholder\(s\) \{domain\}; a template has one placeholder, \{query\}"),
    (b"{query} \xff\xfe", "not UTF-8 text"),
    (b"{query}" + b"x" * 70_000, "larger than 64 KiB"),
])
def test_a_bad_template_file_is_refused_in_one_line(tmp_path, content, message):
    from tsqr.reasoner.prompts import load_template_file

    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as caught:
        load_template_file(path)
    assert "\n" not in str(caught.value) and "bad.txt" in str(caught.value)


def test_literal_braces_that_are_not_placeholders_are_kept():
    from tsqr.reasoner.prompts import template_from_text

    template = template_from_text('Answer as JSON like {"terms": []} for: {query}')
    assert template.messages("x")[0]["content"] == 'Answer as JSON like {"terms": []} for: x'


def test_template_option_takes_a_name_a_file_or_refuses(tmp_path, monkeypatch):
    from tsqr.reasoner.prompts import template_named_or_file

    assert template_named_or_file("inf-x") == "inf-x"
    path = tmp_path / "t.txt"
    path.write_text("Q: {query}", encoding="utf-8")
    assert template_named_or_file(str(path)).user == "Q: {query}"
    with pytest.raises(ValueError, match="neither a template name .*tongsearch.* nor a file"):
        template_named_or_file(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="is a folder"):
        template_named_or_file(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hyde").write_text("file: {query}", encoding="utf-8")
    assert template_named_or_file("hyde") == "hyde" and template_named_or_file("./hyde").user == "file: {query}"


def test_tsqr_reason_sends_a_template_file_to_the_model(tmp_path, capsys):
    """End to end with no weights: the loopback simulator echoes the user turn it received."""
    from tsqr.__main__ import main
    from tsqr.serve.simulate import Latency, Simulator

    path = tmp_path / "mine.txt"
    path.write_text("Name the principle behind: {query}", encoding="utf-8")
    with Simulator(latency=Latency("fixed", 0.01)) as sim:
        assert main(["reason", "--model", sim.url, "--template", str(path), "why do tides happen?"]) == 0
    assert capsys.readouterr().out.strip() == \
        "Simulated reasoning about: Name the principle behind: why do tides happen?"


def test_tsqr_reason_refuses_a_bad_template_file_in_one_line_with_exit_2(tmp_path, capsys):
    from tsqr.__main__ import main

    path = tmp_path / "bad.txt"
    path.write_text("Domain {domain}: {query}", encoding="utf-8")
    with pytest.raises(SystemExit) as caught:
        main(["reason", "--model", "none", "--template", str(path), "q"])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown placeholder(s) {domain}" in err


def test_tsqr_evaluate_reasons_with_a_template_file(tmp_path):
    """The same file through the evaluation: the reasonings results.json keeps were written from its words."""
    import json

    from tsqr.__main__ import main
    from tsqr.serve.simulate import Latency, Simulator

    path = tmp_path / "mine.txt"
    path.write_text("Name the principle behind: {query}", encoding="utf-8")
    with Simulator(latency=Latency("fixed", 0.01)) as sim:
        assert main(["evaluate", "--data", "demo", "--domain", "demo", "--reasoned", sim.url, "--template",
                     str(path), "--limit", "2", "--out", str(tmp_path / "out")]) == 0
    reasonings = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["demo"]["reasonings"]
    assert len(reasonings) == 2
    assert all(text.startswith("Simulated reasoning about: Name the principle behind: ") for text in reasonings.values())
