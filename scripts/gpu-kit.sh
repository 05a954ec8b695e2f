#!/usr/bin/env bash
# Packs, on this machine, what scripts/gpu-check.sh needs on a GPU machine that has
# the NVIDIA driver, nvcc and python3 with torch but no Node.js, no package registry
# and no ../shared beside the checkout (the lent device machines):
#   bash scripts/gpu-kit.sh
# leaves .gpu-kit/ (ignored) with a Node binary, the modules vitest runs with and the
# MNIST files, and builds the CUDA addon and dist/ here, so the GPU's time goes to the
# checks, not to a build. Send .gpu-kit, dist and build/Release/tensorgrad.node with
# the run (the device tool's carry); the whole tree must stay under 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
kit=.gpu-kit
data="${TENSORGRAD_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
export npm_config_nodedir="${npm_config_nodedir:-$( [ -f /usr/include/node/node_api.h ] && echo /usr )}"

[ -d node_modules ] || npm ci
[ -d "$data/mnist" ] || { echo "gpu-kit: no MNIST in $data/mnist (set TENSORGRAD_SHARED_DATA)"; exit 1; }
npm run build:ts > /dev/null
cuda_status() { node -e "console.log(require('./dist/cjs/index.js').cuda.status())"; }
if [ ! -f build/Release/tensorgrad.node ] || cuda_status | grep -q "without CUDA"; then
  npm run build:cuda
fi

rm -rf "$kit"
mkdir -p "$kit"
xz -T0 -6 -c "$(command -v node)" > "$kit/node.xz"
node scripts/module-closure.mjs vitest node-gyp-build > "$kit/modules.txt"
tar -cJf "$kit/modules.tar.xz" -T "$kit/modules.txt"
cp -r "$data/mnist" "$kit/mnist"
chmod -R u+w "$kit"

# what travels: the tracked tree plus the carried paths
tracked=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
carried=$(du -cb "$kit" dist build/Release/tensorgrad.node | tail -1 | cut -f1)
total=$((tracked + carried))
echo "gpu-kit: $((total / 1048576)) MiB to send ($((carried / 1048576)) MiB carried); CUDA addon: $(cuda_status)"
if [ "$total" -gt $((62 * 1048576)) ]; then
  echo "gpu-kit: over the 62 MiB this kit allows itself (the device tool takes 64)"
  exit 1
fi
