"""What sealing events and keeping the witness outside the database cost per event, and how long
``verify-log`` takes for a log of a given size.

    python benchmarks/bench_event_log.py [--events 5000]

Writes events one transaction each (as the services do), in a registry without a log key
(chain only) and in one with it (seal + witness file after each commit).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from workbench.registry.db import Registry


def _run(root: Path, n: int, *, sealed: bool) -> tuple[float, float]:
    reg = Registry(root / "registry.db")
    if sealed:
        reg.attach_log_key()
    start = time.perf_counter()
    for i in range(n):
        reg.record("system", "bench.event", "thing", i, {"i": i, "text": "x" * 200})
    write = (time.perf_counter() - start) / n
    start = time.perf_counter()
    assert reg.verify_log().ok
    verify = time.perf_counter() - start
    reg.close()
    return write, verify


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    n = parser.parse_args().events
    print(f"{'log':<22}{'ms per event':>14}{'verify-log (s)':>16}   ({n} events)")
    for sealed in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            write, verify = _run(Path(tmp), n, sealed=sealed)
        print(f"{'chain + seal + witness' if sealed else 'chain only':<22}{write * 1000:>14.3f}{verify:>16.3f}")


if __name__ == "__main__":
    main()
