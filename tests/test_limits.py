"""The caps of tsqr.limits: documented defaults, read from the environment in MB, and a bad value (a word, inf,
nan, a fraction of a row) is an error naming its variable rather than a silently lifted cap, raised at start-up
by check_environment; cut_query is the one cut of over-long queries."""
from __future__ import annotations

import subprocess
import sys

import pytest

import tsqr.limits
from tsqr.limits import MIB, ConfigurationError, Limits, check_environment, cut_query

VARIABLES = ["TSQR_MAX_UNPACKED_MB", "TSQR_MAX_RATIO", "TSQR_MAX_ENTRIES", "TSQR_MAX_LINE_MB", "TSQR_MAX_JSON_MB",
             "TSQR_INDEX_CACHE_MB"]
NEW_VARIABLES = {  # variable: (field, documented default, value in Limits)
    "TSQR_MAX_EXAMPLES": ("examples", "10000", 10_000),
    "TSQR_MAX_DOCUMENTS": ("documents", "1000000", 1_000_000),
    "TSQR_MAX_ID_CHARS": ("id_chars", "512", 512),
    "TSQR_MAX_EXAMPLE_QUERY_CHARS": ("query_chars", "32000", 32_000),
    "TSQR_MAX_DOCUMENT_CHARS": ("document_chars", "10000000", 10_000_000),
    "TSQR_MAX_REASONING_CHARS": ("reasoning_chars", "64000", 64_000),
    "TSQR_REASONING_CACHE_MB": ("reasoning_cache_bytes", "1024", 1024 * MIB),
    "TSQR_EMBEDDING_CACHE_MB": ("embedding_cache_bytes", "4096", 4096 * MIB),
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for variable in [*VARIABLES, *NEW_VARIABLES, "TSQR_CACHE"]:
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
    for variable, (field, default, value) in NEW_VARIABLES.items():
        table_row = doc.split(f"\n    {variable}  ", 1)[1].split("\n", 1)[0]
        assert table_row.split()[0] == default and getattr(limits, field) == value
        assert limits.variable(field) == variable


def test_the_environment_sets_each_cap(monkeypatch):
    for variable, value in zip(VARIABLES, ["8", "50", "12", "0.5", "2", "0"]):
        monkeypatch.setenv(variable, value)
    limits = Limits.from_env()
    assert limits == Limits(unpacked_bytes=8 * MIB, ratio=50, entries=12, line_bytes=MIB // 2, json_bytes=2 * MIB,
                            index_cache_bytes=0)
    assert limits.describe("line_bytes") == "0.5 MB (TSQR_MAX_LINE_MB)"
    assert limits.describe("ratio") == "50 (TSQR_MAX_RATIO)"


@pytest.mark.parametrize("value", ["lots", "-1", "nan", "1e", "10MB", "inf", "-inf", "Infinity", "1e400"])
def test_a_bad_value_is_an_error_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("TSQR_MAX_LINE_MB", value)
    with pytest.raises(ConfigurationError, match=f"^TSQR_MAX_LINE_MB={value!r}: expected a number >= 0$"):
        Limits.from_env()


@pytest.mark.parametrize("value", ["1.5", "0", "abc", "inf", "-3"])
def test_counts_are_whole_numbers_of_at_least_one(monkeypatch, value):
    monkeypatch.setenv("TSQR_MAX_DOCUMENTS", value)
    with pytest.raises(ConfigurationError, match=f"^TSQR_MAX_DOCUMENTS={value!r}: expected a whole number >= 1$"):
        Limits.from_env()
    monkeypatch.setenv("TSQR_MAX_DOCUMENTS", "2e3")
    assert Limits.from_env().documents == 2000
    assert Limits.from_env().describe("documents") == "2,000 (TSQR_MAX_DOCUMENTS)"


def test_check_environment_refuses_at_start_up_with_one_line(tmp_path):
    """The issue's reproduction: TSQR_MAX_UNPACKED_MB=inf let the app start and failed at the first upload with
    "cannot convert float infinity to integer"; a file as TSQR_CACHE gave a traceback."""
    script = "from tsqr.limits import check_environment; check_environment(); print('ok')"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for env, expected in [({"TSQR_MAX_UNPACKED_MB": "inf"}, "TSQR_MAX_UNPACKED_MB='inf': expected a number >= 0"),
                          ({"TSQR_MAX_UNPACKED_MB": "abc"}, "TSQR_MAX_UNPACKED_MB='abc': expected a number >= 0"),
                          ({"TSQR_CACHE": str(blocker)}, f"TSQR_CACHE={str(blocker)!r}: {blocker} is a file"),
                          ({"TSQR_CACHE": str(blocker / "sub")}, f"{blocker} is a file, not a folder")]:
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
        last = result.stderr.strip().splitlines()[-1]
        assert result.returncode == 1 and last.startswith("tsqr.limits.ConfigurationError: ")
        assert expected in last, last
    fine = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={"TSQR_CACHE": str(tmp_path / "new" / "cache")})
    assert fine.stdout.strip() == "ok" and not (tmp_path / "new").exists()  # checking creates nothing


def test_cache_dir_names_the_variable_when_a_file_is_in_the_way(monkeypatch, tmp_path):
    from tsqr.paths import cache_dir

    (tmp_path / "index").write_text("a file where the index folder goes")
    monkeypatch.setenv("TSQR_CACHE", str(tmp_path))
    with pytest.raises(NotADirectoryError, match=r"^TSQR_CACHE=.*index is a file, not a folder$"):
        cache_dir("index")
    assert cache_dir("reasoning").is_dir()


def test_check_environment_returns_the_limits(monkeypatch, tmp_path):
    monkeypatch.setenv("TSQR_CACHE", str(tmp_path))
    monkeypatch.setenv("TSQR_MAX_ID_CHARS", "64")
    assert check_environment() == Limits(id_chars=64)


def test_cut_query_cuts_and_says_so_naming_the_variable():
    assert cut_query("short", 10, "TSQR_X") == ("short", "")
    assert cut_query("x" * 10, 10, "TSQR_X") == ("x" * 10, "")
    query, note = cut_query("y" * 12_345, 10, "TSQR_X")
    assert query == "y" * 10
    assert note == ("query cut from 12,345 to 10 characters (TSQR_X); the rest was neither searched nor "
                    "reasoned about")


def test_limits_are_frozen():
    with pytest.raises(AttributeError):
        Limits().ratio = 1_000_000  # type: ignore[misc]
