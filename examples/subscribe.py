"""Print what a running `sgnet-live --publish URL` sees: the classes in view and the latency.

    sgnet-live --camera demo --headless --publish tcp://127.0.0.1:5555 &
    python examples/subscribe.py tcp://127.0.0.1:5555

Each line: the frame index, the three largest classes in view (share of the labelled pixels; with
`--publish-fields depth` also their median distance) and how long the message took from the
publisher to here. It stops after `--timeout` seconds without a message (the run ended) or after
`--count` messages, and prints how many it received and lost. The stream's format: docs/stream.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np

from app.stream import LabelsMessage, StreamError, subscribe


def classes_in_view(msg: LabelsMessage, top: int = 3) -> str:
    """"wall 41% 2.3 m, floor 22% 1.9 m, table 9% 1.4 m" (distances when depth was published)."""
    no_prediction = msg.header["no_prediction"]
    ids, counts = np.unique(msg.labels, return_counts=True)
    keep = ids != no_prediction
    ids, counts = ids[keep], counts[keep]
    if not len(ids):
        return "nothing labelled"
    parts = []
    for i in np.argsort(counts)[::-1][:top]:
        text = f"{msg.class_names[ids[i]]} {100 * counts[i] / counts.sum():.0f}%"
        if msg.depth is not None:
            d = msg.depth[(msg.labels == ids[i]) & (msg.depth > 0)]
            text += f" {np.median(d) * msg.depth_scale:.1f} m" if d.size else ""
        parts.append(text)
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url", help="the address given to sgnet-live --publish, e.g. tcp://127.0.0.1:5555")
    p.add_argument("--timeout", type=float, default=10.0, help="stop after this many seconds without a message")
    p.add_argument("--count", type=int, default=None, help="stop after this many messages")
    a = p.parse_args(argv)
    latencies = []
    try:
        with subscribe(a.url, timeout_s=a.timeout) as sub:
            for msg in sub:
                latencies.append(msg.latency_ms)
                print(f"frame {msg.index}: {classes_in_view(msg)} · {msg.latency_ms:.1f} ms after publishing")
                if a.count is not None and sub.received >= a.count:
                    break
            ending = f"nothing for {a.timeout:g} s" if sub.timed_out else "done"
            p50 = f", latency p50 {statistics.median(latencies):.1f} ms" if latencies else ""
            print(f"{ending}: {sub.received} messages received, {sub.lost} lost{p50}")
    except StreamError as e:
        print(f"subscribe.py: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
