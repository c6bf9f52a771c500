"""How close tsqr's server client comes to keeping continuous-batching engines full: completions per second
against the best any client could do, for 1 to 4 simulated replicas.

Usage:
    python bench/reasoning_throughput.py                        # 256 queries, latency uniform:1:4 s, capacity 64
    python bench/reasoning_throughput.py --queries 512 --endpoints 1,2 --latency lognormal:2:0.5
    python bench/reasoning_throughput.py --concurrency 32       # a window smaller than the engine's capacity

Each endpoint is a tsqr.serve.simulate server on loopback: a request holds one of `--capacity` slots for a
latency drawn (seeded by its prompt) from `--latency`, however many others are in flight. The ideal is the
makespan of sending the same requests in the same order to capacity x endpoints slots, each the instant a slot
frees (tsqr.serve.simulate.ideal_seconds); the client's share of it is what this measures. The client is
tsqr's ServerReasoner exactly as `--reasoned URL[,URL...]` builds it (caching off, so every query is asked).
Prints a markdown table; the target is at least 85% of the ideal for 256 queries.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tsqr.reasoner import GenerationSettings, load_reasoner  # noqa: E402
from tsqr.serve.simulate import Latency, Simulator, ideal_seconds, last_user_text  # noqa: E402

TARGET = 0.85


def measure(endpoints: int, queries: list[str], latency: Latency, capacity: int, concurrency: int
            ) -> dict[str, float]:
    """One run: fresh simulators and a fresh client (connections included), every query asked once."""
    simulators = [Simulator(latency=latency, capacity=capacity).start() for _ in range(endpoints)]
    try:
        settings = GenerationSettings(max_new_tokens=64, concurrency=concurrency)
        reasoner = load_reasoner(",".join(s.url for s in simulators), settings, cache=False)
        prompts = [last_user_text({"messages": reasoner.template.messages(q)}) for q in queries]
        began = time.perf_counter()
        reasoner.reason(queries, progress=False)
        seconds = time.perf_counter() - began
        reasoner.close()
        stats = [s.stats() for s in simulators]
    finally:
        for simulator in simulators:
            simulator.close()
    ideal = ideal_seconds([latency.seconds(p) for p in prompts], capacity * endpoints)
    return {"seconds": seconds, "ideal": ideal, "rate": len(queries) / seconds, "ideal_rate": len(queries) / ideal,
            "share": ideal / seconds, "peak": max(s.peak_in_flight for s in stats),
            "answered": sum(s.answered for s in stats)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=256)
    parser.add_argument("--endpoints", default="1,2,3,4", help="comma-separated replica counts to measure")
    parser.add_argument("--latency", default="uniform:1:4", help="fixed:S, uniform:LOW:HIGH, lognormal:MEDIAN:SIGMA")
    parser.add_argument("--capacity", type=int, default=64, help="slots per simulated engine")
    parser.add_argument("--concurrency", type=int, default=64, help="client requests in flight per endpoint")
    parser.add_argument("--seed", type=int, default=0, help="seeds the latency draws")
    args = parser.parse_args(argv)

    latency = Latency.parse(args.latency, args.seed)
    queries = [f"benchmark query {n}: why does the {n}th sample behave so?" for n in range(args.queries)]
    print("# reasoning throughput: tsqr's server client against simulated continuous-batching engines\n")
    print(f"{args.queries} queries; latency {latency.describe()} s per request regardless of load; capacity "
          f"{args.capacity} per engine; client concurrency {args.concurrency} per endpoint; "
          f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}.\n")
    print("| endpoints | seconds | ideal seconds | completions/s | ideal completions/s | share of ideal "
          "| peak in flight per endpoint |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    shares = []
    for endpoints in [int(n) for n in args.endpoints.split(",") if n.strip()]:
        row = measure(endpoints, queries, latency, args.capacity, args.concurrency)
        if row["answered"] != args.queries:
            print(f"error: the simulators answered {row['answered']} of {args.queries} requests", file=sys.stderr)
            return 1
        shares.append(row["share"])
        print(f"| {endpoints} | {row['seconds']:.2f} | {row['ideal']:.2f} | {row['rate']:.1f} | "
              f"{row['ideal_rate']:.1f} | {100 * row['share']:.1f}% | {row['peak']} |", flush=True)
    verdict = "meets" if min(shares) >= TARGET else "misses"
    print(f"\nlowest share {100 * min(shares):.1f}%: {verdict} the {100 * TARGET:.0f}% target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
