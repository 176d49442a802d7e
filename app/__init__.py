"""sgnet-live's application: sources, pipeline, sinks, window, CLIs.

`from app import subscribe` (or `from app.stream import subscribe`) reads the stream of a
`sgnet-live --publish URL` run in another program (docs/stream.md); imported lazily, so
`import app` stays light.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "subscribe":
        from app.stream import subscribe

        return subscribe
    raise AttributeError(f"module 'app' has no attribute {name!r}")
