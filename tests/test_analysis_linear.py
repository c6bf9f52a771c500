"""The tokenizer's work is linear in the text for every input, shown by counting what each regex call may read.

No timing here (bench/analysis_adversarial.py measures time). Every call the tokenizer makes on its patterns
is recorded on the real patterns, and the structure that bounds the work is checked: a lone try reads at most
one Lucene buffer (255 chars) and no position is tried twice; findall only ever sees text whose runs of
token characters are shorter than half a buffer, so each of its tries reads less than that; the helpers
that skip failed runs read at most two buffers, once per failed try. So n characters cost at most a
constant times n steps, whatever they are. Equality with Lucene on these inputs is in test_analysis_lucene.py.
"""
from __future__ import annotations

import re
import sys

import pytest

from tsqr.bm25 import tokenizer
from tsqr.bm25.tokenizer import LUCENE_MAX_TOKEN_LENGTH, token_spans, tokenize

BUFFER = LUCENE_MAX_TOKEN_LENGTH

# Motifs repeated to a few thousand characters: each once took time quadratic in its length.
ADVERSARIAL_MOTIFS = ["_", "_ ", "a_", "a.", "a..", "1,", "a'", "1a.", "_a.", "a._", "\u200d", "\U0001f468\u200d",
                      "a\u0301", "\u05d0'", "\u30ab_", "#\u200d", "_\U0001f3fb", "\u24c2_", "\U0001d400", "x",
                      "_" * 127 + " ", "\u203f\u200d", "9\"\u30ab:"]


class Recorded:
    """A compiled pattern that notes the span of text each call may read, then runs the real call."""

    def __init__(self, pattern: re.Pattern[str], calls: list[tuple[str, str, int, int]], name: str) -> None:
        self._pattern, self._calls, self._name = pattern, calls, name

    def _note(self, method: str, text: str, pos: int, endpos: int) -> None:
        self._calls.append((self._name, method, pos, min(endpos, len(text))))

    def match(self, text: str, pos: int = 0, endpos: int = sys.maxsize):
        self._note("match", text, pos, endpos)
        return self._pattern.match(text, pos, endpos)

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize):
        self._note("search", text, pos, endpos)
        return self._pattern.search(text, pos, endpos)

    def finditer(self, text: str, pos: int = 0, endpos: int = sys.maxsize):
        self._note("findall", text, pos, endpos)
        return self._pattern.finditer(text, pos, endpos)

    def findall(self, text: str, pos: int = 0, endpos: int = sys.maxsize):
        self._note("findall", text, pos, endpos)
        return self._pattern.findall(text, pos, endpos)


@pytest.fixture
def recorded_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int, int]]:
    calls: list[tuple[str, str, int, int]] = []
    real = tokenizer._patterns

    def recording(astral: bool):
        patterns = real(astral)
        return patterns._replace(**{name: Recorded(getattr(patterns, name), calls, name)
                                    for name in ("token", "connectors", "joiners", "other_starts")})

    monkeypatch.setattr(tokenizer, "_patterns", recording)
    return calls


def _longest_token_character_run(text: str, start: int, end: int) -> int:
    inside = tokenizer._patterns(not text.isascii() and tokenizer._ASTRAL.search(text) is not None).inside
    return max((len(run) for run in re.findall(f"{inside}+", text[start:end])), default=0)


@pytest.mark.parametrize("motif", ADVERSARIAL_MOTIFS)
def test_every_call_reads_a_bounded_stretch_and_no_position_is_tried_twice(motif, recorded_calls) -> None:
    text = motif * (6000 // len(motif))
    tokens = tokenize(text)
    assert [text[start:end] for start, end in token_spans(text)] == tokens
    recorded_calls.clear()
    tokenize(text)

    tries = [(pos, endpos) for name, method, pos, endpos in recorded_calls if (name, method) == ("token", "match")]
    assert all(endpos - pos <= BUFFER for pos, endpos in tries)  # a try reads at most one buffer
    begins = [pos for pos, _ in tries]
    assert begins == sorted(set(begins))  # and no position is tried twice: at most len(text) tries
    for name, method, pos, endpos in recorded_calls:
        if method == "findall":  # findall's tries read within runs shorter than half a buffer
            assert _longest_token_character_run(text, pos, endpos) <= BUFFER // 2, (name, pos, endpos)
        elif name in ("connectors", "joiners", "other_starts"):  # skipping a failed run reads two buffers at most
            assert endpos - pos <= 2 * BUFFER + 2, (name, method, pos, endpos)
    skips = sum(name in ("connectors", "joiners") for name, *_ in recorded_calls)
    assert skips <= len(tries)  # one per failed try at most


def test_a_run_of_connectors_is_skipped_a_buffer_at_a_time(recorded_calls) -> None:
    """Lucene's scanner tries each "_" of a run and reads a buffer from each (quadratic in the buffer, 255
    steps a character); tsqr's failed try proves the next buffer's worth of "_" dead, so it tries once a buffer."""
    for length in (10_000, 100_000):
        recorded_calls.clear()
        assert tokenize("_" * length + " a") == ["a"]
        tries = [(pos, endpos) for name, method, pos, endpos in recorded_calls if (name, method) == ("token", "match")]
        assert len(tries) <= length // BUFFER + 2
        assert sum(endpos - pos for pos, endpos in tries) <= length + BUFFER


def test_a_long_token_is_read_once_buffer_by_buffer(recorded_calls) -> None:
    """800,000 letters make 3,138 tokens of at most 255 (Lucene's buffer): one try each, never re-reading
    the rest of the run (which made this quadratic)."""
    text = "x" * 800_000
    assert [len(token) for token in tokenize(text)] == [255] * 3137 + [800_000 - 255 * 3137]
    tries = [(pos, endpos) for name, method, pos, endpos in recorded_calls if (name, method) == ("token", "match")]
    assert len(tries) == 3138 and sum(endpos - pos for pos, endpos in tries) == 800_000
