"""Lucene's StandardTokenizer in pure Python: UAX#29 words exactly as Lucene 9's JFlex grammar cuts them.

Usage:
    from tsqr.bm25.tokenizer import tokenize
    tokenize("e-mail foo@bar.com: C++ isn't 3.14")   # -> ['e', 'mail', 'foo', 'bar.com', 'C', "isn't", '3.14']

tsqr.bm25.analysis builds its Lucene-compatible Analyzer on this; it is a module of its own because matching
Lucene character for character takes a grammar, Unicode tables and their corrections that the filters after
it never need to know about.

What Lucene does (StandardTokenizerImpl.jflex): letters and digits join into words, with "." "'" ":" between
two letters and "." "," ";" "'" between two digits (so "3.14", "1,000", "a.b.c" and "isn't" stay whole but
"foo@bar" and "e-mail" split); "_" glues anything; accents and other Extend/Format characters stick to what
precedes them; each CJK ideograph and hiragana is its own token, katakana runs and Thai/Lao/Myanmar/Khmer runs
stay whole; emoji sequences are tokens; everything else separates tokens and is dropped. A token longer than
255 UTF-16 chars comes out in 255-char pieces, as Lucene's scanner buffer holds no more.

How: tsqr.bm25.unicode_classes turns the Unicode properties involved into plain `re` character classes,
corrected where Lucene's older tables differ; the grammar below is written over them and compiled into one
pattern. Tokenizing takes time linear in the text whatever it holds (see `_spans`).
"""
from __future__ import annotations

import functools
import re
from typing import NamedTuple

from tsqr.bm25.unicode_classes import character_classes

__all__ = ["LUCENE_MAX_TOKEN_LENGTH", "token_spans", "tokenize"]

LUCENE_MAX_TOKEN_LENGTH = 255


class _Patterns(NamedTuple):
    token: re.Pattern[str]  # any token (tried at every position by findall)
    emoji: re.Pattern[str]  # the emoji rule alone, for letters that are also emoji
    letter_emoji: re.Pattern[str]  # finds those letters (Ⓜ, ℹ, ...)
    starts: re.Pattern[str]  # a character a token can begin with
    inside: str  # the class of characters some token can hold
    connector: re.Pattern[str]  # a connector character ("_")
    connectors: re.Pattern[str]  # a run of them with their attached marks
    other_starts: re.Pattern[str]  # a character that can begin a token and is no connector
    joiners: re.Pattern[str]  # a run of zero-width joiners


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")



@functools.lru_cache(maxsize=None)
def _patterns(astral: bool) -> _Patterns:
    """Build the patterns once per process, on first use (about half a second).

    A class confined to the Basic Multilingual Plane compiles to a bitmap, several times faster than one that
    holds characters above U+FFFF, so texts without such characters (nearly all) get BMP-only patterns.
    JFlex takes the longest match over all rules while a backtracking regex takes the first alternative that
    succeeds; alternatives are ordered (word, emoji, South-East Asian run, single ideograph) so that the
    first is the longest, except for letters that are also emoji, which `tokenize` settles itself.

    Every repetition that a later part could never take back from is possessive (`*+`, `++`): a connector
    run is followed by a letter or digit, never by another connector, and so on. Then a match attempt reads
    each character once; it costs time in proportion to the token it finds, or to the run of connectors or
    joiners it reads before failing (`_scan` bounds those).
    """
    spans = [(0, 0xD800), (0xE000, 0x10000)]
    if astral:  # planes 1-3 and 14 hold every character Unicode has assigned outside private use
        spans += [(0x10000, 0x40000), (0xE0000, 0xE1000)]
    universe = "".join("".join(map(chr, range(start, end))) for start, end in spans)
    sets = character_classes(universe)
    attached = f"{sets['attach']}*+"  # possessive: a look-ahead after a letter must not peel its accents off

    def unit(name: str) -> str:
        return f"(?:{sets[name]}{attached})"

    letter, hebrew, number, katakana = unit("letter"), unit("hebrew"), unit("number"), unit("katakana")
    mid_letter, mid_number, connector = unit("mid_letter"), unit("mid_number"), unit("connector")
    # A Hebrew letter that directly follows a letter or connector, and that a quote would join by the Hebrew
    # rules (WB7a-c), is left to start a piece of its own: otherwise the run of letters would stop short of
    # the quote that JFlex's longest match includes. After a mid-word mark no piece can start: no such care.
    next_letter = f"(?:{unit('other_letter')}|{hebrew}(?!'{attached}(?!{sets['letter']})|\"{attached}{hebrew}))"
    piece = (
        f"{katakana}(?:{connector}*+{katakana})*"
        f"|(?:{hebrew}(?:'{attached}|\"{attached}{hebrew})"
        f"|{number}(?:(?:{connector}*+|{mid_number}){number})*"
        f"|{letter}(?:{connector}*+{next_letter}|{mid_letter}{letter})*)+"
    )
    word = f"{connector}*+(?:{piece})(?:{connector}++(?:{piece}))*{connector}*+"

    # Emoji (Unicode TR#51 emoji_sequence, Lucene's EMOJI rule). A ZWJ that leads into another emoji is left
    # for the sequence rather than swallowed as an attached character, which is what longest match does.
    emoji_attached = f"(?:{sets['attach_to_emoji']}|\u200d++(?!{sets['emoji_after_zwj']}))*"
    keycap_attached = f"(?:{sets['attach_to_emoji']}|\u200d)*"
    # Skin-tone modifiers are Extend characters, so the first alternative already covers base + modifier;
    # the second is for a modifier on its own.
    one_emoji = (
        f"\u200d*+{sets['emoji']}{emoji_attached}\ufe0f?"
        f"|(?:\u200d*+{sets['modifier_base']}{emoji_attached})?{sets['modifier']}{emoji_attached}"
    )
    emoji = (
        f"(?:{one_emoji})(?:[\U000e0020-\U000e007e]+\U000e007f|(?:\u200d(?:{one_emoji}))*)"
        f"|[0-9#*]{keycap_attached}\ufe0f?\u20e3{keycap_attached}"
        f"|{unit('regional')}{{2}}"
    )
    south_east_asian = f"{unit('south_east_asian')}++"
    # Most tokens are a plain run of letters/digits that nothing can extend; matching those first with one
    # character class, before the general grammar, makes the tokenizer several times faster. The general
    # grammar is tried only where a token can start: one class test instead of a dozen failing alternatives
    # at every space and punctuation mark.
    plain = f"{sets['plain']}++(?!{sets['continues']}|{sets['joins']}{attached}{sets['alphanumeric']})"
    general = f"{word}|{emoji}|{south_east_asian}|{unit('single')}"
    return _Patterns(
        token=re.compile(f"{plain}|(?={sets['starts']})(?:{general})"),
        emoji=re.compile(emoji),
        letter_emoji=re.compile(sets["letter_emoji"]),
        starts=re.compile(sets["starts"]),
        inside=sets["inside"],
        connector=re.compile(sets["connector"]),
        connectors=re.compile(f"{connector}++"),
        other_starts=re.compile(f"(?!{sets['connector']}){sets['starts']}"),
        joiners=re.compile("\u200d++"),
    )


@functools.lru_cache(maxsize=None)
def _long_runs(astral: bool, length: int) -> re.Pattern[str]:
    """Finds each maximal run of at least `length` characters that tokens can hold (each run is read once:
    inside a run the look-behind fails at once)."""
    inside = _patterns(astral).inside
    return re.compile(f"(?<!{inside}){inside}{{{length},}}")


def tokenize(text: str, max_token_length: int = LUCENE_MAX_TOKEN_LENGTH) -> list[str]:
    """Lucene StandardTokenizer tokens of `text`, original case kept."""
    astral = not text.isascii() and _ASTRAL.search(text) is not None
    if astral and max_token_length < 2:
        text = _before_first_astral(text)
    patterns = _patterns(astral)
    if _has_no_long_run(astral, text, max_token_length) and not _has_letter_emoji(patterns, text):
        return patterns.token.findall(text)
    return [text[start:end] for start, end in _spans(patterns, astral, text, max_token_length)]


def token_spans(text: str, max_token_length: int = LUCENE_MAX_TOKEN_LENGTH) -> list[tuple[int, int]]:
    """The (start, end) character offsets of `tokenize`'s tokens: the same tokens, for callers that must point
    at them in the text (highlighting). Kept beside `tokenize` so both follow one grammar."""
    astral = not text.isascii() and _ASTRAL.search(text) is not None
    if astral and max_token_length < 2:
        text = _before_first_astral(text)
    return _spans(_patterns(astral), astral, text, max_token_length)


def _before_first_astral(text: str) -> str:
    """What Lucene reads with a buffer of one UTF-16 char: its stream ends at the first character above U+FFFF,
    which takes two."""
    return text[: _ASTRAL.search(text).start()]


def _short_run_limit(max_token_length: int) -> int:
    """Runs shorter than this fit Lucene's buffer even in UTF-16 (two units a character at most)."""
    return max_token_length // 2 + 1


def _has_no_long_run(astral: bool, text: str, max_token_length: int) -> bool:
    return _long_runs(astral, _short_run_limit(max_token_length)).search(text) is None


def _has_letter_emoji(patterns: _Patterns, text: str) -> bool:
    return not text.isascii() and patterns.letter_emoji.search(text) is not None


def _spans(patterns: _Patterns, astral: bool, text: str, max_token_length: int) -> list[tuple[int, int]]:
    """Token spans in time linear in the text, whatever it holds.

    findall alone tries the grammar at every position, and a failed try may read far ahead: on a run of
    10,000 "_" each position reads the rest of the run, 50 million steps. So the text is cut at characters no
    token holds (no match crosses them, so the pieces are independent): runs shorter than half the token
    length limit go to findall, whose tries then read within the run; longer runs, which Lucene's buffer cuts,
    go to `_scan`, which reads at most one buffer from each position. Letters that are also emoji need
    `_scan` anywhere.
    """
    if _has_letter_emoji(patterns, text):
        return _scan(patterns, astral, text, 0, len(text), max_token_length)
    spans: list[tuple[int, int]] = []
    position = 0
    for run in _long_runs(astral, _short_run_limit(max_token_length)).finditer(text):
        spans += (found.span() for found in patterns.token.finditer(text, position, run.start()))
        spans += _scan(patterns, astral, text, run.start(), run.end(), max_token_length)
        position = run.end()
    spans += (found.span() for found in patterns.token.finditer(text, position))
    return spans


def _scan(patterns: _Patterns, astral: bool, text: str, start: int, stop: int,
          max_token_length: int) -> list[tuple[int, int]]:
    """The tokens of text[start:stop] one at a time, as Lucene's scanner finds them: at each position the
    longest match that fits its buffer of `max_token_length` UTF-16 chars (characters, unless the text is
    `astral`), the next try right after it.

    A letter that is also an emoji (Ⓜ) starts both a word and an emoji sequence: JFlex keeps the longer.
    Each try reads at most one buffer, and no position is tried twice. Where a try reads far and fails (a run
    of "_" or of zero-width joiners), `_failing_until` tells which later positions would fail the same way,
    and they are not tried: Lucene's scanner spends a buffer's length on each, this scan nothing.
    """
    spans: list[tuple[int, int]] = []
    position = start
    connectors_fail_until = start  # a connector before this position begins no token
    while (candidate := patterns.starts.search(text, position, stop)) is not None:
        begin = candidate.start()
        if begin < connectors_fail_until and patterns.connector.match(text, begin, begin + 1):
            position = _next_other_start(patterns, text, begin, connectors_fail_until)
            continue
        window = min(stop, _window_end(text, begin, max_token_length) if astral else begin + max_token_length)
        found = patterns.token.match(text, begin, window)
        if found is None:
            if text[begin] == "\u200d":
                position = _failing_until(patterns.joiners, text, begin, window, stop, max_token_length)
            elif patterns.connector.match(text, begin, begin + 1):
                connectors_fail_until = _failing_until(patterns.connectors, text, begin, window, stop,
                                                       max_token_length)
                position = _next_other_start(patterns, text, begin, connectors_fail_until)
            else:
                position = begin + 1
            continue
        end = found.end()
        if patterns.letter_emoji.match(text, begin):
            as_emoji = patterns.emoji.match(text, begin, window)
            end = max(end, as_emoji.end() if as_emoji else end)
        spans.append((begin, end))
        position = end
    return spans


def _failing_until(run: re.Pattern[str], text: str, begin: int, window: int, stop: int,
                   max_token_length: int) -> int:
    """After no token started at `begin`, the first one of its `run` (connectors with their attached marks,
    or joiners) where a try might succeed: every one before it fails the same way.

    Each rule that can begin with "_" or a joiner reads "more of them, then a letter/digit/emoji". So a later
    position of the run fails too if the try at `begin` saw what follows the run (`window`, the end of its
    buffer, lies past the run, or the run ends the stretch being scanned): the same follows. It also fails
    while its own buffer ends inside the run, as for every position at least `max_token_length` characters
    before the run's end (a buffer never holds more characters than UTF-16 units). The run is read at most
    two buffers far, so a try and its skip cost about the same whatever follows.
    """
    limit = min(stop, begin + 2 * max_token_length + 2)
    run_end = run.match(text, begin, limit).end()
    if run_end < window or window == stop:  # the try saw what follows the run (at `stop`, nothing can)
        return run_end
    if run_end == limit < stop:  # the run goes on past what was read
        return limit - max_token_length + 1
    return max(begin + 1, run_end - max_token_length + 1)


def _next_other_start(patterns: _Patterns, text: str, begin: int, until: int) -> int:
    """The next position after `begin` where a token may start by a rule other than a word's leading "_"
    (a skin tone or joiner attached to the connectors), or `until`."""
    other = patterns.other_starts.search(text, begin + 1, until)
    return other.start() if other is not None else until


def _window_end(text: str, start: int, units: int) -> int:
    """The end index of the longest stretch from `start` that fits in `units` UTF-16 chars (Java's length),
    the stretch Lucene's buffer holds."""
    end = min(len(text), start + units)
    used = _utf16_length(text[start:end])
    while used > units:
        # Dropping fewer than half the excess can never fit (a character is at most two units): drop that
        # many from the end and count again, so the excess at least halves each time.
        cut = end - (used - units + 1) // 2
        used -= _utf16_length(text[cut:end])
        end = cut
    return end


def _utf16_length(text: str) -> int:
    """Java's String.length(): characters above U+FFFF take two UTF-16 chars."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
