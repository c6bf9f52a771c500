"""tsqr.bm25.analysis must produce the terms of pyserini's default Lucene analyzer, without Java.

The expected tokens below follow Lucene's documented behaviour: StandardTokenizer's UAX#29 word rules
(StandardTokenizerImpl.jflex), EnglishPossessiveFilter, LowerCaseFilter (java.lang.Character), the 33-word
English stop set and Lucene's PorterStemmer (Porter's C release: 'bli'->'ble', 'logi'->'log', no stemming
under 3 chars). tests/test_analysis_lucene.py replays every case against the real Lucene when Java is there.
"""
from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tsqr.bm25.analysis import LUCENE_ENGLISH_STOPWORDS, Analyzer, porter_stem
from tsqr.bm25.tokenizer import token_spans, tokenize

# (text, StandardTokenizer tokens)
TOKENIZER_CASES = [
    ("The dog's bone", ["The", "dog's", "bone"]),
    ("rock'n'roll O'Neil's can't", ["rock'n'roll", "O'Neil's", "can't"]),
    ("dogs' toys 'quoted'", ["dogs", "toys", "quoted"]),
    ("don\u2019t", ["don\u2019t"]),
    ("e-mail state-of-the-art", ["e", "mail", "state", "of", "the", "art"]),
    # digits join across . , ; and ' but a colon only joins letters
    ("3.14 1,000,000 1;2 10.5% -7", ["3.14", "1,000,000", "1;2", "10.5", "7"]),
    ("12:30 a:b 1/2 a/b", ["12", "30", "a:b", "1", "2", "a", "b"]),
    ("U.S.A. x.y.z v1.2.3 a.1 1.a", ["U.S.A", "x.y.z", "v1.2.3", "a", "1", "1", "a"]),
    ("3rd 10th x86_64 utf-8", ["3rd", "10th", "x86_64", "utf", "8"]),
    # modern StandardTokenizer has no e-mail/URL rules: '@', '/', ':' before '/' split them
    ("john.doe@example.com", ["john.doe", "example.com"]),
    ("https://www.example.com/path?q=1&r=two", ["https", "www.example.com", "path", "q", "1", "r", "two"]),
    ("foo_bar __init__ _x x_ ___", ["foo_bar", "__init__", "_x", "x_"]),
    ("fooBar C++ C# .NET $100 #tag @user", ["fooBar", "C", "C", "NET", "100", "tag", "user"]),
    ("f(x) = x^2 + 1", ["f", "x", "x", "2", "1"]),
    ("caf\u00e9 na\u00efve \u00c5ngstr\u00f6m", ["caf\u00e9", "na\u00efve", "\u00c5ngstr\u00f6m"]),
    ("cafe\u0301s soft\u00adhyphen", ["cafe\u0301s", "soft\u00adhyphen"]),  # combining/format marks stay attached
    ("\u03b1\u03b2\u03b3 \u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2", ["\u03b1\u03b2\u03b3", "\u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2"]),
    ("\u4e2d\u6587\u5b57", ["\u4e2d", "\u6587", "\u5b57"]),  # one token per ideograph
    ("\u3072\u3089\u304c\u306a", ["\u3072", "\u3089", "\u304c", "\u306a"]),  # and per hiragana
    ("\u30ab\u30bf\u30ab\u30ca \ud55c\uad6d\uc5b4", ["\u30ab\u30bf\u30ab\u30ca", "\ud55c\uad6d\uc5b4"]),  # katakana, hangul runs
    ("\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22 \u05e2\u05d1\u05e8\u05d9\u05ea", ["\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22", "\u05e2\u05d1\u05e8\u05d9\u05ea"]),
    ("\U0001f600\U0001f44d\U0001f3fd \U0001f1fa\U0001f1f8 \u2764\ufe0f", ["\U0001f600", "\U0001f44d\U0001f3fd", "\U0001f1fa\U0001f1f8", "\u2764\ufe0f"]),
    ("\u24c2\u200d\u00a9", ["\u24c2\u200d\u00a9"]),  # a letter that is also an emoji starts the longer emoji sequence
    ("\U0001d431\U0001d432 \U0001d7d9", ["\U0001d431\U0001d432", "\U0001d7d9"]),  # letters above U+FFFF
    ("x\u00b2 \u00bd \u2160", ["x", "\u2160"]),
    ("", []),
    (" \t\n -- ... ", []),
]

# (text, analyzer terms)
ANALYZER_CASES = [
    ("The dog's bones", ["dog", "bone"]),
    ("DOG'S dog\u2019s dog\uff07s dogs'", ["dog", "dog", "dog", "dog"]),
    ("it's THE The the a an and", []),  # possessive stripped before the stop filter
    # Lucene's Porter, not Porter2 (Snowball English gives generous, fair, biolog, archaeolog)
    ("generously fairly biology archaeology", ["gener", "fairli", "biologi", "archaeolog"]),
    ("probability probably sensibility", ["probabl", "probabl", "sensibl"]),
    ("caresses ponies ties caress cats", ["caress", "poni", "ti", "caress", "cat"]),
    (
        "feed agreed disabled matting mating meeting milling messing meetings",
        ["feed", "agre", "disabl", "mat", "mate", "meet", "mill", "mess", "meet"],
    ),
    ("relational conditional rational valency hesitancy digitizer", ["relat", "condit", "ration", "valenc", "hesit", "digit"]),
    ("running hopping hoping happy sky news", ["run", "hop", "hope", "happi", "sky", "new"]),
    ("us ed ies yes", ["us", "ed", "i", "ye"]),  # under 3 chars nothing is stemmed
    ("\u0130stanbul \u039f\u0394\u039f\u03a3", ["istanbul", "\u03bf\u03b4\u03bf\u03c3"]),  # Java lower case: no final sigma
    ("1,000.50 3.14159 x86_64", ["1,000.50", "3.14159", "x86_64"]),
    ("C++ and C#", ["c", "c"]),
]

# Long tokens: Lucene's 255-char buffer cuts them; the window counts UTF-16 chars and limits the look-ahead too.
LONG_TOKEN_CASES = [
    ("x" * 600, [255, 255, 90]),
    ("a" * 254 + ".bc", [254, 2]),
    ("\U0001d41a" * 200, [127, 73]),
    ("1" * 300 + ",5", [255, 47]),
]


@pytest.mark.parametrize(("text", "expected"), TOKENIZER_CASES)
def test_tokenizer_follows_lucene_word_rules(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


@pytest.mark.parametrize(("text", "expected"), ANALYZER_CASES)
def test_analyzer_chain(text: str, expected: list[str]) -> None:
    assert Analyzer()(text) == expected


@pytest.mark.parametrize(("text", "lengths"), LONG_TOKEN_CASES)
def test_long_tokens_are_cut_like_lucenes_buffer(text: str, lengths: list[int]) -> None:
    assert [len(token) for token in tokenize(text)] == lengths


def test_max_token_length_setting_cuts_tokens() -> None:
    assert Analyzer(max_token_length=4)("abcdefghij") == ["abcd", "efgh", "ij"]


def test_stop_set_is_lucenes_33_english_words() -> None:
    assert len(LUCENE_ENGLISH_STOPWORDS) == 33
    assert {"the", "a", "with", "will", "such", "into"} <= LUCENE_ENGLISH_STOPWORDS
    assert not {"i", "you", "he", "from", "have"} & LUCENE_ENGLISH_STOPWORDS  # not in Lucene's short list


def test_porter_stem_rules_one_by_one() -> None:
    # One word per step of Lucene's PorterStemmer, including its departures from the 1980 paper.
    expected = {
        "sses": "ss", "caresses": "caress", "hopeful": "hope", "goodness": "good", "electrical": "electr",
        "formalize": "formal", "sensitivity": "sensit", "allowance": "allow", "adjustment": "adjust",
        "adoption": "adopt", "controlling": "control", "rolling": "roll", "filing": "file", "cement": "cement",
        "abli": "abli", "logi": "logi", "analogous": "analog", "yes": "ye", "y": "y", "syzygy": "syzygi",
        "\U0001d41a\U0001d41bs": "\U0001d41a\U0001d41b",  # above U+FFFF: stemmed as UTF-16 surrogate pairs
    }
    assert {word: porter_stem(word) for word in expected} == expected


def test_analyze_many_matches_one_by_one_and_shows_progress(capsys: pytest.CaptureFixture[str]) -> None:
    texts = [text for text, _ in TOKENIZER_CASES + ANALYZER_CASES]
    analyzer = Analyzer()
    assert analyzer.analyze_many(texts, progress=True) == [analyzer(text) for text in texts]
    assert "analyzing" in capsys.readouterr().err


def test_tokens_are_the_texts_own_characters_in_order() -> None:
    pieces = ["word", "Ünïcødé", "3.5", "a'b", " ", ", ", "-", "_", "\u4e2d", "\U0001f600", "x" * 140, "\u0301", "\n"]
    rng = random.Random(7)
    for _ in range(300):
        text = "".join(rng.choices(pieces, k=rng.randint(1, 12)))
        position = 0
        for token in tokenize(text):
            found = text.find(token, position)
            assert found >= position, (text, token)
            assert token.strip() == token and token
            position = found + len(token)


def test_settings_change_the_terms_and_the_fingerprint() -> None:
    default = Analyzer()
    unstemmed = Analyzer(stemmer="none")
    everything = Analyzer(stopwords=frozenset())
    assert default("The running dogs") == ["run", "dog"]
    assert unstemmed("The running dogs") == ["running", "dogs"]
    assert everything("The running dogs") == ["the", "run", "dog"]
    assert Analyzer(stopwords=["dogs"])("The running dogs") == ["the", "run"]
    fingerprints = {a.fingerprint for a in (default, unstemmed, everything, Analyzer(max_token_length=100))}
    assert len(fingerprints) == 4
    assert default.fingerprint == Analyzer().fingerprint and len(default.fingerprint) == 16


def test_fingerprint_is_the_same_in_another_process() -> None:
    code = "from tsqr.bm25.analysis import Analyzer; print(Analyzer().fingerprint)"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == Analyzer().fingerprint


def test_analyzer_is_frozen_and_hashable() -> None:
    analyzer = Analyzer()
    with pytest.raises(dataclasses.FrozenInstanceError):
        analyzer.stemmer = "none"  # type: ignore[misc]
    assert {analyzer: 1}[Analyzer()] == 1


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"stemmer": "snowball"}, ValueError, "unknown stemmer 'snowball'"),
        ({"max_token_length": 0}, ValueError, "max_token_length must be a positive int"),
        ({"stopwords": "the"}, TypeError, "stopwords must be a set of words"),
        ({"stopwords": {"the", 3}}, TypeError, "every stop word must be a str"),
    ],
)
def test_bad_settings_are_named(settings: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        Analyzer(**settings)


def test_bad_input_names_the_item() -> None:
    with pytest.raises(TypeError, match="expected text as str, got NoneType"):
        Analyzer()(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="item 1 is bytes"):
        Analyzer().analyze_many(["fine", b"bytes"])  # type: ignore[list-item]


def test_importing_stays_light() -> None:
    code = "import sys, tsqr.bm25.analysis; print(sorted({'regex', 'tqdm'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_pinned_regex_release_is_the_one_the_tokenizer_was_calibrated_against():
    from pathlib import Path

    from tsqr.bm25 import unicode_classes

    requirements = (Path(__file__).resolve().parents[1] / "requirements.txt").read_text().splitlines()
    assert f"regex=={unicode_classes.CALIBRATED_REGEX}" in requirements
    with pytest.warns(UserWarning, match=r"regex 1999\.1\.1 is installed.*calibrated against regex"):
        unicode_classes.warn_if_uncalibrated("1999.1.1")


SPAN_CASES = [
    "Why do cats purr? The cat's purring, measured at 25-150 Hz, isn't understood.",
    "Ⓜ is a letter and an emoji; 👩‍👩‍👧 is one family; e-mail me at x@y.com or visit https://a.b/c",
    "x" * 600 + " then short words after a token longer than Lucene's buffer",
    "日本語のテキスト and ελληνικά and العربية mixed in",
    "",
]


@pytest.mark.parametrize("text", SPAN_CASES)
def test_spans_are_the_analyzers_own_terms_at_their_offsets(text):
    analyzer = Analyzer()
    assert [text[start:end] for start, end in token_spans(text)] == tokenize(text)
    spans = analyzer.spans(text)
    assert [span.term for span in spans] == analyzer(text)
    assert all(analyzer(text[span.start:span.end]) == [span.term] for span in spans if span.end - span.start < 255)


def test_spans_agree_with_the_terms_on_every_demo_document():
    analyzer = Analyzer()
    documents = Path(__file__).resolve().parents[1] / "tsqr" / "data" / "demo" / "documents.jsonl"
    for line in documents.read_text().splitlines():
        content = json.loads(line)["content"]
        assert [span.term for span in analyzer.spans(content)] == analyzer(content)
