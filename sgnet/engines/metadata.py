"""Reading the metadata `sgnet export` embeds (ONNX metadata_props, OpenVINO rt_info) back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sgnet.engines import require
from sgnet.errors import SGNetUserError

META_PREFIX = "sgnet_"  # ONNX keys; OpenVINO keeps them under rt_info["sgnet"] without it


def read_metadata(path: str | Path) -> dict[str, str]:
    """The `sgnet_*` metadata of an exported .onnx or .xml, without the prefix ({} when it has none)."""
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        require(("onnx",), "onnx", "reading an ONNX file")
        import onnx

        try:
            model = onnx.load(str(path), load_external_data=False)
        except Exception as e:  # a damaged or foreign file: one line
            raise SGNetUserError(f"{path} is not a readable ONNX file ({type(e).__name__}: {e})") from None
        return {p.key.removeprefix(META_PREFIX): p.value for p in model.metadata_props
                if p.key.startswith(META_PREFIX)}  # fmt: skip
    if path.suffix.lower() == ".xml":
        require(("openvino",), "openvino", "reading an OpenVINO file")
        import openvino as ov

        try:
            model = ov.Core().read_model(str(path))
        except Exception as e:
            raise SGNetUserError(f"{path} is not a readable OpenVINO IR ({type(e).__name__}: {e})") from None
        if not model.has_rt_info(["sgnet"]):
            return {}
        info = model.get_rt_info(["sgnet"])
        return {str(k): str(v.astype(str) if hasattr(v, "astype") else v) for k, v in _rt_items(info)}
    raise SGNetUserError(f"{path}: not an exported network (.onnx or OpenVINO .xml)")


def _rt_items(info: Any):
    """(key, value) pairs of an OpenVINO rt_info section (its Python API has changed shape over versions)."""
    value = getattr(info, "value", info)
    if isinstance(value, dict):
        return value.items()
    return dict(value).items()
