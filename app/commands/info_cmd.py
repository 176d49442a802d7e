"""`sgnet info`: what is installed and what this machine can run."""

from __future__ import annotations

import platform

import typer


def info() -> None:
    """Show versions, compute devices and what the project offers.

    Example: sgnet info
    """
    from importlib.metadata import PackageNotFoundError, version

    import torch
    from rich.console import Console
    from rich.table import Table

    import ops
    import sgnet
    from app.cli_common import package_version

    table = Table(title=f"sgnet-live {package_version()}", show_header=False)
    table.add_row("python", platform.python_version())
    for dist in ("torch", "numpy", "opencv-python-headless", "pyrealsense2", "PyQt5", "open3d", "triton"):
        try:
            table.add_row(dist, version(dist))
        except PackageNotFoundError:
            table.add_row(dist, "not installed")
    if torch.cuda.is_available():
        table.add_row("cuda", f"{torch.version.cuda} — {torch.cuda.get_device_name(0)}")
    else:
        table.add_row("cuda", "not available (CPU only)")
    table.add_row("cpu threads", str(torch.get_num_threads()))
    table.add_row("S-Conv backend", f"{ops.get_backend()} (cpu: {', '.join(ops.available_backends('cpu'))}"
                  + (f"; cuda: {', '.join(ops.available_backends('cuda'))})" if torch.cuda.is_available() else ")"))
    table.add_row("models", ", ".join(sgnet.list_models()))
    Console().print(table)
    raise typer.Exit(0)
