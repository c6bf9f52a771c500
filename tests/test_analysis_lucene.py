"""tsqr.bm25.analysis against the reference itself: pyserini's Lucene analyzer, run in Java on the same text.

BRIGHT's BM25 numbers come from pyserini's default analyzer, so any term tsqr makes differently is a bug.
These tests need pyserini, pyjnius and a Java 17 runtime (skipped with the reason when missing, a failure
under TSQR_REQUIRE_REFERENCES=1); the real BRIGHT part also needs ../shared/data. One JVM serves the whole
module (a process can only start one).
"""
from __future__ import annotations

import gzip
import json
import os
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import missing_reference, require_reference

from tests.test_analysis import ANALYZER_CASES, LONG_TOKEN_CASES, TOKENIZER_CASES
from tsqr.bm25.analysis import Analyzer, porter_stem
from tsqr.bm25.tokenizer import tokenize
from tsqr.bm25.unicode_classes import LUCENE_CLASS_OVERRIDES

pytestmark = pytest.mark.slow  # starts a JVM (pyserini's Lucene)

JAVA_17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")


class Lucene(NamedTuple):
    analyze: Callable[[str], list[str]]  # pyserini's default: Anserini's DefaultEnglishAnalyzer
    tokenize: Callable[[str], list[str]]  # StandardTokenizer alone
    stem: Callable[[str], str]  # PorterStemFilter alone, on one word
    tokenize_cut: Callable[[str, int], list[str]]  # StandardTokenizer with another maxTokenLength


@pytest.fixture(scope="module")
def lucene() -> Lucene:
    """The reference analyzers. Missing parts (no Java, pyserini or pyjnius not installed) skip, or fail under
    TSQR_REQUIRE_REFERENCES=1; a reference that is installed but breaks is an error, never a skip."""
    if not os.environ.get("JAVA_HOME") and JAVA_17.is_dir():
        os.environ["JAVA_HOME"] = str(JAVA_17)
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        missing_reference("no Java runtime for pyserini's Lucene (install openjdk-17 or set JAVA_HOME)")
    # pyserini sets the classpath when imported, so it must come before jnius starts the JVM.
    analysis = require_reference("pyserini.analysis", "pyserini with pyjnius (pip install pyjnius; "
                                                      "pip install --no-deps pyserini==0.22.1)")
    from jnius import autoclass

    custom = autoclass("org.apache.lucene.analysis.custom.CustomAnalyzer")
    default = analysis.Analyzer(analysis.get_lucene_analyzer())
    tokenizer = analysis.Analyzer(custom.builder().withTokenizer("standard").build())
    stemmer = analysis.Analyzer(custom.builder().withTokenizer("keyword").addTokenFilter("porterStem").build())
    default.analyze("warm up")

    def tokenize_cut(text: str, max_token_length: int) -> list[str]:
        builder = custom.builder().withTokenizer("standard", "maxTokenLength", str(max_token_length))
        return list(analysis.Analyzer(builder.build()).analyze(text))

    return Lucene(
        analyze=lambda text: list(default.analyze(text)),
        tokenize=lambda text: list(tokenizer.analyze(text)),
        stem=lambda word: "".join(stemmer.analyze(word)),
        tokenize_cut=tokenize_cut,
    )


def _disagreements(texts: list[str], ours: Callable[[str], list[str]], theirs: Callable[[str], list[str]]):
    return [(text, ours(text), theirs(text)) for text in texts if ours(text) != theirs(text)]


def test_tricky_tables_agree_with_lucene(lucene: Lucene) -> None:
    texts = [text for text, _ in TOKENIZER_CASES + ANALYZER_CASES + LONG_TOKEN_CASES]
    assert _disagreements(texts, tokenize, lucene.tokenize) == []
    assert _disagreements(texts, Analyzer(), lucene.analyze) == []


# Pieces that exercise every rule of the grammar: joins between letters/digits, Hebrew quotes, katakana,
# South-East Asian runs, ideographs, emoji sequences (ZWJ, keycaps, flags, tags, skin tones), attached marks,
# characters Lucene's older Unicode tables class differently, and runs long enough to hit the 255-char buffer.
FUZZ_PIECES = [
    "a", "b", "S", "Y", "ing", "ed", "ies", "'s", "\u2019s", "1", "2", ".", ",", ":", ";", "'", '"', "_", " ",
    "-", "@", "/", "#\ufe0f\u20e3", "1\ufe0f\u20e3", "*\u20e3", "\U0001f1fa\U0001f1f8", "\U0001f1ec",
    "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0001f44d\U0001f3fd", "\u2764\ufe0f", "\u263a", "\ufe0e", "\ufe0f", "\u20e3", "\u00a9", "\u2122", "\u303d", "\u200d", "\u200b",
    "\u0e44\u0e17\u0e22", "\u0e31", "\u30ab\u30bf", "\u30fc", "\u3072\u3089", "\u4e2d\u6587", "\u3005", "\ud55c\uae00",
    "\u03b1", "\u03a3", "\u0130", "\u00df", "\u01c4", "\u0661", "\u066b", "\u060c", "\u2044", "\uff0c", "\uff0e",
    "\uff1a", "\uff11", "\U0001d7d9", "\U0001d400", "\U00020000", "\u0301", "\u00ad", "\u05d0", "\u05f4", "\u00b7",
    "\u2027", "\u309b", "\u24c2", "\u2139", "\u00b8", "\u2605", "\u0600", "\ufe10", "\u19da", "\U0001f3fb", "x" * 130,
]


def test_random_strings_agree_with_lucene(lucene: Lucene) -> None:
    rng = random.Random(2025)
    texts = ["".join(rng.choices(FUZZ_PIECES, k=rng.randint(1, 10))) for _ in range(3000)]
    assert _disagreements(texts, tokenize, lucene.tokenize)[:5] == []
    assert _disagreements(texts, Analyzer(), lucene.analyze)[:5] == []


def test_other_token_length_limits_agree_with_lucene(lucene: Lucene) -> None:
    rng = random.Random(31)
    texts = ["".join(rng.choices(FUZZ_PIECES, k=rng.randint(1, 8))) for _ in range(200)]
    for limit in (1, 2, 3, 7, 40):
        text = "\n".join(texts)
        assert tokenize(text, limit) == lucene.tokenize_cut(text, limit), limit


def _probe(char: str) -> str:
    """One line that shows how a character behaves: inside, before and after letters, digits and katakana."""
    return f"a{char}b 1{char}2 {char}x {char} x{char} {char}{char} A{char}'s \u30ab{char}\u30ab a{char}1 1{char}a"


def _code_points(hex_ranges: str) -> Iterator[int]:
    for span in hex_ranges.split():
        first, _, last = span.partition("-")
        yield from range(int(first, 16), int(last or first, 16) + 1)


def test_character_classes_agree_with_lucene(lucene: Lucene) -> None:
    """Every code point whose class tsqr corrects to Lucene's, and a sample of all others, behave alike."""
    corrected = {point for spans in LUCENE_CLASS_OVERRIDES.values() for point in _code_points(spans)}
    rng = random.Random(9)
    sample = rng.sample([point for point in range(0x110000) if not 0xD800 <= point < 0xE000], 40_000)
    points = sorted(corrected | set(sample) | set(range(0x3000)))
    differing = []
    for start in range(0, len(points), 1000):
        block = points[start : start + 1000]
        text = "\n".join(_probe(chr(point)) for point in block)
        if tokenize(text) != lucene.tokenize(text):
            differing += [hex(point) for point in block if tokenize(_probe(chr(point))) != lucene.tokenize(_probe(chr(point)))]
    assert differing == []


def _generated_words() -> list[str]:
    """Stems crossed with every suffix Porter's rules look at, plus random letter strings."""
    stems = ["rel", "condit", "hop", "fil", "control", "analog", "sens", "agr", "ab", "b", "y", "sky", "happ",
             "gener", "ration", "digit", "formal", "adjust", "valen", "pon", "cat", "mess", "tr", "bio"]
    suffixes = ["", "s", "es", "sses", "ies", "ss", "ed", "eed", "ing", "y", "ational", "tional", "enci", "anci",
                "izer", "bli", "alli", "entli", "eli", "ousli", "ization", "ation", "ator", "alism", "iveness",
                "fulness", "ousness", "aliti", "iviti", "biliti", "logi", "icate", "ative", "alize", "iciti", "ical",
                "ful", "ness", "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent",
                "sion", "tion", "ion", "ou", "ism", "ate", "iti", "ous", "ive", "ize", "e", "ll", "at", "bl", "iz"]
    words = [stem + suffix for stem in stems for suffix in suffixes]
    rng = random.Random(5)
    letters = "aeiouyysssedinglbtcrzx"
    words += ["".join(rng.choices(letters, k=rng.randint(1, 12))) for _ in range(4000)]
    return sorted(set(words))


def test_porter_stemmer_agrees_with_lucene(lucene: Lucene) -> None:
    words = _generated_words()
    assert [(w, porter_stem(w), lucene.stem(w)) for w in words if porter_stem(w) != lucene.stem(w)] == []


def _bright_texts(shared_data: Path) -> list[str]:
    """Every query, BRIGHT reasoning and gold answer, and every TongSearch QR reasoning."""
    texts = []
    for path in sorted((shared_data / "bright" / "anserini-tools" / "topics").glob("*-original.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                texts += [row[field] for field in ("query", "reasoning", "gold_answer") if row.get(field)]
    for path in sorted((shared_data / "tongsearch").glob("*.json")):
        texts += json.loads(path.read_text(encoding="utf-8")).values()
    return texts


def test_all_real_bright_text_agrees_with_lucene(lucene: Lucene, shared_data: Path) -> None:
    texts = _bright_texts(shared_data)
    analyzer = Analyzer()
    ours, theirs = analyzer.analyze_many(texts), [lucene.analyze(text) for text in texts]
    differing = [(text[:80], mine[:20], reference[:20]) for text, mine, reference in zip(texts, ours, theirs) if mine != reference]
    terms = sum(map(len, theirs))
    print(f"\n{len(texts) - len(differing)}/{len(texts)} BRIGHT texts ({terms} Lucene terms) analyzed identically")
    assert differing[:5] == []
    words = sorted({word for text in texts for word in map(str.lower, tokenize(text)) if word.isalpha()})
    assert [(w, porter_stem(w), lucene.stem(w)) for w in words if porter_stem(w) != lucene.stem(w)][:10] == []


# The inputs that once took quadratic time (tsqr.bm25.tokenizer now cuts and scans them in linear time): long
# runs of connectors, mid-word marks, joiners and attached marks, alone or woven with letters and digits, and
# tokens longer than Lucene's 255-char buffer, whose cut points the scan must find exactly as Lucene does.
ADVERSARIAL_UNITS = [
    "_", ".", "'", ",", ":", ";", '"', "a", "Z", "1", "9", "\u05d0", "\u30ab", "\u0e44", "\u4e2d", "\u200d",
    "\u0301", "#", "*", "\ufe0f", "\u20e3", "\U0001f468", "\U0001f3fb", "\u2764", "\U0001f1fa", "\u24c2",
    "\U0001d400", "\U0001d165", "\u203f", "\uff3f", "\u00ad", " ", "-",
]


def _adversarial_texts(seed: int, count: int) -> list[str]:
    """Each text is one to three long runs, each a short random motif repeated to 100-1,200 characters."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        runs = []
        for _ in range(rng.randint(1, 3)):
            motif = "".join(rng.choices(ADVERSARIAL_UNITS, k=rng.randint(1, 4)))
            runs.append(motif * (rng.randint(100, 1200) // len(motif) + 1))
        texts.append(rng.choice(["", " ", "a", "_"]).join(runs))
    return texts


def _buffer_edge_texts() -> list[str]:
    """Runs whose length puts a token's end or start right at the edge of Lucene's 255-char buffer."""
    texts = []
    for length in (125, 126, 127, 128, 253, 254, 255, 256, 257, 300, 510, 511):
        texts += ["_" * length + "a", "a" * length + "_" * 10 + "b", "\u200d" * length + "\U0001f468",
                  "\U0001f468\u200d" * (length // 2) + "\U0001f469", "1," * (length // 2) + "2", "a." * (length // 2),
                  "\u05d0'" * (length // 2), "\U0001d400" * length, "_\U0001d165" * (length // 2) + "x",
                  "a" + "\u0301" * length + ".b", "#" + "\u200d" * length + "\u20e3", "\u24c2" * length]
    return texts


def test_adversarial_runs_agree_with_lucene(lucene: Lucene) -> None:
    texts = _buffer_edge_texts() + _adversarial_texts(seed=17, count=600)
    assert [text for text in texts if tokenize(text) != lucene.tokenize(text)][:3] == []
    assert [text for text in texts if Analyzer()(text) != lucene.analyze(text)][:3] == []


def test_adversarial_runs_agree_with_lucene_at_other_token_length_limits(lucene: Lucene) -> None:
    texts = _buffer_edge_texts()[::3] + _adversarial_texts(seed=23, count=60)
    for limit in (1, 2, 7, 40, 128, 1000):
        assert [text for text in texts if tokenize(text, limit) != lucene.tokenize_cut(text, limit)][:3] == [], limit


def test_the_inputs_that_were_quadratic_agree_with_lucene(lucene: Lucene) -> None:
    """The issue's examples at full size: 40,000 "_", mixed runs of 20,000, one token of 100,000 letters."""
    texts = ["_" * 40_000, "_a." * 7_000, "1a," * 7_000, "a'" * 10_000, "\u200d" * 20_000 + "\U0001f468",
             "x" * 100_000, "\U0001f468\u200d" * 10_000]
    for text in texts:
        assert tokenize(text) == lucene.tokenize(text), text[:12]
    assert Analyzer()(texts[-2]) == lucene.analyze(texts[-2])
