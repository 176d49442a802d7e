"""Did a recording play everything its index promised? One line saying what was lost, or None.

The rule (docs/app.md, "Recordings"): after playback ended by itself,
- per stream, frames read = distinct frames librealsense delivered; a stream may come up to
  `LOST_TOLERANCE` frames short of its index, because librealsense's syncer can drop a stream's
  first or last frame while it forms pairs (seen on good files); at recorded speed
  (`--realtime`) also up to `REALTIME_SHARE` of the frames, which playback may skip when late;
  none at all when librealsense logged that it could not read the next frame (`rs_log`);
- a `.db3` stream whose images are fewer than its per-frame records lost images: no tolerance;
- frames that never made it into a usable pair (their frameset had the other stream's frame
  missing or repeated: a bad frame) may be up to `max(UNPAIRED_TOLERANCE, UNPAIRED_SHARE of
  them)`: a camera that drops a frame now and then records exactly that; more is a file that
  lost frames. (Extra framesets the syncer forms from frames that are all paired elsewhere are
  bad frames too, but nothing was lost.)
- a frame whose buffer does not fit its stream (a corrupt image header): none.
Anything beyond is damage. After a seek the counts no longer mean anything and are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.sources.recording_index import STREAMS, RecordingIndex
from app.sources.rs_frames import FrameTally

LOST_TOLERANCE = 2
REALTIME_SHARE = 0.05
UNPAIRED_TOLERANCE = 2
UNPAIRED_SHARE = 0.01


@dataclass(frozen=True)
class PlaybackEnd:
    """How playback ended: by itself at the end of the file, or stalled (no frame for a while)."""

    stalled: bool = False
    seeked: bool = False  # the window seeked: frames were skipped on purpose
    realtime: bool = False
    fps: float = 30.0  # the recorded frame rate, to tell "stopped early" from "lost frames in between"
    read_failure: str | None = None  # librealsense logged that it could not read the next frame


def lost_tolerance(expected: int, realtime: bool) -> int:
    return max(LOST_TOLERANCE, int(expected * REALTIME_SHARE)) if realtime else LOST_TOLERANCE


def short_streams(index: RecordingIndex, tally: FrameTally, realtime: bool, read_failure: bool = False) -> list[str]:
    """The streams whose images in the file were delivered fewer times than the tolerance allows
    (none tolerated after a read failure librealsense logged)."""
    short = []
    for s in STREAMS:
        in_file = index.images.get(s, 0)
        tolerated = 0 if read_failure else lost_tolerance(in_file, realtime)
        if in_file - tally.new.get(s, 0) > tolerated:  # there, but not delivered
            short.append(s)
    return short


def frames_outstanding(index: RecordingIndex | None, tally: FrameTally, realtime: bool) -> bool:
    """More frames are owed than the tolerance allows: at "playback stopped", wait a little for
    them before judging (librealsense's threads may still be handing the last ones over when
    the machine is busy; seen once in CI, 14 of 20 frames before the end was called)."""
    return index is not None and bool(short_streams(index, tally, realtime))


def damage(name: str, index: RecordingIndex | None, tally: FrameTally, end: PlaybackEnd,
           librealsense_said: list[str] | None = None) -> str | None:
    """"room.db3 is damaged: 14 of 30 depth frames could be read; the rest is unreadable after
    3.5 s", or None when the file played as its index says it should."""
    parts = []
    short: list[str] = []
    if index is not None and not end.seeked:
        short = [f"{tally.new.get(s, 0)} of {index.expected(s)} {s} frames"
                 for s in short_streams(index, tally, end.realtime, bool(end.read_failure))]
        if short:
            parts.append(" and ".join(short) + " could be read")
        for s, n in index.missing_images().items():
            parts.append(f"{n} of {index.expected(s)} {s} images are missing from the file")
    if not end.seeked and tally.lacking_framesets:
        most = max(STREAMS, key=lambda s: tally.new.get(s, 0))
        other = next(s for s in STREAMS if s != most)
        unpaired = tally.new.get(most, 0) - tally.good_framesets
        if unpaired > max(UNPAIRED_TOLERANCE, int(tally.new.get(most, 0) * UNPAIRED_SHARE)):
            parts.append(f"{unpaired} of {tally.new[most]} {most} frames had no {other} frame to pair with "
                         f"({tally.first_reason})")
    if tally.malformed:  # a frame whose buffer does not fit its stream: no camera records that
        parts.append(f"{tally.malformed} frameset{'s' if tally.malformed > 1 else ''} held a malformed frame "
                     f"({tally.first_malformed})")
    if end.stalled and not parts:
        parts.append(f"playback stalled after {tally.framesets} framesets")
    if end.read_failure and not parts:
        parts.append("librealsense could not read it to the end")
    if not parts:
        return None
    line = f"{name} is damaged: " + "; ".join(parts)
    if tally.first_ms is None or tally.last_ms is None:
        line += "" if short else "; not one frame could be read"
    elif short or end.stalled or end.read_failure:
        played_s = (tally.last_ms - tally.first_ms) / 1000.0
        full_s = (max(index.expected(s) for s in STREAMS) - 1) / end.fps if index is not None else 0.0
        if end.stalled or end.read_failure or played_s + 3.0 / end.fps < 0.95 * full_s:  # stopped early
            line += f"; the rest is unreadable after {played_s:.1f} s"
    said = [f"Failed to read next frame: {end.read_failure}"] if end.read_failure else []
    said += [s for s in (librealsense_said or []) if s]
    if said:
        line += f" (librealsense: {_strip(said[0])})"
    return line


def _strip(text: str) -> str:
    """rosbag's "Error:   Received an invalid TCPROS header.  Each element ..." -> its first sentence."""
    for prefix in ("Error:", "Warning:"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    text = " ".join(text.split())
    return text.split(". ")[0].rstrip(".")
