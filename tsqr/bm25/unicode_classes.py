"""The character sets of Lucene's StandardTokenizer grammar, as classes the standard `re` module can match.

Usage:
    from tsqr.bm25.unicode_classes import character_classes
    sets = character_classes(universe)   # {"letter": "[\\U00000041-...]", "connector": ..., ...}

tsqr.bm25.tokenizer writes the grammar over these sets; this module owns what goes into each. The `regex`
package knows the Unicode properties involved (Word_Break, Line_Break, Emoji) but matches ~10x slower than
the standard `re`, so its property sets are turned into plain character classes once, corrected where
Lucene's older tables differ.
"""
from __future__ import annotations

import functools

__all__ = ["CALIBRATED_REGEX", "LUCENE_CLASS_OVERRIDES", "character_classes", "warn_if_uncalibrated"]

# The `regex` release whose Unicode data the overrides below were computed against (requirements.txt pins it).
CALIBRATED_REGEX = "2026.5.9"

# Code points whose class in Lucene 9.5 (Unicode 9 word breaks, emoji 11 data) differs from the `regex`
# package's newer Unicode data, as hexadecimal ranges, by the class Lucene gives them. Found by tokenizing
# probes around every code point with pyserini's Lucene and with this module; the Lucene test re-checks them.
LUCENE_CLASS_OVERRIDES = {
    "none": (
        "b8 2e5-2eb 55a 55f 58a 870-887 889-891 897-89f 8b5 8be-8d2 b55 c3c c5c-c5d cdc-cdd cf3 d04 d81 ece "
        "170d 1715 171f 180f 1abf-1add 1ae0-1aeb 1b4c 1c89-1c8a 1dfa 2c2f 2c5f 31bb-31bf 4db6-4dbf 9ff0-9fff "
        "a708-a716 a7c0-a7c1 a7c7-a7dc a7f1-a7f6 a82c ab68-ab69 10570-1057a 1057c-1058a 1058c-10592 "
        "10594-10595 10597-105a1 105a3-105b1 105b3-105b9 105bb-105bc 105c0-105f3 10780-10785 10787-107b0 "
        "107b2-107ba 10940-10959 10d40-10d65 10d69-10d6d 10d6f-10d85 10e80-10ea9 10eab-10eac 10eb0-10eb1 "
        "10ec2-10ec7 10efa-10eff 10f70-10f85 10fb0-10fc4 11070-11075 110c2 11147 111ce-111cf 1123f-11241 "
        "11380-11389 1138b 1138e 11390-113b5 113b7-113c0 113c2 113c5 113c7-113ca 113cc-113d3 113e1-113e2 "
        "11460-11461 116d0-116e3 11740-11746 11900-11906 11909 1190c-11913 11915-11916 11918-11935 "
        "11937-11938 1193b-11943 11950-11959 11ab0-11abf 11b60-11b67 11bc0-11be0 11bf0-11bf9 11db0-11ddb "
        "11de0-11de9 11f00-11f10 11f12-11f3a 11f3e-11f42 11f50-11f5a 11fb0 12f90-12ff0 1342f 13439-13455 "
        "13460-143fa 16100-16139 16a70-16abe 16ac0-16ac9 16d40-16d6c 16d70-16d79 16ea0-16eb8 16ebb-16ed3 "
        "16fe2 16fe4 16ff0-16ff6 1aff0-1aff3 1aff5-1affb 1affd-1affe 1b11f-1b122 1b132 1b155 1ccf0-1ccf9 "
        "1cf00-1cf2d 1cf30-1cf46 1df00-1df1e 1df25-1df2a 1e030-1e06d 1e08f 1e290-1e2ae 1e4d0-1e4f9 "
        "1e5d0-1e5fa 1e6c0-1e6de 1e6e0-1e6f5 1e6fe-1e6ff 1e7e0-1e7e6 1e7e8-1e7eb 1e7ed-1e7ee 1e7f0-1e7fe "
        "2a6d7-2a6df 2b735-2b73f 2cea2-2cead 2ebf0-2ee5d 30000-3134a 31350-33479"
    ),
    "format": (
        "600-605 6dd 70f 8e2 110bd 110cd"
    ),
    "emoji": (
        "2388 2605 2607-260d 260f-2610 2612 2616-2617 2619-261c 261e-261f 2621 2624-2625 2627-2629 262b-262d "
        "2630-2637 263b-263f 2641 2643-2647 2654-265e 2661-2662 2664 2667 2669-267a 267c-267d 2680-2685 "
        "2690-2691 2698 269a 269d-269f 26a2-26a6 26a8-26a9 26ac-26af 26b2-26bc 26bf-26c3 26c6-26c7 26c9-26cd "
        "26d0 26d2 26d5-26e8 26eb-26ef 26f6 26fb-26fc 26fe-2701 2703-2704 270e 2710-2711 2765-2767 "
        "1f000-1f003 1f005-1f02b 1f030-1f093 1f0a0-1f0ae 1f0b1-1f0bf 1f0c1-1f0ce 1f0d1-1f0f5 1f10d-1f10f "
        "1f12f 1f16c-1f16f 1f1ad 1f260-1f265 1f322-1f323 1f394-1f395 1f398 1f39c-1f39d 1f3f1-1f3f2 1f3f6 "
        "1f4fe 1f546-1f548 1f54f 1f568-1f56e 1f571-1f572 1f57b-1f586 1f588-1f589 1f58e-1f58f 1f591-1f594 "
        "1f597-1f5a3 1f5a6-1f5a7 1f5a9-1f5b0 1f5b3-1f5bb 1f5bd-1f5c1 1f5c5-1f5d0 1f5d4-1f5db 1f5df-1f5e0 "
        "1f5e2 1f5e4-1f5e7 1f5e9-1f5ee 1f5f0-1f5f2 1f5f4-1f5f9 1f6c6-1f6ca 1f6d3-1f6d4 1f6e6-1f6e8 1f6ea "
        "1f6f1-1f6f2 1f774-1f77f 1f7d5-1f7d9 1f8b0-1f8bb 1f8c0-1f8c1 1f8d0-1f8d8 1fa00-1fa57 1fa60-1fa6d "
        "1fb00-1fbff"
    ),
    "south_east_asian": "19da",
    "mid_number": "fe10 fe14",
}
# Which override classes each character set of the grammar takes in; every set first drops all overridden points.
_OVERRIDE_MEMBERS = {
    "attach": ("format",),
    "attach_to_emoji": ("format",),
    "continues": ("format",),
    "emoji": ("emoji",),
    "emoji_after_zwj": ("emoji",),
    "south_east_asian": ("south_east_asian",),
    "starts": ("emoji", "south_east_asian"),
    "mid_number": ("mid_number",),
    "joins": ("mid_number",),
    "inside": ("format", "emoji", "south_east_asian", "mid_number"),
}

# The grammar's character sets in `regex` syntax (version 1, for set operations).
_LETTER = r"[\p{WB=ALetter}\p{WB=Hebrew_Letter}]"
_NUMBER = r"[\p{WB=Numeric}[\p{Block=HalfAndFullForms}&&\p{Nd}]]"
_EMOJI_START = r"[\p{Extended_Pictographic}[\p{Emoji}--[\p{WB=Regional_Indicator}0-9#*]]]"
_SETS = {
    # WB4: Extend/Format/ZWJ characters stick to what precedes them.
    "attach": r"[\p{WB=Format}\p{WB=Extend}\p{WB=ZWJ}]",
    "attach_to_emoji": r"[\p{WB=Format}\p{WB=Extend}--[\uFE0E\uFE0F]]",
    "letter": _LETTER,
    "other_letter": r"\p{WB=ALetter}",
    "hebrew": r"\p{WB=Hebrew_Letter}",
    "number": _NUMBER,
    "katakana": r"\p{WB=Katakana}",
    "mid_letter": r"[\p{WB=MidLetter}\p{WB=MidNumLet}\p{WB=Single_Quote}]",
    "mid_number": r"[\p{WB=MidNum}\p{WB=MidNumLet}\p{WB=Single_Quote}]",
    "connector": r"\p{WB=ExtendNumLet}",
    "regional": r"\p{WB=Regional_Indicator}",
    # Lucene's EmojiChar: pictographs (© ® ™ among them), and the other emoji except regional indicators,
    # keycap bases and skin-tone modifiers, which count only inside their sequences.
    "emoji": r"[\p{Extended_Pictographic}[\p{Emoji}--[\p{WB=Regional_Indicator}0-9#*\u00A9\u00AE\u2122\u3030"
    r"\u303D\p{Emoji_Modifier}]]]",
    # What a ZWJ can join into a new emoji of the sequence (a skin tone after a ZWJ just sticks to it).
    "emoji_after_zwj": rf"[{_EMOJI_START}--\p{{Emoji_Modifier}}]",
    "letter_emoji": rf"[{_LETTER}&&{_EMOJI_START}]",
    "modifier": r"\p{Emoji_Modifier}",
    "modifier_base": r"\p{Emoji_Modifier_Base}",
    "south_east_asian": r"\p{LB=Complex_Context}",
    "single": r"[\p{Script=Han}\p{Script=Hiragana}]",
    # For the fast path: letters and digits outside the Hebrew rules, what may continue a word directly,
    # and the marks that join two letters or two digits.
    "plain": rf"[\p{{WB=ALetter}}{_NUMBER}]",
    "alphanumeric": rf"[{_LETTER}{_NUMBER}]",
    "continues": rf"[{_LETTER}{_NUMBER}\p{{WB=ExtendNumLet}}\p{{WB=Format}}\p{{WB=Extend}}\p{{WB=ZWJ}}]",
    "joins": r"[\p{WB=MidLetter}\p{WB=MidNum}\p{WB=MidNumLet}\p{WB=Single_Quote}]",
    # Every character that can begin a token, so that the general grammar is tried only there.
    "starts": rf"[{_LETTER}{_NUMBER}\p{{WB=ExtendNumLet}}\p{{WB=Katakana}}{_EMOJI_START}\p{{WB=Regional_Indicator}}"
    r"\p{LB=Complex_Context}\p{Script=Han}\p{Script=Hiragana}\u200d#*]",
}
# Every character some token can hold (the union of the sets above and the literals the grammar names): no match
# crosses any other character, so the text is cut into independent runs at them.
_SETS["inside"] = "[" + "".join(_SETS.values()) + "\"'0-9#*\u200d\ufe0e\ufe0f\u20e3\U000e0020-\U000e007f]"


def _regex_ranges(hex_ranges: str) -> str:
    """"b8 2e5-2eb" -> the class body \\U000000b8\\U000002e5-\\U000002eb."""
    return "".join("-".join(f"\\U{int(bound, 16):08x}" for bound in span.split("-")) for span in hex_ranges.split())


@functools.lru_cache(maxsize=None)
def warn_if_uncalibrated(version: str) -> None:
    """Another `regex` release carries other Unicode data: say so once, since tokens may then differ from Lucene."""
    if version != CALIBRATED_REGEX:
        import warnings

        warnings.warn(f"regex {version} is installed; tsqr's Lucene-compatible tokenizer was calibrated against regex "
                      f"{CALIBRATED_REGEX} (pip install regex=={CALIBRATED_REGEX}): characters whose Unicode data "
                      "differs between the two may tokenize unlike Lucene", stacklevel=4)


def character_classes(universe: str) -> dict[str, str]:
    """Each set of the grammar as a standard-`re` character class over the code points in `universe`."""
    return {name: _char_class(universe, name) for name in _SETS}


def _char_class(universe: str, name: str) -> str:
    """A standard-`re` character class of the code points in `universe` that Lucene puts in set `name`."""
    import regex

    warn_if_uncalibrated(regex.__version__)

    overridden = "".join(_regex_ranges(spans) for spans in LUCENE_CLASS_OVERRIDES.values())
    added = "".join(_regex_ranges(LUCENE_CLASS_OVERRIDES[kind]) for kind in _OVERRIDE_MEMBERS.get(name, ()))
    expression = f"(?V1)[[{_SETS[name]}--[{overridden}]]{added}]+"
    body = "".join(
        f"\\U{ord(universe[start]):08x}-\\U{ord(universe[end - 1]):08x}"
        for start, end in (match.span() for match in regex.finditer(expression, universe))
    )
    return f"[{body}]" if body else "[^\\x00-\\U0010ffff]"  # the empty set, which `re` cannot spell as []
