"""`sgnet-live` without a window: options -> checked outputs -> source -> model -> pipeline.

Everything a user can get wrong is checked in the order that costs least (arguments,
output paths, the source, then the model), so mistakes end in one line before a camera
starts or a model loads. Ctrl-C, SIGTERM or SIGHUP stops cleanly: the current frame
finishes, the video is finalized and the log complete, and the last line names the signal;
a second Ctrl-C aborts (files still finalized). The window handles the same signals.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.expectations import say_expectations
from app.files import why_write_failed
from app.outputs import OutputOptions, build_sinks, check_outputs
from app.sinks.base import OutputError
from app.sources.base import SourceOptions
from sgnet.errors import SGNetUserError
from sgnet.frames import SegmenterLike

PROGRESS_EVERY_S = 5.0
# the signals that stop a run cleanly: Ctrl-C, a service manager or `kill`, a closed terminal
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@dataclass
class LiveOptions:
    camera: str = "demo"
    model: str | None = None  # None: the model the weights file is for, else sgnet_lite
    weights: str | None = None
    classes: str | None = None  # None: the class set stored in the weights
    random_weights: bool = False
    device: str = "auto"
    precision: str = "fp32"
    compile: bool = False  # torch.compile the model
    channels_last: bool = False
    cuda_graphs: bool = False  # CUDA only: checked up front
    engine: str | None = None  # None: torch, or the engine an exported --weights file picks
    no_cache: bool = False  # with engine: export into a temporary folder
    frames: int | None = None
    keyframe_interval: str = "1"  # video mode: "1" = every frame through the network, N, or "auto"
    smooth: bool = False  # video mode: filter class probabilities over time along the motion
    fill_holes: bool | None = None  # in-paint the depth's holes before the model; None: all sources but demo
    source: SourceOptions = field(default_factory=SourceOptions)
    outputs: OutputOptions = field(default_factory=OutputOptions)
    alpha: float = 0.5
    quiet: bool = False


def say(msg: str) -> None:
    """Information for the user (stderr, so stdout carries only the summary table)."""
    try:
        sys.stderr.write(f"sgnet-live: {msg}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # the terminal is gone (SIGHUP): the run still finalizes its files
        pass


def stop_reason(signum: int) -> str:
    """How a run stopped by `signum` is reported: "stopped by SIGTERM", "stopped by Ctrl-C (SIGINT)"."""
    name = signal.Signals(signum).name
    return "stopped by Ctrl-C (SIGINT)" if signum == signal.SIGINT else f"stopped by {name}"


def check_options(o: LiveOptions) -> None:
    """Argument and output checks that need neither a camera nor a model."""
    from sgnet.device import resolve_device
    from sgnet.forward import PRECISIONS

    if o.precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {o.precision!r}")
    device = resolve_device(o.device, "--device")  # an unknown device, or CUDA on a machine without it, ends here
    if o.cuda_graphs and device.type != "cuda":
        raise UserError(f"--cuda-graphs needs a CUDA device, and --device {o.device} runs on the CPU here: use "
                        "--device cuda on a machine with a GPU, or leave out --cuda-graphs")
    check_sconv(device, o.precision, self_check=False)  # SGNET_OPS_BACKEND (the self-check runs with the model)
    if o.frames is not None and o.frames < 1:
        raise UserError(f"--frames must be at least 1, got {o.frames}")
    s = o.source
    if (s.width is None) != (s.height is None):
        raise UserError("give --width and --height together (e.g. --width 640 --height 480)")
    if s.width is not None and (s.width < 16 or s.height < 16):
        raise UserError(f"--width/--height must be at least 16 pixels, got {s.width}x{s.height}")
    if s.fps is not None and s.fps < 1:
        raise UserError(f"--fps must be at least 1, got {s.fps}")
    f = s.filters
    if f.decimation and not 2 <= f.decimation <= 8:
        raise UserError(f"--decimation must be between 2 and 8 (0 = off), got {f.decimation}")
    for name, v in (("--min-distance", f.min_distance_m), ("--max-distance", f.max_distance_m)):
        if v is not None and v < 0:
            raise UserError(f"{name} must be a distance in metres >= 0, got {v}")
    if f.min_distance_m is not None and f.max_distance_m is not None and f.max_distance_m <= f.min_distance_m:
        raise UserError("--max-distance must be larger than --min-distance")
    camera = o.camera.strip()
    if s.depth_scale is not None and (camera.partition(":")[0] == "realsense" or Path(camera).expanduser().is_file()):
        raise UserError(f"--depth-scale is for folders and the demo; {camera} reports its own depth units "
                        "(leave out --depth-scale)")
    if not 0.0 <= o.alpha <= 1.0:
        raise UserError(f"--alpha must be between 0 and 1, got {o.alpha}")
    video_options(o)  # --keyframe-interval: one line now, before the camera starts
    check_outputs(o.outputs)
    if o.engine is not None:
        from sgnet.engines import lookup

        lookup(o.engine).check(device.type)  # an unknown engine, a missing extra or no CUDA: one line now
    if o.weights is not None and not Path(o.weights).expanduser().is_file():
        raise UserError(
            f"weights file not found: {o.weights} (pass a .pth/.pth.tar/.safetensors file or an exported .onnx/.xml, "
            "or leave out --weights)"
        )


def fills_holes(o: LiveOptions, source_kind: str | None) -> bool:
    """--fill-holes/--no-fill-holes as given; by default on for real frames (a camera, recording,
    bag or folder: raw holes mislead a model that learned from in-painted or rendered depth) and
    off for the demo clip, whose rendered holes the shipped model learned with."""
    if o.fill_holes is not None:
        return bool(o.fill_holes)
    return source_kind is not None and source_kind != "demo"


def load_segmenter(o: LiveOptions, source_kind: str | None = None) -> SegmenterLike:
    """The real `sgnet.Segmenter` for frames of `source_kind` (its user errors end the run as
    they are: one line)."""
    import sgnet
    from sgnet.device import resolve_device
    from sgnet.engines import default_device

    device = resolve_device(default_device(o.device, o.engine, o.weights), "--device")  # CPU engines: auto = cpu
    segmenter = sgnet.Segmenter(
        o.model if (o.model or o.weights) else "sgnet_lite",
        weights=str(Path(o.weights).expanduser()) if o.weights else None,
        random_weights=o.random_weights,
        classes=o.classes,
        device=device,
        precision=o.precision,
        compile=o.compile,
        channels_last=o.channels_last,
        cuda_graphs=o.cuda_graphs,
        engine=o.engine,
        no_cache=o.no_cache,
        on_export=None if o.quiet else say,
        # on a CPU the full-size logits upsample costs more than the light model itself:
        # take the argmax at the model's input size and scale the labels up instead
        label_resolution="input" if device.type == "cpu" else "frame",
        fill_holes=fills_holes(o, source_kind),
    )
    check_sconv(device, o.precision)
    video = video_options(o)
    if video is None:
        return segmenter  # interval 1 without --smooth: every frame through the network, no temporal layer
    from sgnet.temporal import VideoSegmenter

    wrapped = VideoSegmenter(segmenter, video)
    if not o.quiet:
        say(f"video mode: {video.describe()}")
    return wrapped


def video_options(o: LiveOptions) -> Any:
    """`sgnet.temporal.VideoOptions` for --keyframe-interval/--smooth, None for plain per-frame
    segmentation (interval 1 without --smooth); a bad interval is one line."""
    from sgnet.temporal import KeyframePolicy, VideoOptions, parse_interval

    try:
        interval = parse_interval(o.keyframe_interval)
    except SGNetUserError as e:
        raise UserError(str(e)) from None
    if interval == 1 and not o.smooth:
        return None
    return VideoOptions(KeyframePolicy(interval), smooth=o.smooth)


def prepare_engine(segmenter: SegmenterLike, info: Any, quiet: bool) -> None:
    """Build a non-torch engine before the first frame (an export for this frame size, when not cached),
    and say what runs the model."""
    prepare = getattr(segmenter, "prepare", None)
    if prepare is None or getattr(segmenter, "engine_name", "torch") == "torch":
        return
    engine = prepare(info.height, info.width)
    if not quiet:
        say(f"engine: {engine.name} ({engine.precision}): {engine.detail}")


def check_sconv(device: Any, precision: str, self_check: bool = True) -> None:
    """The S-Conv backend the model will run, resolved (SGNET_OPS_BACKEND) and, with `self_check`, its
    self-check (`ops.guard`, CUDA only) run now, before the first frame and before a compiled model
    traces it: an explicit backend that cannot run here or fails its check ends in one line, and auto's
    fallback warning comes at start, not mid-run."""
    import torch

    from ops import backends, guard

    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision, torch.float32)  # autocast's dtype
    try:
        if self_check:
            guard.backend_for(device, dtype)
        else:
            backends.resolve(device.type, str(dtype).removeprefix("torch."))
    except ValueError as e:  # an explicit choice that cannot run here, or failed its check
        env = os.environ.get(backends.ENV_VAR, "").strip()
        raise UserError(f"{backends.ENV_VAR}={env}: {e}" if env else str(e)) from None


def raise_run_error(result: Any) -> None:
    """Re-raise what ended a run (after the pipeline finalized every file): user errors and
    write failures as one line, anything else as it is. The app's sinks raise `OutputError`
    with what they kept; a bare OSError can only come from a sink that does not (sources turn
    theirs into bad frames or `SourceError`s), so it is an output failure too."""
    if result.error is None:
        return
    if isinstance(result.error, SGNetUserError):
        raise result.error
    if isinstance(result.error, OSError):
        where = f" {result.error.filename}" if result.error.filename else ""
        raise OutputError(f"{why_write_failed(result.error)}: cannot write output{where}") from None
    raise result.error


def model_line(segmenter: SegmenterLike, o: LiveOptions) -> str:
    """The "model: ..." line the user sees at start: the model, where its weights came from and
    what the file is (official checkpoint or ours, its classes), and a merged class set."""
    how = [w for w, on in (("compiled", o.compile), ("channels-last", o.channels_last),
                           ("CUDA graphs", o.cuda_graphs)) if on]  # fmt: skip
    head = f"model: {segmenter.model_name} on {segmenter.device} ({', '.join([segmenter.precision, *how])}), "
    loaded = getattr(segmenter, "loaded", None)
    if not segmenter.weights:
        line = head + "untrained random weights (--random-weights: labels are not meaningful)"
    elif not o.weights:
        shipped = Path(segmenter.weights).name
        line = head + f"shipped demo weights {shipped} (trained on synthetic rooms; --weights for your own)"
    else:
        line = head + (loaded.summary if loaded is not None else f"weights {segmenter.weights}")
    own = getattr(segmenter, "model_classes", segmenter.classes)
    if segmenter.classes != own:
        line += f"; shown as {segmenter.classes.describe()} (the model's class probabilities merged)"
    if getattr(segmenter, "fill_holes", False):
        line += "; depth holes in-painted before the model"
    return line


class _Interrupts:
    """First Ctrl-C/SIGTERM/SIGHUP: stop after the current frame, remembering which signal.
    Second Ctrl-C: KeyboardInterrupt (abort; the pipeline still finalizes the files)."""

    def __init__(self, pipeline: Any, quiet: bool) -> None:
        self.pipeline = pipeline
        self.quiet = quiet
        self.hit = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Interrupts:
        for sig in STOP_SIGNALS:
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        if self.hit and signum == signal.SIGINT:
            raise KeyboardInterrupt
        first, self.hit = not self.hit, True
        self.pipeline.stop(stop_reason(signum))
        if first and not self.quiet:
            again = " (Ctrl-C again to abort)" if signum == signal.SIGINT else ""
            say(f"{signal.Signals(signum).name}: stopping after the current frame{again}")

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def run_live(o: LiveOptions) -> int:
    """Run headless; returns the exit code (0 also after a clean Ctrl-C stop)."""
    check_options(o)
    from app.sources import open_source

    source = open_source(o.camera, o.source)
    info = source.info
    for note in source.notes:
        say(f"note: {note}")
    segmenter = load_segmenter(o, info.kind)
    if not o.quiet:
        say(f"source: {info.description}")
        say(model_line(segmenter, o))
    prepare_engine(segmenter, info, o.quiet)
    if not o.quiet:
        say_expectations(segmenter, info, say, compiled=o.compile)
    from app.pipeline import Pipeline
    from app.stats import print_summary

    outputs = build_sinks(o.outputs, window=False, segmenter=segmenter)
    pipeline = Pipeline(
        source,
        segmenter,
        outputs.sinks,
        log=outputs.log,
        max_frames=o.frames,
        alpha=o.alpha,
        progress_every_s=None if o.quiet else PROGRESS_EVERY_S,
        progress=None if o.quiet else say,
    )
    with _Interrupts(pipeline, o.quiet):
        result = pipeline.run()
    for line in result.sink_lines:
        say(line)
    for line in source.end_report():
        say(f"warning: {line}")
    print_summary(result.stats, f"sgnet-live · {segmenter.model_name} · {info.kind} · {result.reason}")
    raise_run_error(result)
    say_stopped(result)
    return 0


def say_stopped(result: Any) -> None:
    """The last line of a run a signal stopped: "stopped by SIGTERM after 57 frames"."""
    if result.reason.startswith("stopped by "):
        say(f"{result.reason} after {result.stats.frames} frames")
