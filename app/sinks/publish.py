"""`--publish URL`: every frame's labels to other programs, live, over ZeroMQ (schema: `app.stream`).

The sink binds an XPUB socket (a PUB socket that also hears its subscribers come and go) and sends
one multipart message per frame without ever waiting: a subscriber that reads too slowly, or
has stopped reading, costs messages, never frames. Each subscriber's queue holds `hwm` messages
(after the operating system's socket buffers, a few MB on Linux); when one is full the message is
not sent (ZMQ_XPUB_NODROP makes that visible as EAGAIN instead of a silent loss) and counted in
`dropped`: with several subscribers, one stalled subscriber makes the others lose that message too
(the price of counting). Messages sent while nobody is subscribed are counted in `unheard`.
`close` waits at most `LINGER_MS` for queued messages to leave.

The socket is bound when the sink is built (so subscribers can connect before frames flow) and
used by the pipeline's thread afterwards: ZeroMQ allows moving a socket between threads with a
memory barrier in between, which starting the thread provides.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from app.errors import UserError
from app.sinks.base import OutputError, Rendered, Sink, counted
from app.stream import RunInfo, check_url, encode

PUBLISH_HWM = 4  # messages queued per subscriber before the next ones are dropped
LINGER_MS = 1000  # at close: how long queued messages may still take to leave
IN_USE = ("the address is in use (another sgnet-live or program publishes there: choose another port or path, "
          "or stop it)")


def bind_error(url: str, e: Exception) -> str:
    """One line for a bind that failed (address in use, not this machine's, no such folder)."""
    import errno

    why = {
        errno.EADDRINUSE: IN_USE,
        errno.EADDRNOTAVAIL: "that address is not one of this machine's (use 127.0.0.1, * or an interface address)",
        errno.ENODEV: "unknown host or interface (use an IP address, localhost, * or an interface name)",
        errno.EACCES: "permission denied (ports below 1024 need privileges; choose another port or path)",
    }.get(getattr(e, "errno", None), str(e))
    return f"--publish {url}: cannot publish there: {why}"


def ipc_in_use(url: str) -> bool:
    """Whether a program listens at this ipc:// address. ZeroMQ would take a Unix socket path over
    from its owner without a word (and leave that publisher unreachable), so it is asked first."""
    import socket

    path = url[len("ipc://"):]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect("\0" + path[1:] if path.startswith("@") else path)  # @name: Linux's abstract namespace
        except OSError:  # nobody there (no file, or a stale one of an ended run: ZeroMQ replaces it)
            return False
    return True


def probe_bind(url: str) -> None:
    """Fail now, before the run starts, if `url` cannot be bound: tcp by binding and releasing it,
    ipc by asking whether somebody listens there (binding would take it over)."""
    import zmq

    url = check_url(url)
    if url.startswith("ipc://"):
        folder = Path(url[len("ipc://"):]).parent
        if ipc_in_use(url):
            raise UserError(f"--publish {url}: cannot publish there: {IN_USE}")
        if not url.startswith("ipc://@") and not os.access(folder, os.W_OK | os.X_OK):
            raise UserError(f"--publish {url}: cannot publish there: permission denied in {folder} "
                            "(choose another path)")
        return
    ctx = zmq.Context()
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.IPV6, 1)  # tcp://[::1]:5555 too
    try:
        sock.bind(url)
    except zmq.ZMQError as e:
        raise UserError(bind_error(url, e)) from None
    finally:
        sock.close(0)
        ctx.term()


class PublishSink(Sink):
    """One message per frame to `url`; `sent`, `dropped` (a subscriber not keeping up) and
    `unheard` (no subscriber connected) count every message, `subscribed` says whether anybody
    listened at the last frame. Those are plain attributes any thread may read (a window's HUD);
    the methods use the socket, so only the thread that writes may call them."""

    name = "publish"

    def __init__(self, url: str, fields: tuple[str, ...] = ("labels",), run: RunInfo | None = None,
                 hwm: int = PUBLISH_HWM) -> None:
        import zmq

        self.url = check_url(url)
        if self.url.startswith("ipc://") and ipc_in_use(self.url):
            raise UserError(f"--publish {self.url}: cannot publish there: {IN_USE}")
        self.fields = fields
        self.run = run or RunInfo()
        self.sent = self.dropped = self.unheard = 0
        self.subscribed = False  # as of the last frame: whether anybody listens
        self._topics: set[bytes] = set()  # what subscribers subscribed to (XPUB says first/last per topic)
        self._zmq = zmq
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.XPUB)
        self._sock.setsockopt(zmq.IPV6, 1)
        self._sock.setsockopt(zmq.XPUB_NODROP, 1)
        self._sock.setsockopt(zmq.SNDHWM, hwm)
        self._sock.setsockopt(zmq.LINGER, LINGER_MS)
        try:
            self._sock.bind(self.url)
        except zmq.ZMQError as e:
            self._sock.close(0)
            self._ctx.term()
            raise UserError(bind_error(self.url, e)) from None
        self._failed = ""

    def wait_for_subscriber(self, timeout_s: float) -> bool:
        """Whether a subscriber connected within `timeout_s` (before frames flow: benchmarks, tests)."""
        deadline = time.monotonic() + timeout_s
        while not self._hear_subscribers() and time.monotonic() < deadline:
            self._sock.poll(50)
        return self.subscribed

    def _hear_subscribers(self) -> bool:
        """Read the (un)subscribe notes the socket queued; updates and returns `subscribed`."""
        while True:
            try:
                note = self._sock.recv(self._zmq.NOBLOCK)
            except self._zmq.Again:
                self.subscribed = bool(self._topics)
                return self.subscribed
            if note[:1] == b"\x01":
                self._topics.add(note[1:])
            elif note[:1] == b"\x00":
                self._topics.discard(note[1:])

    def write(self, rendered: Rendered) -> None:
        zmq = self._zmq
        listening = self._hear_subscribers()
        parts = encode(rendered.seg, self.fields, self.sent + self.dropped + self.unheard, self.run)
        try:
            self._sock.send_multipart(parts, flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            self.dropped += 1
            return
        except zmq.ZMQError as e:
            self._failed = str(e)
            raise OutputError(f"--publish {self.url}: sending failed: {e}") from None
        if listening:
            self.sent += 1
        else:
            self.unheard += 1

    def close(self) -> list[str]:
        if not self._sock.closed:
            self._sock.close()  # lets queued messages leave for at most LINGER_MS
            self._ctx.term()
        total = self.sent + self.dropped + self.unheard
        line = (f"publish: {counted(total, 'message')} on {self.url} ({', '.join(self.fields)}): {self.sent} sent, "
                f"{self.dropped} dropped (a subscriber not keeping up), {self.unheard} with no subscriber connected")
        if self._failed:
            line += f"; stopped: {self._failed}"
        return [line]
