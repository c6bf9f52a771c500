"""bench/reasoning_throughput.py runs end to end on a small load and prints one row per endpoint count, with the
client's peak in flight at each simulated engine never above its concurrency (speed itself is the bench's to
print, not a test's to time)."""
from __future__ import annotations

import re

from bench.reasoning_throughput import main
from tsqr.serve.simulate import Latency, ideal_seconds


def test_the_benchmark_prints_a_row_per_endpoint_count(capsys):
    assert main(["--queries", "40", "--endpoints", "1,2", "--latency", "uniform:0.02:0.1", "--capacity", "6",
                 "--concurrency", "6"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^\| (\d) \| ([\d.]+) \| ([\d.]+) \| [\d.]+ \| [\d.]+ \| ([\d.]+)% \| (\d+) \|$", out, re.M)
    assert [row[0] for row in rows] == ["1", "2"]
    for _, seconds, ideal, share, peak in rows:
        assert 0 < float(ideal) <= float(seconds) + 0.05 and float(share) > 0
        assert int(peak) <= 6
    assert re.search(r"lowest share [\d.]+%: (meets|misses) the 85% target", out)


def test_the_ideal_is_list_scheduling_of_the_same_latencies():
    assert ideal_seconds([4, 1, 1, 1, 1], 2) == 4  # the long one on one slot, the four short ones on the other
    assert ideal_seconds([1, 1, 1, 1], 2) == 2
    assert ideal_seconds([], 3) == 0
    latency = Latency.parse("uniform:1:4", seed=7)
    assert latency.seconds("a prompt") == latency.seconds("a prompt") and 1 <= latency.seconds("x") <= 4
