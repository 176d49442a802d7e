"""Weights in and out: official SGNet `.pth.tar`, our own checkpoints, and `.safetensors`.

Reading never runs code: the format is first told from the file's bytes (`sniff_weights`: a
torch.save zip, torch's legacy pickle, safetensors; a text file, an HTML page, a plain pickle or
random bytes are named as such), torch checkpoints then go through
`torch.load(weights_only=True)`, and anything else is refused with one clear line (a truncated
file, a pickle that would run code, an unreadable file). Three layouts are understood:

- official: `{'epoch', 'iteration', 'state_dict'}` with `module.`-prefixed keys and
  InPlace-ABN norms (no `num_batches_tracked`). Every norm weight γ becomes |γ| + 1e-5
  (spec Trap 1), because ABN scales by that in its forward.
- ours (`save_weights` to .pt/.pth): `{'format': 'sgnet-live', 'model': state_dict,
  'model_name', 'num_classes', 'source', ...}`, plain BatchNorm weights.
- `.safetensors` (`save_weights` / `sgnet convert-weights`): plain BatchNorm weights; the
  metadata names the model, num_classes and source.

A bare state dict is accepted too: with `num_batches_tracked` entries it is taken as plain
BatchNorm, without them as InPlace-ABN (how the official code saves).
"""

from __future__ import annotations

import json
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from assets.classes import ClassSet, ClassSetError, default_class_set
from sgnet.errors import UnsafeCheckpointError, WeightsFileError, WeightsMismatchError
from sgnet.weights_sniff import damaged_error, sniff_weights

FORMAT = "sgnet-live"
ABN_EPS = 1e-5
_PREFIXES = ("module.", "_orig_mod.")
_SHOW = 4  # keys named per category in a mismatch message


@dataclass
class Checkpoint:
    """A weights file read into memory, with its tensors not yet matched to a model."""

    state_dict: dict[str, torch.Tensor]
    bn: str  # "abn" (official InPlace-ABN gamma, needs |g| + eps) or "plain"
    source: str  # "official" | "sgnet-live" | "safetensors" | "state_dict"
    model_name: str | None = None
    num_classes: int | None = None
    meta: dict[str, str] = field(default_factory=dict)
    classes: ClassSet | None = None  # the class set the metadata names (None: official files, old ones)


@dataclass
class LoadResult:
    """What `load_weights` did (for logs)."""

    path: str
    source: str
    converted_abn: bool
    dropped: list[str]
    filled: list[str]  # model tensors the file did not give (strict: BatchNorm counters; else also a new head)
    classes: ClassSet | None = None


def _stored_classes(path: Path, meta: Mapping[str, str]) -> ClassSet | None:
    """The class set in a file's metadata (`classes`: a ClassSet's JSON), None when absent."""
    raw = meta.get("classes")
    if not raw:
        return None
    try:
        return ClassSet.from_json(str(raw), key="custom", source=f"{path} metadata")
    except ClassSetError as e:
        raise WeightsFileError(f"{path}: its class set metadata is unreadable ({e}); re-save the weights") from None


def _read_safetensors(path: Path) -> Checkpoint:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = dict(f.metadata() or {})
            sd = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iterator)
    except Exception as e:  # safetensors raises its own SafetensorError / OSError types
        raise damaged_error(path, "safetensors", e) from None
    num_classes = meta.get("num_classes")
    bn = meta.get("bn") or ("plain" if _has_bn_counters(sd) or meta.get("format") == FORMAT else "abn")
    return Checkpoint(
        sd, bn, "safetensors", meta.get("model") or None, int(num_classes) if num_classes else None, meta,
        _stored_classes(path, meta),
    )


def _has_bn_counters(sd: Mapping[str, torch.Tensor]) -> bool:
    return any(k.endswith("num_batches_tracked") for k in sd)


_TORCH_FORMATS = {
    "zip": "PyTorch zip checkpoint", "legacy": "legacy PyTorch checkpoint", "tar": "PyTorch tar checkpoint",
}


def _torch_load(path: Path, kind: str) -> object:
    """torch.load(weights_only=True), its failures as one line each. torch's own warnings (e.g.
    about a pickle protocol) are silenced: the line raised here says all there is to say."""
    try:
        # a file object, so torch.load goes by the content, not by a .safetensors name
        with warnings.catch_warnings(), open(path, "rb") as f:
            warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.")
            return torch.load(f, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        lines = str(e).strip().splitlines()
        why = next((ln.strip() for ln in lines if "GLOBAL" in ln or "Unsupported" in ln), lines[0] if lines else "")
        if why.startswith("Unsupported operand"):  # an opcode, not an import: damage or a newer protocol
            raise WeightsFileError(
                f"cannot read {path} safely: its pickle uses an instruction torch's weights-only loader does not "
                f"support ({why}); it is damaged or saved with a newer pickle protocol: re-save it with torch.save's "
                "defaults or as .safetensors"
            ) from None
        raise UnsafeCheckpointError(
            f"refusing to load {path}: it is a pickle that would run code or build non-tensor objects "
            f"({why[:160]}); only plain tensor checkpoints or .safetensors files are accepted"
        ) from None
    except EOFError:
        raise damaged_error(path, _TORCH_FORMATS[kind], "the file ends early") from None
    except (RuntimeError, zipfile.BadZipFile, ValueError, OSError) as e:
        raise damaged_error(path, _TORCH_FORMATS[kind], e) from None


def _tensor_dict(obj: object) -> dict[str, torch.Tensor] | None:
    if isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return {str(k): v for k, v in obj.items()}
    return None


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read any supported weights file into a `Checkpoint` (keys still as stored). The format is
    told from the content (`sniff_weights`), never from the name, so a renamed file still reads
    and a text file or random bytes are named as such instead of failing deep inside a parser."""
    path = Path(path)
    kind = sniff_weights(path)
    if kind == "safetensors":
        return _read_safetensors(path)
    obj = _torch_load(path, kind)
    sd = _tensor_dict(obj)
    if sd is not None:  # a bare state dict
        return Checkpoint(sd, "plain" if _has_bn_counters(sd) else "abn", "state_dict")
    if not isinstance(obj, Mapping):
        raise WeightsFileError(f"{path} holds a {type(obj).__name__}, not a state dict or checkpoint dict")
    inner_key = next((k for k in ("model", "state_dict") if _tensor_dict(obj.get(k)) is not None), None)
    if inner_key is None:
        keys = ", ".join(sorted(map(str, obj))[:8])
        raise WeightsFileError(f"{path} has no tensor dict under 'state_dict' or 'model' (top-level keys: {keys})")
    sd = _tensor_dict(obj[inner_key])
    assert sd is not None
    meta = {k: str(v) for k, v in obj.items() if isinstance(v, str | int | float | bool)}
    if obj.get("format") == FORMAT:
        bn, source = str(obj.get("bn", "plain")), FORMAT
    elif "epoch" in obj and "iteration" in obj and not _has_bn_counters(sd):
        bn, source = "abn", "official"
    else:
        bn, source = ("plain" if _has_bn_counters(sd) else "abn"), "state_dict"
    num_classes = obj.get("num_classes")
    return Checkpoint(
        sd,
        bn,
        source,
        obj.get("model_name") if isinstance(obj.get("model_name"), str) else None,
        int(num_classes) if isinstance(num_classes, int) else None,
        meta,
        _stored_classes(path, meta),
    )


def strip_prefixes(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove DataParallel `module.` / torch.compile `_orig_mod.` prefixes."""
    out = {}
    for k, v in sd.items():
        changed = True
        while changed:
            changed = False
            for p in _PREFIXES:
                if k.startswith(p):
                    k, changed = k[len(p) :], True
        out[k] = v
    return out


def abn_to_batchnorm(sd: Mapping[str, torch.Tensor], eps: float = ABN_EPS) -> dict[str, torch.Tensor]:
    """InPlace-ABN -> BatchNorm2d: every norm weight (a `.weight` with a sibling `.running_mean`)
    becomes |γ| + eps; everything else is passed through unchanged."""
    out = dict(sd)
    for k in sd:
        if k.endswith(".running_mean"):
            wk = k[: -len("running_mean")] + "weight"
            if wk in out:
                out[wk] = out[wk].abs() + eps
    return out


def _model_name(model: nn.Module) -> str:
    return str(getattr(model, "sgnet_name", type(model).__name__))


def _fmt_keys(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOW])
    return shown + (f", ... (+{len(keys) - _SHOW} more)" if len(keys) > _SHOW else "")


def match_state_dict(
    model: nn.Module, ckpt: Checkpoint, path: str = "weights"
) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """Map a checkpoint onto `model`'s keys: strip prefixes, convert ABN, drop an unused aux head,
    fill BatchNorm counters. Returns (state dict, dropped keys, filled keys); raises
    WeightsMismatchError naming missing / unexpected / shape-mismatched keys otherwise."""
    sd = strip_prefixes(ckpt.state_dict)
    if ckpt.bn == "abn":
        sd = abn_to_batchnorm(sd)
    target = model.state_dict()
    dropped = []
    if not any(k.startswith("dsn3.") for k in target):  # deploy/fps model: official aux head unused
        dropped = [k for k in sd if k.startswith("dsn3.")]
        for k in dropped:
            del sd[k]
    filled = []
    for k, v in target.items():
        if k.endswith("num_batches_tracked") and k not in sd:
            sd[k] = torch.zeros_like(v)
            filled.append(k)
    for k in [k for k in sd if k.endswith("num_batches_tracked") and k not in target]:
        del sd[k]
    missing = [k for k in target if k not in sd]
    unexpected = [k for k in sd if k not in target]
    shapes = [
        f"{k} {tuple(sd[k].shape)} vs model {tuple(v.shape)}"
        for k, v in target.items()
        if k in sd and tuple(sd[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing ({_fmt_keys(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected ({_fmt_keys(unexpected)})")
        if shapes:
            parts.append(f"{len(shapes)} with other shapes ({_fmt_keys(shapes)})")
        whose = f"; the file says it is for {ckpt.model_name}" if ckpt.model_name else ""
        if ckpt.num_classes and getattr(model, "num_classes", None) not in (None, ckpt.num_classes):
            whose += f" with {ckpt.num_classes} classes"
        hint = "; use the model these weights were made for"
        if missing and all(k.startswith("dsn3.") for k in missing):
            hint = "; the file has no dsn3 aux head: use the deploy variant (fps=True)"
        raise WeightsMismatchError(
            f"{path} does not fit model {_model_name(model)} ({len(target)} tensors): {'; '.join(parts)}{whose}{hint}"
        )
    return sd, dropped, filled


def load_weights(model: nn.Module, path: str | Path, strict: bool = True) -> LoadResult:
    """Load a weights file into `model` in place (see the module docstring for formats).

    strict=False loads the tensors that fit and ignores the rest (for fine-tuning from a
    different head); the default refuses any mismatch with one readable message.
    """
    return load_checkpoint_into(model, read_checkpoint(path), path, strict)


def load_checkpoint_into(model: nn.Module, ckpt: Checkpoint, path: str | Path, strict: bool = True) -> LoadResult:
    """`load_weights` for a file already read (so telling its model and loading it reads it once)."""
    if strict:
        sd, dropped, filled = match_state_dict(model, ckpt, str(path))
    else:
        sd = strip_prefixes(ckpt.state_dict)
        sd = abn_to_batchnorm(sd) if ckpt.bn == "abn" else sd
        target = model.state_dict()
        dropped = [k for k in sd if k not in target or tuple(sd[k].shape) != tuple(target[k].shape)]
        sd = {k: v for k, v in sd.items() if k not in dropped}
        filled = [k for k in target if k not in sd]  # left as the model was built (e.g. a new class head)
    model.load_state_dict(sd, strict=strict)
    return LoadResult(str(path), ckpt.source, ckpt.bn == "abn", dropped, filled, ckpt.classes)


def model_classes(model: nn.Module) -> ClassSet | None:
    """The class set a model was built or trained for (`model.class_set`), else the default for
    its number of outputs; None for a module that declares neither."""
    classes = getattr(model, "class_set", None)
    if isinstance(classes, ClassSet):
        return classes
    n = getattr(model, "num_classes", None)
    return default_class_set(int(n)) if isinstance(n, int) else None


def weights_metadata(model: nn.Module, source: str = "") -> dict[str, str]:
    """The metadata our files carry: format, model name and options, num_classes, the class set
    (names, colours, mapping: so the file alone says what its outputs mean), BN convention."""
    classes = model_classes(model)
    return {
        "format": FORMAT,
        "model": _model_name(model),
        "model_kwargs": json.dumps(getattr(model, "sgnet_kwargs", {}), sort_keys=True),
        "num_classes": str(getattr(model, "num_classes", "")),
        "classes": classes.to_json() if classes is not None else "",
        "bn": "plain",
        "source": source,
    }


FP16_MAX = 65504.0


def save_weights(
    model: nn.Module, path: str | Path, source: str = "", half: bool = False, **extra: str | int | float
) -> Path:
    """Write `model`'s weights in our convention: .safetensors (metadata) or a .pt dict.

    half=True stores floating tensors as float16 (half the file, for shipping); loading casts
    them back to the model's dtype. Refuses values float16 cannot hold."""
    path = Path(path)
    sd = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    if half:
        too_big = [k for k, v in sd.items() if v.is_floating_point() and v.abs().max() > FP16_MAX]
        if too_big:
            raise ValueError(f"{len(too_big)} tensor(s) exceed the float16 range (e.g. {too_big[0]}); save in float32")
        sd = {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
    meta = weights_metadata(model, source)
    if half:
        meta["stored_dtype"] = "float16"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(sd, str(path), metadata={**meta, **{k: str(v) for k, v in extra.items()}})
    else:
        obj: dict[str, object] = {k: v for k, v in meta.items() if k != "model"}
        obj.update(model=sd, model_name=meta["model"], num_classes=getattr(model, "num_classes", None), **extra)
        torch.save(obj, str(path))
    return path
