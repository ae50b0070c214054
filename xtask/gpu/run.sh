#!/usr/bin/env bash
# On a GPU machine with PyTorch (CUDA): the benchmark of docs/GPU.md, side by side with PyTorch
# and Captum on the same GPU, weights and inputs, for vgg-small at 64×64 and VGG-16 at 224×224.
# Needs .gpu-kit/ from xtask/gpu/prepare.sh. Writes OUT_DIR/<arch>-<size>/{mrixai,peer,ratios}.json
# and prints the ratios (> 1: mrixai is faster).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: run.sh OUT_DIR}
kit=.gpu-kit
if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
  for f in "$kit"/deb/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
python3 -c 'import captum' 2>/dev/null || {
  python3 -m pip install -q --no-index --no-deps --target /tmp/gpu-kit-site "$kit"/wheels/*.whl
  export PYTHONPATH=/tmp/gpu-kit-site${PYTHONPATH:+:$PYTHONPATH}
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
for case in "vgg-small 64 32" "vgg16 224 32"; do
  set -- $case
  dir="$out/$1-$2"
  "$kit/xtask" bench-device --arch "$1" --size "$2" --batch "$3" --steps 10 --explain 8 \
    --device gpu --out "$dir"
  python3 xtask/gpu/peer.py "$dir" --device cuda
done
