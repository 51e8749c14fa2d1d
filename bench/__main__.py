"""`python -m bench [--quick]`: run the benchmarks and print figures next to their baselines."""

from __future__ import annotations

import argparse
import gc
import logging

from bench import ingest


def main() -> None:
    """Parse sizes and run."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--n", type=int, default=100_000, help="messages per rate measurement")
    p.add_argument("--million", type=int, default=1_000_000, help="messages of the memory run (0 skips it)")
    p.add_argument("--latency-seconds", type=float, default=20.0, help="length of the steady 1,000 msg/s run")
    p.add_argument("--quick", action="store_true", help="small sizes, to check the benchmark itself runs")
    a = p.parse_args()
    if a.quick:
        a.n, a.million, a.latency_seconds = 5_000, 20_000, 3.0
    logging.basicConfig(level=logging.WARNING)
    gc.freeze()  # as app.py does once the app is built
    print("== ingest ==", flush=True)
    for line in ingest.run(a.n, a.million, a.latency_seconds):
        print(line, flush=True)


if __name__ == "__main__":
    main()
