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
import os
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from sgnet.errors import UnsafeCheckpointError, WeightsFileError, WeightsMismatchError

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


@dataclass
class LoadResult:
    """What `load_weights` did (for logs)."""

    path: str
    source: str
    converted_abn: bool
    dropped: list[str]
    filled: list[str]


_EXPECTED = "expected .pth/.pth.tar/.safetensors"
_HEAD = 4096  # bytes read to tell what a file is
_SAFETENSORS_MAX_HEADER = 100_000_000  # the limit the safetensors format itself sets
# torch.save's legacy format (the released SGNet files) starts with its magic number, pickled
# with protocol 2: a pickle without it is not a checkpoint torch.load could ever read.
_TORCH_LEGACY = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."
_TEXT_KINDS = (  # (how a text file starts, what it then is)
    (("<!doctype html", "<html"), "an HTML page, not a weights file (a failed download? fetch it again)"),
    (("version https://git-lfs",), "a Git LFS pointer, not the weights themselves (run `git lfs pull`)"),
)


def _check_path(path: Path) -> None:
    if not os.path.lexists(path):
        try:
            path.stat()  # tells an unreadable folder on the way from a missing file
        except PermissionError:
            raise WeightsFileError(f"cannot read {path}: permission denied (check the folder's permissions)") from None
        except OSError:
            pass
        raise WeightsFileError(f"weights file not found: {path} (check the path)")
    if path.is_dir():
        raise WeightsFileError(f"weights path {path} is a folder; pass the .pth.tar / .pt / .safetensors file")


def _read_head(path: Path) -> tuple[bytes, int]:
    """The first bytes and the size; an unreadable file is one line, not a traceback."""
    try:
        with open(path, "rb") as f:
            return f.read(_HEAD), os.fstat(f.fileno()).st_size
    except PermissionError:
        raise WeightsFileError(f"cannot read {path}: permission denied (check the file's permissions)") from None
    except OSError as e:
        raise WeightsFileError(f"cannot read {path}: {(e.strerror or str(e)).lower()}") from None


def _damaged(path: Path, what: str, detail: object) -> WeightsFileError:
    why = " ".join(str(detail).split())[:160] or type(detail).__name__
    return WeightsFileError(
        f"{path} is truncated or damaged ({what}: {why}); cannot read it: copy or download it again"
    )


def _is_text(head: bytes) -> bool:
    """Mostly printable UTF-8 without NUL bytes (a character cut at the end of `head` is fine)."""
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 3 or len(head) < _HEAD:
            return False
        text = head[: e.start].decode("utf-8")
    odd = sum(1 for c in text if not (c.isprintable() or c in "\t\n\r\f\v"))
    return odd <= len(text) // 20


def _safetensors_header_length(head: bytes) -> int | None:
    """The JSON header length when `head` starts like a safetensors file (8-byte little-endian
    length, then '{'), else None."""
    if len(head) < 9 or head[8:9] != b"{":
        return None
    n = int.from_bytes(head[:8], "little")
    return n if 2 <= n <= _SAFETENSORS_MAX_HEADER else None


def _check_safetensors(path: Path, n: int, size: int) -> None:
    """The header parses and every tensor it lists lies inside the file."""
    if size < 8 + n:
        raise _damaged(path, "safetensors", f"the header says {n} bytes, the file has {size - 8} after the length")
    with open(path, "rb") as f:
        f.seek(8)
        raw = f.read(n)
    try:
        header = json.loads(raw)
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise _damaged(path, "safetensors header", e) from None
    if size < 8 + n + end:
        raise _damaged(path, "safetensors", f"its tensors need {8 + n + end} bytes, the file has {size}")


def _check_zip(path: Path) -> None:
    """A torch.save zip: the central directory (at the end) is intact and a data.pkl is listed."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _damaged(path, "PyTorch zip checkpoint", "the zip directory at its end is missing or broken") from None
    if not any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
        raise WeightsFileError(
            f"{path} is a zip archive but not a PyTorch checkpoint (no data.pkl inside); {_EXPECTED}"
        )


_HARMLESS = ("torch.", "collections.OrderedDict")  # how a pickle of tensors rebuilds them


def _pickle_imports(path: Path, most: int = 3) -> list[str]:
    """What a plain pickle would import when loaded, besides torch's tensor rebuilders, read from
    its opcodes without running any."""
    import pickletools

    found: list[str] = []
    strings: list[str] = []
    with open(path, "rb") as f:
        try:
            for op, arg, _ in pickletools.genops(f):
                if op.name == "GLOBAL":
                    found.append(str(arg).replace(" ", "."))
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.append(".".join(strings[-2:]))
                elif isinstance(arg, str):
                    strings.append(arg)
                if found and found[-1].startswith(_HARMLESS):
                    found.pop()
                if len(found) >= most:
                    break
        except (ValueError, EOFError) as e:
            raise _damaged(path, "Python pickle", e) from None
    return found


def _refuse_plain_pickle(path: Path) -> WeightsFileError:
    """A pickle that is not torch.save's format: torch.load could never read it, so say what it is."""
    imports = _pickle_imports(path)
    if imports:
        return UnsafeCheckpointError(
            f"refusing to load {path}: it is a plain Python pickle, not a PyTorch checkpoint, and loading it "
            f"would run code ({', '.join(imports)}); only torch.save checkpoints or .safetensors files are accepted"
        )
    return WeightsFileError(
        f"{path} is a plain Python pickle, not a PyTorch checkpoint; save the tensors with torch.save or safetensors"
    )


def sniff_weights(path: str | Path) -> str:
    """What a weights file holds, judged from its bytes before anything parses it: "zip" (torch.save),
    "legacy" (torch.save's old pickle format, as the released SGNet files), "tar" (torch's oldest
    format) or "safetensors". Everything else raises a WeightsFileError that says what the file is
    (text, an HTML page, random bytes, a plain pickle, ...), and a truncated zip or safetensors file
    is found here too, so `sgnet train` can check its --weights before it starts."""
    path = Path(path)
    _check_path(path)
    head, size = _read_head(path)
    if size == 0:
        raise WeightsFileError(f"{path} is empty (0 bytes), not a weights file; copy or download it again")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        _check_zip(path)
        return "zip"
    n = _safetensors_header_length(head)
    if n is not None:
        _check_safetensors(path, n, size)
        return "safetensors"
    if head.startswith(_TORCH_LEGACY):
        return "legacy"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise _refuse_plain_pickle(path)
    if head[257:262] == b"ustar":
        return "tar"
    if _is_text(head):
        start = head[:64].decode("utf-8", "replace").lstrip().lower()
        what = next((w for starts, w in _TEXT_KINDS if start.startswith(starts)), None)
        raise WeightsFileError(f"{path} is {what or f'a text file, not a weights file ({_EXPECTED})'}")
    raise WeightsFileError(
        f"{path} is not a weights file (unrecognised content: neither a PyTorch checkpoint nor safetensors); "
        "check that it is the file you meant"
    )


def _read_safetensors(path: Path) -> Checkpoint:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = dict(f.metadata() or {})
            sd = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iterator)
    except Exception as e:  # safetensors raises its own SafetensorError / OSError types
        raise _damaged(path, "safetensors", e) from None
    num_classes = meta.get("num_classes")
    bn = meta.get("bn") or ("plain" if _has_bn_counters(sd) or meta.get("format") == FORMAT else "abn")
    return Checkpoint(sd, bn, "safetensors", meta.get("model") or None, int(num_classes) if num_classes else None, meta)


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
        raise _damaged(path, _TORCH_FORMATS[kind], "the file ends early") from None
    except (RuntimeError, zipfile.BadZipFile, ValueError, OSError) as e:
        raise _damaged(path, _TORCH_FORMATS[kind], e) from None


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
    ckpt = read_checkpoint(path)
    if strict:
        sd, dropped, filled = match_state_dict(model, ckpt, str(path))
    else:
        sd = strip_prefixes(ckpt.state_dict)
        sd = abn_to_batchnorm(sd) if ckpt.bn == "abn" else sd
        target = model.state_dict()
        dropped = [k for k in sd if k not in target or tuple(sd[k].shape) != tuple(target[k].shape)]
        sd = {k: v for k, v in sd.items() if k not in dropped}
        filled = []
    model.load_state_dict(sd, strict=strict)
    return LoadResult(str(path), ckpt.source, ckpt.bn == "abn", dropped, filled)


def weights_metadata(model: nn.Module, source: str = "") -> dict[str, str]:
    """The metadata our files carry: format, model name and options, num_classes, BN convention."""
    return {
        "format": FORMAT,
        "model": _model_name(model),
        "model_kwargs": json.dumps(getattr(model, "sgnet_kwargs", {}), sort_keys=True),
        "num_classes": str(getattr(model, "num_classes", "")),
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


@dataclass(frozen=True)
class ModelGuess:
    """The model a weights file was most likely saved from."""

    name: str
    kwargs: dict
    num_classes: int | None  # None when neither the metadata nor a classifier tells


_CLASSIFIER_BIASES = ("dsn4.3.bias", "head.1.bias", "decoder.classifier.bias")


def _classes_from_keys(sd: Mapping[str, torch.Tensor]) -> int | None:
    """The number of classes from the final classifier's bias, whichever head the model has."""
    for key in _CLASSIFIER_BIASES:
        if key in sd:
            return int(sd[key].shape[0])
    return None


def guess_model(ckpt: Checkpoint) -> ModelGuess:
    """The model (name, options, classes) a checkpoint was most likely saved from: its metadata
    if it names one, else the key layout (ASPP head, layer3 depth, light-model stem/decoder,
    dsn3) and the classifier's shape. The one place weights files are recognised."""
    sd = strip_prefixes(ckpt.state_dict)
    classes = ckpt.num_classes or _classes_from_keys(sd)
    if ckpt.model_name:
        kwargs = {}
        raw = ckpt.meta.get("model_kwargs")
        if raw:
            try:
                kwargs = dict(json.loads(raw))
            except (ValueError, TypeError):
                kwargs = {}
        return ModelGuess(ckpt.model_name, kwargs, classes)
    keys = sd.keys()
    aux = any(k.startswith("dsn3.") for k in keys)
    if any(k.startswith("stem.") for k in keys):
        name = "sgnet_lite" if any(k.startswith("decoder.") for k in keys) else "sgnet_r18"
    elif any(k.startswith("head.0.") for k in keys):
        name = "sgnet_r101_aspp"
    elif any(k.startswith("layer3.22.") for k in keys):
        name = "sgnet_r101"
    elif any(k.startswith("layer3.5.") for k in keys):
        name = "sgnet_r50"
    else:
        raise WeightsMismatchError(
            f"cannot tell which model these {len(keys)} tensors belong to; pass the model name explicitly"
        )
    return ModelGuess(name, {"aux": aux}, classes)


# Weights shipped in the assets package, by model name (timm's "pretrained" tag, for the one
# model small enough to ship): trained on `sgnet synth` rooms, see the README's "Demo model".
BUNDLED = {"sgnet_lite": "sgnet_lite_synth.safetensors"}


def bundled_weights(model_name: str) -> Path | None:
    """The shipped weights file for `model_name`, or None when there is none (or it is missing)."""
    name = BUNDLED.get(model_name)
    if name is None:
        return None
    from assets import resource_path

    res = resource_path(name)
    return Path(str(res)) if res.is_file() else None
