"""D400 depth presets on a live camera: a visual preset by name, or an advanced-mode JSON file.

`--preset NAME` sets the depth sensor's `visual_preset` option to librealsense's
`rs400_visual_preset` value of that name. `--preset-json FILE` loads a file as the RealSense
Viewer saves it ("Save preset") through the camera's advanced mode, which a D400 keeps on once
turned on (the Viewer turns it on when it loads a preset). Everything a user can get wrong is
one line: an unknown name, a file that is missing or not JSON, a camera without the option or
without advanced mode, a value the camera refuses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.sources.depth_filters import rs_module

PRESETS = {  # the names users type -> rs400_visual_preset members
    "high-accuracy": "high_accuracy",
    "high-density": "high_density",
    "medium-density": "medium_density",
    "hand": "hand",
    "default": "default",
}


def check_preset_options(preset: str | None, preset_json: str | None) -> str | None:
    """Validate the options before a camera is touched; returns the JSON text to load, if any."""
    if preset is not None and preset_json is not None:
        raise UserError("--preset and --preset-json both set the camera's depth settings: give one of them")
    if preset is not None and preset not in PRESETS:
        raise UserError(f"unknown --preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    if preset_json is None:
        return None
    path = Path(preset_json).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"--preset-json: no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"--preset-json: cannot read {path} ({getattr(e, 'strerror', None) or e})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"--preset-json: {path} is not JSON ({e.msg} at line {e.lineno}); save the preset from the "
                        "RealSense Viewer") from None
    if not isinstance(data, dict) or not data:
        raise UserError(f"--preset-json: {path} holds no settings (expected the RealSense Viewer's JSON object)")
    return text


def _depth_sensor(device: Any) -> Any | None:
    rs = rs_module()
    for sensor in device.query_sensors():
        if sensor.supports(rs.option.visual_preset):
            return sensor
    return None


def apply_preset(device: Any, name: str, camera: str) -> str:
    """Set the visual preset; returns the words for the source's description."""
    rs = rs_module()
    sensor = _depth_sensor(device)
    if sensor is None:
        raise UserError(f"{camera} has no visual presets (--preset is for D400 cameras); leave --preset out")
    value = int(getattr(rs.rs400_visual_preset, PRESETS[name]))
    try:
        sensor.set_option(rs.option.visual_preset, float(value))
    except RuntimeError as e:
        raise UserError(f"{camera} refused --preset {name}: {e}") from None
    return f"preset {name}"


def load_preset_json(device: Any, text: str, path: str, camera: str) -> str:
    """Load an advanced-mode JSON; returns the words for the source's description."""
    rs = rs_module()
    if not (device.supports(rs.camera_info.advanced_mode)
            and str(device.get_info(rs.camera_info.advanced_mode)).upper() == "YES"):
        on = device.supports(rs.camera_info.advanced_mode)
        why = ("advanced mode is off: load the file once in the RealSense Viewer, which turns it on (the camera "
               "keeps it)") if on else "it has no advanced mode (--preset-json is for D400 cameras)"
        raise UserError(f"{camera} cannot load --preset-json {path}: {why}")
    try:
        rs.rs400_advanced_mode(device).load_json(text)
    except RuntimeError as e:
        raise UserError(f"{camera} refused --preset-json {path}: {e}") from None
    return f"preset {Path(path).name}"
