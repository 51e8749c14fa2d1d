"""A steady-rate publisher in its own process: `python -m bench.publisher PORT RATE TOTAL QOS`."""

from __future__ import annotations

import sys
import time

from bench.ingest import _client, _connect, messages


def main() -> None:
    """Publish TOTAL messages at RATE per second, each stamped with its send time."""
    port, rate, total, qos = (int(a) for a in sys.argv[1:5])
    c = _client(f"bench-steady-{time.monotonic_ns()}")
    c.max_inflight_messages_set(1000)
    _connect(c, port, False)
    c.loop_start()
    start = time.perf_counter()
    last = None
    for i, (topic, _) in enumerate(messages(total, start=30_000_000)):
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        # Stamp at send time, not at generation time.
        _, payload = next(messages(1, start=30_000_000 + i, sent_ns=True))
        last = c.publish(topic, payload, qos=qos)
    if last is not None:
        last.wait_for_publish(60)
    time.sleep(0.2)
    c.disconnect()
    c.loop_stop()


if __name__ == "__main__":
    main()
