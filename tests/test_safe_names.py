"""Names a visitor chooses never decide where files are written: unsafe domain names are refused where a domain
is named, and every output path is checked to stay inside its folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tsqr.bright import BRIGHT_DOMAINS, DataError, canonical_domain, load_domain, safe_name
from tsqr.paths import UnsafePathError, inside

UNSAFE = ["../x", "../../../../tmp/x", "/tmp/x", "a/b", "a\\b", ".hidden", "..", ".", "a b", "tab\there",
          "new\nline", "naïve", "x" * 65, "", "nul\x00"]


@pytest.mark.parametrize("name", [*BRIGHT_DOMAINS, "earth-science", "my-corpus.v2", "A_1", "x" * 64])
def test_safe_names_pass_unchanged(name):
    assert safe_name(name) == name


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_names_are_refused_naming_the_value_and_the_rule(name):
    with pytest.raises(DataError, match="domain name .*letters, digits, '_', '.' and '-' only") as caught:
        safe_name(name)
    assert repr(name[:64]) in str(caught.value)


@pytest.mark.parametrize("name", ["../x", "/tmp/x", ".hidden"])
def test_load_domain_refuses_unsafe_names_before_reading_anything(tmp_path, name):
    with pytest.raises(DataError, match="domain name"):
        load_domain(tmp_path / "does-not-exist.jsonl", name)
    with pytest.raises(DataError, match="domain name"):
        canonical_domain(name)


def test_inside_accepts_names_in_the_folder_and_refuses_every_way_out(tmp_path):
    assert inside(tmp_path, "biology.raw.trec") == tmp_path / "biology.raw.trec"
    assert inside(tmp_path, "sub/biology.raw.trec") == tmp_path / "sub" / "biology.raw.trec"
    os.symlink(tmp_path.parent, tmp_path / "up")
    for name in ["../x.trec", "/tmp/x.trec", "sub/../../x.trec", "up/x.trec", ".", ""]:
        with pytest.raises(UnsafePathError, match="leads outside"):
            inside(tmp_path, name)


def test_write_outputs_refuses_a_domain_name_that_would_leave_the_output_folder(tmp_path):
    from tsqr.bm25 import Index
    from tsqr.evaluate import EvaluationConfig, evaluate_domain, write_outputs
    from tsqr.records import Document, Domain, Example
    from tsqr.retrieval import BM25Retriever

    documents = [Document("d1", "bees dance"), Document("d2", "wasps sting")]
    # A Domain built by hand, bypassing load_domain's name check: the writer must hold on its own.
    domain = Domain("../escaped", [Example("q1", "why do bees dance", ("d1",))], documents)
    index = Index.from_tokens(["d1", "d2"], [["bee", "danc"], ["wasp", "sting"]])
    report = evaluate_domain(domain, BM25Retriever(index), None, EvaluationConfig())
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="outside"):
        write_outputs([report], out)
    assert not any(path.name.startswith("escaped") for path in tmp_path.iterdir())
    assert not Path(tmp_path / "escaped.raw.trec").exists()
