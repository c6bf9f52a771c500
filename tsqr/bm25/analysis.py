"""Lucene's default English analysis in pure Python, so tsqr's BM25 sees the same terms BRIGHT's did.

Usage:
    from tsqr.bm25.analysis import Analyzer
    Analyzer()("The dogs' owner's bikes")        # -> ['dog', 'owner', 'bike']
    Analyzer().analyze_many(texts, progress=True)

BRIGHT's official BM25 and TongSearch QR's evaluation tokenize with pyserini's default analyzer (Anserini's
DefaultEnglishAnalyzer). Any difference in terms moves nDCG@10, so this module reproduces that chain exactly,
in its order, without a JVM:

1. StandardTokenizer (tsqr.bm25.tokenizer): Unicode UAX#29 words as Lucene's JFlex grammar cuts them.
2. EnglishPossessiveFilter: a trailing 's, ’s or ＇s (either case) is dropped.
3. LowerCaseFilter: Java's per-code-point lower case (so no Greek final sigma, 'İ' -> 'i').
4. StopFilter: Lucene's 33 English stop words.
5. PorterStemFilter: Lucene's port of Martin Porter's own C release, which is neither the 1980 paper
   (it has 'bli'->'ble' and 'logi'->'log') nor Porter2/Snowball English; words under 3 UTF-16 units stay as is.
   PyStemmer's "porter" differs from it on 81 of the 25,576 distinct alphabetic words of BRIGHT's queries,
   reasonings and answers and TongSearch's reasonings (ecology: Lucene "ecolog", PyStemmer "ecologi";
   impossibly: "imposs" against "impossibli").

Each distinct token is mapped to its term once and remembered, so after the first documents analysis costs
little more than tokenizing. tests/test_analysis_lucene.py checks all of this against pyserini's Lucene.
"""
from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from tsqr.bm25.tokenizer import LUCENE_MAX_TOKEN_LENGTH, token_spans, tokenize

__all__ = ["Analyzer", "LUCENE_ENGLISH_STOPWORDS", "porter_stem"]

# Bump when any step below changes its output: it is part of every fingerprint, so stale BM25 indexes rebuild.
IMPLEMENTATION_VERSION = "lucene-9-english-1"

#: Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, the stop set of Anserini's default analyzer.
LUCENE_ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
    "they this to was will with".split()
)

STEMMERS = ("porter", "none")
_MAX_CACHED_TERMS = 2_000_000  # raw token -> term memo; cleared when larger, to bound memory on huge corpora

# ---------------------------------------------------------------------------------------------------------------
# 2-3. EnglishPossessiveFilter and LowerCaseFilter (1. is tsqr.bm25.tokenizer; 4. is a set lookup)
# ---------------------------------------------------------------------------------------------------------------


def _strip_possessive(token: str) -> str:
    if len(token) >= 2 and token[-1] in "sS" and token[-2] in "'\u2019\uFF07":
        return token[:-2]
    return token


def _java_lower(token: str) -> str:
    """Lower case one code point at a time, as java.lang.Character.toLowerCase does.

    Python's str.lower() applies context (word-final 'Σ' -> 'ς') and full mappings ('İ' -> 'i' + U+0307);
    Lucene does neither.
    """
    if token.isascii() or ("\u03a3" not in token and "\u0130" not in token):
        return token.lower()
    return "".join("i" if char == "\u0130" else char.lower() for char in token)


# ---------------------------------------------------------------------------------------------------------------
# 5. Porter stemmer, as Lucene's org.apache.lucene.analysis.en.PorterStemmer behaves
# ---------------------------------------------------------------------------------------------------------------

# Rules keyed by the suffix's last letter; within one key the order is Lucene's (the first suffix that matches
# decides, even when its measure condition then fails), and suffixes that can match one word share that letter.
_DOUBLE_SUFFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    "l": (("ational", "ate"), ("tional", "tion")),
    "i": (("enci", "ence"), ("anci", "ance"), ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"),
          ("ousli", "ous"), ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"), ("logi", "log")),
    "r": (("izer", "ize"), ("ator", "ate")),
    "n": (("ization", "ize"), ("ation", "ate")),
    "m": (("alism", "al"),),
    "s": (("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous")),
}
_DERIVATIONAL_SUFFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    "e": (("icate", "ic"), ("ative", ""), ("alize", "al")),
    "i": (("iciti", "ic"),),
    "l": (("ical", "ic"), ("ful", "")),
    "s": (("ness", ""),),
}
_RESIDUAL_SUFFIXES: dict[str, tuple[str, ...]] = {
    "l": ("al",), "e": ("ance", "ence", "able", "ible", "ate", "ive", "ize"), "r": ("er",), "c": ("ic",),
    "t": ("ant", "ement", "ment", "ent"), "n": ("ion",), "u": ("ou",), "m": ("ism",), "i": ("iti",),
    "s": ("ous",),
}


def _shape(word: str) -> str:
    """'c'/'v' per letter: a, e, i, o, u are vowels; y is a vowel after a consonant; anything else consonant."""
    shape = []
    consonant = False
    for index, char in enumerate(word):
        if char in "aeiou":
            consonant = False
        elif char == "y":
            consonant = index == 0 or not consonant
        else:
            consonant = True
        shape.append("c" if consonant else "v")
    return "".join(shape)


def _measure(stem: str) -> int:
    """Porter's m: the number of vowel-run -> consonant-run transitions in the stem."""
    return _shape(stem).count("vc")


def _ends_cvc(word: str) -> bool:
    """consonant-vowel-consonant at the end, the last not w, x or y (hop -> hope, but not snow -> snowe)."""
    return len(word) >= 3 and _shape(word).endswith("cvc") and word[-1] not in "wxy"


def _ends_double_consonant(word: str) -> bool:
    return len(word) >= 2 and word[-1] == word[-2] and _shape(word)[-1] == "c"


def _step_plural_and_participle(word: str) -> str:
    if word.endswith("s"):
        if word.endswith("sses"):
            word = word[:-2]
        elif word.endswith("ies"):
            word = word[:-2]
        elif word[-2] != "s":
            word = word[:-1]
    if word.endswith("eed"):
        return word[:-1] if _measure(word[:-3]) > 0 else word
    for suffix in ("ed", "ing"):
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            if "v" not in _shape(stem):
                return word
            if stem.endswith(("at", "bl", "iz")):
                return stem + "e"
            if _ends_double_consonant(stem):
                return stem if stem[-1] in "lsz" else stem[:-1]
            if _measure(stem) == 1 and _ends_cvc(stem):
                return stem + "e"
            return stem
    return word


def _step_terminal_y(word: str) -> str:
    if word.endswith("y") and "v" in _shape(word[:-1]):
        return word[:-1] + "i"
    return word


def _replace_suffix(word: str, rules: dict[str, tuple[tuple[str, str], ...]]) -> str:
    for suffix, replacement in rules.get(word[-1], ()):
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            return stem + replacement if _measure(stem) > 0 else word
    return word


def _step_residual(word: str) -> str:
    for suffix in _RESIDUAL_SUFFIXES.get(word[-1], ()):
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            if suffix == "ion" and not stem.endswith(("s", "t")):
                continue
            return stem if _measure(stem) > 1 else word
    return word


def _step_final_e_and_ll(word: str) -> str:
    if word.endswith("e"):
        measure = _measure(word)
        if measure > 1 or (measure == 1 and not _ends_cvc(word[:-1])):
            word = word[:-1]
    if word.endswith("ll") and _measure(word) > 1:
        word = word[:-1]
    return word


def porter_stem(word: str) -> str:
    """Stem one lower-case word exactly as Lucene's PorterStemFilter does.

    Lucene works on UTF-16 chars, which differs from code points only for characters above U+FFFF: those are
    stemmed as their surrogate pairs (each pair counts as two consonants) and joined back afterwards.
    """
    wide = not word.isascii() and any(ord(char) > 0xFFFF for char in word)
    if wide:
        word = "".join(map(chr, array("H", word.encode("utf-16-le"))))
    if len(word) > 2:
        word = _step_plural_and_participle(word)
        word = _step_terminal_y(word)
        word = _replace_suffix(word, _DOUBLE_SUFFIXES)
        word = _replace_suffix(word, _DERIVATIONAL_SUFFIXES)
        word = _step_residual(word)
        word = _step_final_e_and_ll(word)
    if wide:
        word = word.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    return word


# ---------------------------------------------------------------------------------------------------------------
# The analyzer
# ---------------------------------------------------------------------------------------------------------------

_TERM_CACHES: dict[tuple[frozenset[str], str], dict[str, str]] = {}


class TermSpan(NamedTuple):
    """A word of a text (character offsets) and the index term it analyzes to."""

    start: int
    end: int
    term: str


@dataclass(frozen=True)
class Analyzer:
    """Text -> index terms. The defaults are pyserini's `get_lucene_analyzer()` (Anserini's default English).

    stopwords: terms dropped after lower-casing (an empty set keeps everything);
    stemmer: "porter" (Lucene's) or "none";
    max_token_length: Lucene StandardTokenizer's limit, in UTF-16 chars; longer tokens are cut into pieces.
    """

    stopwords: frozenset[str] = LUCENE_ENGLISH_STOPWORDS
    stemmer: str = "porter"
    max_token_length: int = LUCENE_MAX_TOKEN_LENGTH

    def __post_init__(self) -> None:
        if isinstance(self.stopwords, str) or not isinstance(self.stopwords, Iterable):
            raise TypeError(f"Analyzer: stopwords must be a set of words, got {type(self.stopwords).__name__}")
        stopwords = frozenset(self.stopwords)
        if not all(isinstance(word, str) for word in stopwords):
            raise TypeError("Analyzer: every stop word must be a str")
        object.__setattr__(self, "stopwords", stopwords)
        if self.stemmer not in STEMMERS:
            raise ValueError(f"Analyzer: unknown stemmer {self.stemmer!r}; choose one of {', '.join(STEMMERS)}")
        if not isinstance(self.max_token_length, int) or self.max_token_length < 1:
            raise ValueError(f"Analyzer: max_token_length must be a positive int, got {self.max_token_length!r}")

    @property
    def fingerprint(self) -> str:
        """Stable id of these settings and this implementation, for BM25 index cache keys."""
        settings = "\n".join(
            [IMPLEMENTATION_VERSION, self.stemmer, str(self.max_token_length), " ".join(sorted(self.stopwords))]
        )
        return hashlib.sha256(settings.encode("utf-8")).hexdigest()[:16]

    def __call__(self, text: str) -> list[str]:
        """The terms of one text, in order, stop words removed."""
        if not isinstance(text, str):
            raise TypeError(f"Analyzer: expected text as str, got {type(text).__name__}")
        return self._terms(text, self._term_cache())

    def analyze_many(self, texts: Sequence[str], progress: bool = False) -> list[list[str]]:
        """The terms of each text; `progress` shows a tqdm bar (worth it from ~10k documents)."""
        cache = self._term_cache()
        if progress:
            from tqdm.auto import tqdm

            texts = tqdm(texts, desc="analyzing", unit="doc")
        results = []
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"Analyzer.analyze_many: item {index} is {type(text).__name__}, expected str")
            results.append(self._terms(text, cache))
        return results

    def spans(self, text: str) -> list[TermSpan]:
        """Each word of `text` that becomes a term, with its character offsets: the words BM25 counted, for
        pointing at them (highlighting) without a second tokenizer that could disagree with this one."""
        cache = self._term_cache()
        found = []
        for start, end in token_spans(text, self.max_token_length):
            token = text[start:end]
            term = cache.get(token)
            if term is None:
                term = cache[token] = self._term(token)
            if term:
                found.append(TermSpan(start, end, term))
        return found

    def _terms(self, text: str, cache: dict[str, str]) -> list[str]:
        tokens = tokenize(text, self.max_token_length)
        try:
            # Stop words are cached as "", which filter(None, ...) drops: the whole loop stays in C.
            return list(filter(None, map(cache.__getitem__, tokens)))
        except KeyError:
            if len(cache) > _MAX_CACHED_TERMS:
                cache.clear()
            cache.update({token: self._term(token) for token in set(tokens).difference(cache)})
            return list(filter(None, map(cache.__getitem__, tokens)))

    def _term(self, token: str) -> str:
        """Possessive, lower case, stop word, stem: Anserini's filter order. "" means dropped."""
        word = _java_lower(_strip_possessive(token))
        if word in self.stopwords:
            return ""
        return porter_stem(word) if self.stemmer == "porter" else word

    def _term_cache(self) -> dict[str, str]:
        key = (self.stopwords, self.stemmer)
        cache = _TERM_CACHES.get(key)
        if cache is None:
            cache = _TERM_CACHES[key] = {}
        return cache
