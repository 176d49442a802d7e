#!/usr/bin/env bash
# Set up sgnet-live from a fresh clone: Debian packages, a venv in .venv, the CPU torch wheel,
# and the project with its test extra. Safe to run again (it only adds what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libusb-1.0-0                                   # pyrealsense2 (USB cameras)
  libgl1 libegl1 libvulkan1 mesa-vulkan-drivers  # Open3D offscreen rendering (lavapipe)
  libglib2.0-0 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0  # Qt
  libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-image0 libxcb-render-util0 libxcb-randr0  # Qt on X11
)
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}  # pinned: an unpinned torch pulls GBs of CUDA wheels

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO="-"; fi
  if [ "$SUDO" = "-" ]; then
    echo "setup: please install these Debian packages first: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "$TORCH_SPEC"
# gpu = triton: its kernels are tested on CPU by its interpreter; onnx, openvino: the CPU engines (~300 MB of wheels)
.venv/bin/python -m pip install -q -e ".[test,gpu,onnx,openvino]"
echo "setup: done — try: .venv/bin/sgnet-live --camera demo"
