"""`sgnet-live`: the live RGB-D segmentation application."""

from __future__ import annotations

import typer

from app.cli_common import run_typer, version_callback

HELP = """Live RGB-D semantic segmentation with SGNet.

Sources (--camera): realsense (first camera) or realsense:SERIAL; demo (a synthetic room,
no camera or download needed); a RealSense recording (.bag or .db3, replayed frame by
frame, --realtime for recorded speed); a realsense-ros bag (ROS 1 .bag, ROS 2 folder, .db3 or
.mcap; --topics to pick the images; docs/rosbags.md); a folder of color/depth images (RGB/ +
Depth/, or NAME_color.png + NAME_depth.png).

Outputs: --save-video (mp4), --screenshot-dir (color, overlay, label PNG, 16-bit depth,
labeled PLY per shot), --save-labels (a class-id PNG per frame), --log-latency (.csv or
.jsonl, one row per frame), --publish (labels to other programs over ZeroMQ), --save-rosbag
(a ROS 2 bag of the labels), and a table of per-stage latency percentiles at exit. Ctrl-C
stops cleanly and keeps every file valid.

Without --headless a window shows the live overlay, latency HUD, class legend and (with
--point-cloud or the P key) a 3D view of the labeled points; press H in it for the keys.

Examples:

\b
  sgnet-live --camera demo --point-cloud
  sgnet-live --camera realsense --exit-screenshot window.png
  sgnet-live --camera demo --headless --frames 300 --save-video demo.mp4
  sgnet-live --camera realsense --headless --log-latency lat.csv --spatial --temporal
  sgnet-live --camera recording.db3 --headless --save-video out.mp4 --video-view side-by-side
  sgnet-live --camera data/nyudv2 --headless --screenshot-dir shots --screenshot-every 50
  sgnet-live --camera robot_run/ --headless --save-labels labels
  sgnet-live --camera demo --headless --frames 60 --save-video out.mp4 --log-latency lat.csv
  sgnet-live --camera demo --headless --engine openvino
  sgnet-live --camera realsense --headless --publish tcp://127.0.0.1:5555 --publish-fields depth
  sgnet-live --camera recording.db3 --headless --save-rosbag labels.mcap
  sgnet-live --camera realsense --device cuda --precision fp16 --channels-last --cuda-graphs
"""

app = typer.Typer(
    name="sgnet-live",
    help=HELP,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_SRC = "Source"
_MODEL = "Model"
_OUT = "Outputs"
_FILT = "Depth filters (librealsense's, on every source; off by default)"
_WIN = "Window (without --headless)"
_VIDEO = "Video mode (docs/video.md)"


@app.command(help=HELP)
def live(
    camera: str = typer.Option(
        "demo", "--camera", help="realsense, realsense:SERIAL, demo, a .bag/.db3 recording, a ROS bag (.bag, "
        ".mcap, .db3, ROS 2 folder), or an image folder.",
        rich_help_panel=_SRC,
    ),
    width: int | None = typer.Option(None, "--width", help="Frame width (realsense: 640; demo: 320).",
                                     rich_help_panel=_SRC),
    height: int | None = typer.Option(None, "--height", help="Frame height (realsense: 480; demo: 240).",
                                      rich_help_panel=_SRC),
    fps: int | None = typer.Option(None, "--fps", help="Frame rate (default 30).", rich_help_panel=_SRC),
    realtime: bool = typer.Option(
        False, "--realtime", help="Recordings/folders/demo: play at recorded speed (may drop frames) "
        "instead of every frame as fast as possible.", rich_help_panel=_SRC,
    ),
    depth_scale: float | None = typer.Option(
        None, "--depth-scale", help="Folders and the demo: metres per depth unit (folders: default 0.001 = "
        "millimetres); a warning names a better value when the depth looks like the wrong units.",
        rich_help_panel=_SRC,
    ),
    frames: int | None = typer.Option(None, "--frames", help="Stop after N frames.", rich_help_panel=_SRC),
    allow_damaged: bool = typer.Option(
        False, "--allow-damaged", help="Recordings: play what can be read of a damaged or truncated file and "
        "exit 0, still reporting what was lost (without it such a file ends with exit status 3).",
        rich_help_panel=_SRC,
    ),
    topics: str | None = typer.Option(None, "--topics", help="ROS bags: COLOR,DEPTH topic names (default: found "
                                      "by their realsense-ros names).", rich_help_panel=_SRC),
    preset: str | None = typer.Option(None, "--preset", help="Live RealSense: D400 visual preset (high-accuracy, "
                                      "high-density, medium-density, hand, default).", rich_help_panel=_SRC),
    preset_json: str | None = typer.Option(None, "--preset-json", help="Live RealSense: advanced-mode JSON as saved "
                                           "by the RealSense Viewer.", rich_help_panel=_SRC),
    decimation: int = typer.Option(0, "--decimation", help="Decimation magnitude 2..8 (0 = off).",
                                   rich_help_panel=_FILT),
    spatial: bool = typer.Option(False, "--spatial", help="Edge-preserving spatial filter.", rich_help_panel=_FILT),
    temporal: bool = typer.Option(False, "--temporal", help="Temporal filter.", rich_help_panel=_FILT),
    hole_filling: bool = typer.Option(False, "--hole-filling", help="Hole-filling filter.", rich_help_panel=_FILT),
    min_distance: float | None = typer.Option(None, "--min-distance", help="Threshold filter: drop depth nearer "
                                              "than this (metres).", rich_help_panel=_FILT),
    max_distance: float | None = typer.Option(None, "--max-distance", help="Threshold filter: drop depth farther "
                                              "than this (metres).", rich_help_panel=_FILT),
    model: str | None = typer.Option(None, "--model", help="Model name (see `sgnet info`); default: the model "
                                     "the --weights file is for, else sgnet_lite.", rich_help_panel=_MODEL),
    weights: str | None = typer.Option(None, "--weights", help="Weights file (official .pth.tar, .pth, "
                                       ".safetensors), loaded safely; default: the shipped demo weights "
                                       "(sgnet_lite only).", rich_help_panel=_MODEL),
    classes: str | None = typer.Option(None, "--classes", help="Class set to show: nyu40, nyu13, sunrgbd37 or a "
                                       "JSON file; default: the one stored in the weights. Another set merges the "
                                       "model's class probabilities into it.", rich_help_panel=_MODEL),
    random_weights: bool = typer.Option(False, "--random-weights", help="Run a model that has no weights with "
                                        "untrained random ones (speed checks; labels mean nothing).",
                                        rich_help_panel=_MODEL),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N.", rich_help_panel=_MODEL),
    precision: str = typer.Option("fp32", "--precision", help="fp32, fp16 or bf16.", rich_help_panel=_MODEL),
    compile_model: bool = typer.Option(False, "--compile", help="torch.compile the model (CPU or CUDA): the first "
                                       "frames wait while it compiles, again for each new input size.",
                                       rich_help_panel=_MODEL),
    channels_last: bool = typer.Option(False, "--channels-last", help="Run the model in channels-last memory format "
                                       "(usually faster convolutions on GPUs).", rich_help_panel=_MODEL),
    cuda_graphs: bool = typer.Option(False, "--cuda-graphs", help="Replay the model from a CUDA graph, captured once "
                                     "per input size (CUDA only: less CPU time per frame).", rich_help_panel=_MODEL),
    engine: str | None = typer.Option(None, "--engine", help="What runs the model: torch, onnxruntime, openvino "
                                      "(CPU) or tensorrt (CUDA); default: torch, or the engine an exported .onnx/.xml "
                                      "--weights file picks. Others export once into the cache (docs/engines.md).",
                                      rich_help_panel=_MODEL),
    no_cache: bool = typer.Option(False, "--no-cache", help="With --engine: export into a temporary folder, not the "
                                  "engine cache.", rich_help_panel=_MODEL),
    fill_holes: bool = typer.Option(None, "--fill-holes/--no-fill-holes", help="In-paint the depth's holes "
                                    "before the model (nearest valid depth, smoothed, as NYUv2's depth); default: "
                                    "on for every source but the rendered demo clip. Raw holes, isolated ones "
                                    "most, read as windows and clutter (docs/demo-model.md).",
                                    rich_help_panel=_MODEL),
    keyframe_interval: str = typer.Option("1", "--keyframe-interval", help="Run the network on every N-th frame "
                                          "and carry its class probabilities to the frames between (1 = every "
                                          "frame); auto: a new keyframe when the scene changed enough.",
                                          rich_help_panel=_VIDEO),
    smooth: bool = typer.Option(False, "--smooth", help="Filter class probabilities over time along the camera's "
                                "motion: steadier labels on static surfaces.", rich_help_panel=_VIDEO),
    headless: bool = typer.Option(False, "--headless", help="No window: needs no display at all.",
                                  rich_help_panel=_OUT),
    point_cloud: bool = typer.Option(False, "--point-cloud", help="Show the 3D view of the labeled points from "
                                     "the start (P toggles it).", rich_help_panel=_WIN),
    pc_stride: int = typer.Option(2, "--pc-stride", help="3D view: every N-th pixel in both directions.",
                                  rich_help_panel=_WIN),
    pc_max_depth: float = typer.Option(8.0, "--pc-max-depth", help="3D view: leave out points farther than "
                                       "this (metres).", rich_help_panel=_WIN),
    view: str = typer.Option("overlay", "--view", help="First view: overlay, color, labels, depth, hha, "
                             "side-by-side or confidence (V cycles).", rich_help_panel=_WIN),
    exit_screenshot: str | None = typer.Option(None, "--exit-screenshot", help="Save a PNG of the whole window "
                                               "when it closes.", rich_help_panel=_WIN),
    save_video: str | None = typer.Option(None, "--save-video", help="Write an mp4 video.", rich_help_panel=_OUT),
    video_view: str = typer.Option("overlay", "--video-view", help="overlay, side-by-side (color | classes | "
                                   "depth) or labels.", rich_help_panel=_OUT),
    screenshot_dir: str | None = typer.Option(None, "--screenshot-dir", help="Write screenshot bundles here "
                                              "(headless: one of the last frame unless --screenshot-every; "
                                              "window: also S, R and E save here).", rich_help_panel=_OUT),
    screenshot_every: int | None = typer.Option(None, "--screenshot-every", help="A screenshot every N frames.",
                                                rich_help_panel=_OUT),
    log_latency: str | None = typer.Option(None, "--log-latency", help="Per-frame latency log (.csv or .jsonl).",
                                           rich_help_panel=_OUT),
    save_labels: str | None = typer.Option(None, "--save-labels", help="Write the class ids of every frame to "
                                           "DIR/NNNNNN.png (8-bit grayscale, frame index as in the latency log; "
                                           "255 = no prediction).", rich_help_panel=_OUT),
    save_confidence: bool = typer.Option(False, "--save-confidence", help="With --save-labels: also "
                                         "DIR/NNNNNN_conf.png (confidence x 255); with --save-rosbag: also "
                                         "/sgnet/confidence (mono8, x 255).", rich_help_panel=_OUT),
    publish: str | None = typer.Option(None, "--publish", help="Send every frame's labels to other programs over "
                                       "ZeroMQ (tcp://127.0.0.1:5555, ipc:///tmp/sgnet); docs/stream.md.",
                                       rich_help_panel=_OUT),
    publish_fields: str = typer.Option("labels", "--publish-fields", help="What --publish sends: labels (always), "
                                       "confidence, depth, color, comma-separated.", rich_help_panel=_OUT),
    save_rosbag: str | None = typer.Option(None, "--save-rosbag", help="Write the labels as a ROS 2 bag: "
                                           "folder OUT without its suffix, NAME.mcap -> NAME/NAME.mcap (mcap), "
                                           "NAME.db3 or NAME -> sqlite; /sgnet/labels, /sgnet/camera_info, stamped "
                                           "like the source (docs/stream.md).",
                                           rich_help_panel=_OUT),
    alpha: float = typer.Option(0.5, "--alpha", help="Overlay opacity of the class colors (0..1).",
                                rich_help_panel=_OUT),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines (the summary still prints).",
                               rich_help_panel=_OUT),
    version: bool = typer.Option(
        False, "--version", callback=version_callback, is_eager=True, help="Show the version."
    ),
) -> None:
    from app.live import LiveOptions, run_live
    from app.outputs import OutputOptions
    from app.sources.base import FilterOptions, SourceOptions

    opts = LiveOptions(
        camera=camera,
        model=model,
        weights=weights,
        classes=classes,
        random_weights=random_weights,
        device=device,
        precision=precision,
        compile=compile_model,
        channels_last=channels_last,
        cuda_graphs=cuda_graphs,
        engine=engine,
        no_cache=no_cache,
        frames=frames,
        keyframe_interval=keyframe_interval,
        smooth=smooth,
        fill_holes=fill_holes,
        source=SourceOptions(
            width=width,
            height=height,
            fps=fps,
            realtime=realtime,
            depth_scale=depth_scale,
            filters=FilterOptions(decimation, spatial, temporal, hole_filling, min_distance, max_distance),
            allow_damaged=allow_damaged,
            topics=topics,
            preset=preset,
            preset_json=preset_json,
        ),
        outputs=OutputOptions(save_video, video_view, screenshot_dir, screenshot_every, log_latency,
                              save_labels=save_labels, save_confidence=save_confidence, publish=publish,
                              publish_fields=publish_fields, save_rosbag=save_rosbag),
        alpha=alpha,
        quiet=quiet,
    )
    if headless:
        window_only = [flag for flag, given in (("--exit-screenshot", exit_screenshot is not None),
                                                ("--point-cloud", point_cloud)) if given]
        if window_only:
            from app.errors import UserError

            raise UserError(f"{window_only[0]} is for the window, and --headless has none: leave out one of them "
                            "(without a screen, QT_QPA_PLATFORM=offscreen runs the window off screen)")
        raise typer.Exit(run_live(opts))
    from app.gui.launch import run_gui
    from app.gui.options import DEFAULT_CAPTURE_DIR, GuiOptions

    gui = GuiOptions(
        point_cloud=point_cloud,
        pc_stride=pc_stride,
        pc_max_depth=pc_max_depth,
        exit_screenshot=exit_screenshot,
        capture_dir=screenshot_dir or DEFAULT_CAPTURE_DIR,
        view=view,
        alpha=alpha,
    )
    raise typer.Exit(run_gui(opts, gui))


def main(argv: list[str] | None = None) -> None:
    run_typer(app, "sgnet-live", argv)


if __name__ == "__main__":
    main()
