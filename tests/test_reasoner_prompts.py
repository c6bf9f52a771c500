"""Prompt templates, query composition and generation settings: the words a model sees and what BM25 gets."""
from __future__ import annotations

import pytest

from tsqr.composition import compose_query
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


def test_replace_mode_searches_with_the_reasoning_alone():
    assert compose_query("tides?", "The moon pulls the ocean.") == "The moon pulls the ocean."


def test_replace_mode_falls_back_to_the_query_when_the_reasoning_is_blank():
    assert compose_query("tides?", "  \n") == "tides?"


def test_concat_mode_repeats_the_query_before_the_reasoning():
    assert compose_query("tides?", "moon gravity", mode="concat", repeat=3) == "tides? tides? tides? moon gravity"
    assert compose_query("tides?", "", mode="concat", repeat=2) == "tides? tides?"


@pytest.mark.parametrize("mode, repeat, message", [("append", 1, "unknown compose mode"), ("concat", 0, "repeat")])
def test_compose_rejects_bad_settings(mode, repeat, message):
    with pytest.raises(ValueError, match=message):
        compose_query("q", "r", mode=mode, repeat=repeat)


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


def test_concat_repeats_the_query_once_by_default():
    assert compose_query("tides?", "moon gravity", mode="concat") == "tides? moon gravity"


def test_a_template_without_a_system_turn_sends_only_the_user_turn():
    from tsqr.reasoner import PromptTemplate

    bare = PromptTemplate(name="bare", user="Q: {query}")
    assert bare.messages("tides?") == [{"role": "user", "content": "Q: tides?"}]
    assert PromptTemplate(name="empty", user="Q: {query}", system="").messages("x")[0] == \
        {"role": "system", "content": ""}
