"""What a weights file is, told from its bytes before anything parses it.

A torch.save zip, torch's legacy pickle (the released SGNet files), torch's oldest tar format or
safetensors go on to be loaded; a text file, an HTML page, a Git LFS pointer, a plain pickle or
random bytes are named as such, and a truncated zip or safetensors file is found here, so every
command that takes weights (and `sgnet train` before it starts) says what is wrong in one line.
"""

from __future__ import annotations

import json
import os
import pickletools
import zipfile
from pathlib import Path

from sgnet.errors import UnsafeCheckpointError, WeightsFileError

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


def damaged_error(path: Path, what: str, detail: object) -> WeightsFileError:
    """The one line for a weights file of a known format that cannot be read to its end."""
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
        raise damaged_error(path, "safetensors", f"the header says {n} bytes, the file has {size - 8} after the length")
    with open(path, "rb") as f:
        f.seek(8)
        raw = f.read(n)
    try:
        header = json.loads(raw)
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise damaged_error(path, "safetensors header", e) from None
    if size < 8 + n + end:
        raise damaged_error(path, "safetensors", f"its tensors need {8 + n + end} bytes, the file has {size}")


def _check_zip(path: Path) -> None:
    """A torch.save zip: the central directory (at the end) is intact and a data.pkl is listed."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        why = "the zip directory at its end is missing or broken"
        raise damaged_error(path, "PyTorch zip checkpoint", why) from None
    if not any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
        raise WeightsFileError(
            f"{path} is a zip archive but not a PyTorch checkpoint (no data.pkl inside); {_EXPECTED}"
        )


_HARMLESS = ("torch.", "collections.OrderedDict")  # how a pickle of tensors rebuilds them


def _pickle_imports(path: Path, most: int = 3) -> list[str]:
    """What a plain pickle would import when loaded, besides torch's tensor rebuilders, read from
    its opcodes without running any."""

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
            raise damaged_error(path, "Python pickle", e) from None
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
