"""The --retriever text: parsed into RetrieverSpec, refused with a message that says what is accepted, built."""
from __future__ import annotations

import pytest

from tsqr.bm25 import SCORINGS, Index
from tsqr.records import Document
from tsqr.retrieval import RetrieverSpec, build_retriever, parse_retriever_spec


@pytest.mark.parametrize("text, kind, model, label", [
    ("bm25", "bm25", None, "bm25"),
    ("BM25", "bm25", None, "bm25"),
    ("dense", "dense", "default", "dense"),
    ("dense:BAAI/bge-large-en-v1.5", "dense", "BAAI/bge-large-en-v1.5", "dense:BAAI/bge-large-en-v1.5"),
    (" hybrid ", "hybrid", "default", "hybrid"),
    ("hybrid:bge", "hybrid", "bge", "hybrid:bge"),
    ("dense:C:\\models\\my-embedder", "dense", "C:\\models\\my-embedder", "dense:C:\\models\\my-embedder"),
])
def test_accepted_forms(text: str, kind: str, model: str | None, label: str) -> None:
    spec = parse_retriever_spec(text)
    assert spec == RetrieverSpec(kind, model)
    assert str(spec) == label and parse_retriever_spec(str(spec)) == spec


@pytest.mark.parametrize("text, message", [
    ("", "empty retriever"),
    ("splade", "unknown retriever 'splade': use bm25, dense, dense:MODEL, hybrid or hybrid:MODEL"),
    ("bm25:anything", "bm25 takes no model"),
    ("dense:", "names no model after the colon"),
    ("hybrid:  ", "names no model after the colon"),
])
def test_refused_forms(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_retriever_spec(text)


def test_the_record_checks_itself() -> None:
    with pytest.raises(ValueError, match="unknown retriever kind 'sparse'"):
        RetrieverSpec("sparse")
    with pytest.raises(ValueError, match="bm25 takes no model"):
        RetrieverSpec("bm25", "bge")
    with pytest.raises(ValueError, match="needs a model name"):
        RetrieverSpec("dense", "")
    with pytest.raises(AttributeError):
        RetrieverSpec("dense").kind = "bm25"  # frozen


def test_bm25_builds_or_reuses_the_bm25_index_and_ranks_with_its_scoring() -> None:
    documents = [Document("a", "cats purr"), Document("b", "dogs bark"), Document("c", "cats purr purr purr")]
    index = Index.build(documents, progress=False)
    for scoring in SCORINGS:
        retriever = build_retriever("bm25", documents, bm25_index=index, scoring=scoring)
        assert retriever.index is index and retriever.scoring == scoring
        assert retriever.search_many(["purring cat", "dog"], k=2, excludes=[["c"], []], progress=False) == \
            [index.search("purring cat", k=2, exclude=["c"], scoring=scoring),
             index.search("dog", k=2, scoring=scoring)]
    built = build_retriever(RetrieverSpec("bm25"), documents, progress=False)
    assert built.scoring == "bright" and built.search("purring cat", k=1) == index.search("purring cat", k=1)
    with pytest.raises(ValueError, match="unknown BM25 scoring 'tfidf'"):
        build_retriever("bm25", documents, bm25_index=index, scoring="tfidf")


def test_a_query_instruction_is_refused_where_it_cannot_apply() -> None:
    from tsqr.retrieval.spec import QUERY_INSTRUCTION_LIMIT, check_query_instruction

    documents = [Document("a", "cats purr")]
    with pytest.raises(ValueError, match="applies to dense and hybrid retrievers"):
        build_retriever("bm25", documents, query_instruction="Find: ", progress=False)
    with pytest.raises(ValueError, match=f"at most {QUERY_INSTRUCTION_LIMIT}"):
        check_query_instruction("dense:bge", "x" * (QUERY_INSTRUCTION_LIMIT + 1))
    check_query_instruction("hybrid:bge", "Instruct: find passages\nQuery: ")  # newlines are part of such texts
    check_query_instruction("bm25", None)


def test_evaluate_refuses_a_query_instruction_for_bm25_in_one_line_with_exit_2(capsys) -> None:
    from tsqr.__main__ import main

    assert main(["evaluate", "--data", "demo", "--domain", "demo", "--query-instruction", "Find: "]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --query-instruction applies to dense and hybrid retrievers; bm25 searches the text as is"


def test_the_evaluation_config_records_the_query_instruction() -> None:
    from tsqr.evaluate import EvaluationConfig

    assert EvaluationConfig(retriever="dense:bge", query_instruction="Find: ").query_instruction == "Find: "
    assert EvaluationConfig().query_instruction is None
