#!/usr/bin/env bash
# Prepares the GPU benchmark (docs/GPU.md) on a build machine, into .gpu-kit/ (git-ignored):
# the stripped `xtask` binary built with the cargo feature `gpu`, the Vulkan and EGL loader
# libraries as Debian packages (a GPU machine may have the driver without the loader), and
# Captum's wheel (pure Python). Then, on the GPU machine, from a checkout that holds .gpu-kit/:
#   bash xtask/gpu/run.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
kit=.gpu-kit
rm -rf "$kit"
mkdir -p "$kit/deb" "$kit/wheels"
cargo build --release -p xtask --features gpu
cp target/release/xtask "$kit/xtask"
strip "$kit/xtask"
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/gpu-kit-apt)
mkdir -p /tmp/gpu-kit-apt/partial
apt-get "${apt_opts[@]}" update -qq
(cd "$kit/deb" && apt-get "${apt_opts[@]}" download -qq \
  libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
python3 -m pip download -q --no-deps --only-binary=:all: -d "$kit/wheels" captum==0.9.0
du -sh "$kit"
