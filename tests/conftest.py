"""Suite-wide settings: no display needed, GPU tests skip cleanly without CUDA."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from playback_flaky import retry_lost_frames  # noqa: E402
from rs_watchdog import DEADLINE_S, Watchdog, uses_librealsense  # noqa: E402


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:  # librealsense's rare native hangs: killed by rs_watchdog, then run again
        if uses_librealsense(item) and item.get_closest_marker("flaky") is None:
            item.add_marker(retry_lost_frames)
    if _cuda_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


_watchdog: Watchdog | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _watchdog
    if os.environ.get("PYTEST_XDIST_WORKER"):  # killing a lone pytest would end the whole run
        _watchdog = Watchdog()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _watchdog is not None:
        _watchdog.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    armed = _watchdog is not None and uses_librealsense(item)
    if armed:
        _watchdog.arm(DEADLINE_S)
    try:
        yield
    finally:
        if armed:
            _watchdog.disarm()


@pytest.fixture
def one_torch_thread():
    """Tiny shapes: one intra-op thread, so OpenMP hand-offs on a busy machine do not dominate
    (the S-Conv tests use it)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def nearly_full_tmpfs(tmp_path):
    """`make(size, free_kib)`: a tmpfs of `size` (e.g. "1m") with about `free_kib` KiB left, for
    real full-disk errors (needs the right to mount: root; else the test is skipped)."""
    import subprocess

    mounted = []

    def make(size: str, free_kib: int):
        disk = tmp_path / f"disk{len(mounted)}"
        disk.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
        mounted.append(disk)
        st = os.statvfs(disk)
        (disk / "filler").write_bytes(bytes(st.f_bavail * st.f_frsize - free_kib * 1024))
        return disk

    yield make
    for disk in mounted:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
