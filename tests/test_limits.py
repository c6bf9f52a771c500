"""The caps of tsqr.limits: documented defaults, read from the environment in MB, and a bad value is an error
naming its variable rather than a silently lifted cap."""
from __future__ import annotations

import pytest

import tsqr.limits
from tsqr.limits import MIB, Limits

VARIABLES = ["TSQR_MAX_UNPACKED_MB", "TSQR_MAX_RATIO", "TSQR_MAX_ENTRIES", "TSQR_MAX_LINE_MB", "TSQR_MAX_JSON_MB",
             "TSQR_INDEX_CACHE_MB"]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)


def test_defaults_are_the_documented_ones():
    limits = Limits.from_env()
    assert limits == Limits()
    assert (limits.unpacked_bytes, limits.ratio, limits.entries) == (1024 * MIB, 200, 10_000)
    assert (limits.line_bytes, limits.json_bytes, limits.index_cache_bytes) == (64 * MIB, 256 * MIB, 2048 * MIB)
    doc = tsqr.limits.__doc__
    for variable, default in zip(VARIABLES, ["1024", "200", "10000", "64", "256", "2048"]):
        table_row = doc.split(f"\n    {variable}  ", 1)[1].split("\n", 1)[0]  # the docstring's table
        assert table_row.split()[0] == default


def test_the_environment_sets_each_cap(monkeypatch):
    for variable, value in zip(VARIABLES, ["8", "50", "12", "0.5", "2", "0"]):
        monkeypatch.setenv(variable, value)
    limits = Limits.from_env()
    assert limits == Limits(unpacked_bytes=8 * MIB, ratio=50, entries=12, line_bytes=MIB // 2, json_bytes=2 * MIB,
                            index_cache_bytes=0)
    assert limits.describe("line_bytes") == "0.5 MB (TSQR_MAX_LINE_MB)"
    assert limits.describe("ratio") == "50 (TSQR_MAX_RATIO)"


@pytest.mark.parametrize("value", ["lots", "-1", "nan", "1e", "10MB"])
def test_a_bad_value_is_an_error_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("TSQR_MAX_LINE_MB", value)
    with pytest.raises(ValueError, match=f"^TSQR_MAX_LINE_MB={value!r}: expected a number >= 0$"):
        Limits.from_env()


def test_limits_are_frozen():
    with pytest.raises(AttributeError):
        Limits().ratio = 1_000_000  # type: ignore[misc]
