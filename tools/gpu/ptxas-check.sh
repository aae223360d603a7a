#!/usr/bin/env bash
# Compiles every ILGPU kernel of the project to an sm_90 cubin without a GPU and prints one line per kernel: registers,
# spill bytes, stack (local memory) bytes, static shared bytes (dynamic shared memory is sized at launch), HMMA (tensor-core) instructions in the SASS.
# Fails if a hot kernel (the GEMMs, attention) spills, or a kernel whose PTX has mma.sync assembles to no HMMA.
#
# Tools: ptxas and cuobjdump from Debian's nvidia-cuda-toolkit 11.8 (component non-free), extracted from the .deb alone into
# $CUDA_TOOLS_CACHE (default ~/.cache/simnpo-cuda-tools) without its 1.6 GB of dependencies; installing them needs root
# once (apt sources and apt-get update). ptxas 11.8 reads PTX ISA up to 7.8, so the kernels are dumped in ISA 7.8 by the
# PTX compilation tests (SIMNPO_PTX_DIR).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${CUDA_TOOLS_CACHE:-$HOME/.cache/simnpo-cuda-tools}
TOOLS=$CACHE/usr/bin
HOT_KERNELS='^(MatMul|TensorCoreGemm|Attention|AttentionBf16)\.'

install_tools() {
  [ -x "$TOOLS/ptxas" ] && [ -x "$TOOLS/cuobjdump" ] && return
  if [ "$(id -u)" -ne 0 ]; then
    echo "ptxas-check: $TOOLS/ptxas is missing and installing it needs root (apt sources, apt-get update)" >&2
    exit 2
  fi
  local sources=/etc/apt/sources.list.d/debian.sources
  if [ -f "$sources" ]; then
    # deb822: the first entry's Components line gains contrib and non-free.
    grep -q 'non-free' "$sources" || sed -i '0,/^Components: main$/s//Components: main contrib non-free/' "$sources"
  elif ! grep -q 'non-free' /etc/apt/sources.list; then
    sed -i '0,/^deb .* main$/s//& contrib non-free/' /etc/apt/sources.list
  fi
  apt-get update -qq
  mkdir -p "$CACHE"
  (cd "$CACHE" && apt-get download -qq nvidia-cuda-toolkit 2>/dev/null && dpkg-deb -x nvidia-cuda-toolkit_*.deb . && rm -f nvidia-cuda-toolkit_*.deb)
  [ -x "$TOOLS/ptxas" ] || { echo "ptxas-check: nvidia-cuda-toolkit did not provide ptxas" >&2; exit 2; }
}

install_tools
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

dotnet build -c Release "$ROOT/tests/SimNpo.Tests" > "$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
SIMNPO_PTX_DIR=$WORK/ptx dotnet test -c Release --no-build "$ROOT/tests/SimNpo.Tests" \
  --filter "FullyQualifiedName~PtxCompilationTests.CompilesToPtx" > "$WORK/test.log" 2>&1 || { cat "$WORK/test.log"; exit 1; }

failures=0
printf '%-50s %9s %11s %11s %12s %5s\n' kernel registers spill-bytes stack-bytes static-smem HMMA
for ptx in "$WORK"/ptx/*.ptx; do
  name=$(basename "$ptx" .ptx)
  cubin=$WORK/$name.cubin
  if ! "$TOOLS/ptxas" -arch=sm_90 -v "$ptx" -o "$cubin" > "$WORK/$name.log" 2>&1; then
    echo "$name: ptxas failed"; cat "$WORK/$name.log"; failures=$((failures + 1)); continue
  fi
  # grep finds nothing where ptxas leaves a figure out (no shared memory): awk then prints 0.
  registers=$({ grep -o 'Used [0-9]* registers' "$WORK/$name.log" || true; } | awk '{print $2; exit}')
  spills=$({ grep -o '[0-9]* bytes spill stores, [0-9]* bytes spill loads' "$WORK/$name.log" || true; } | awk '{s += $1 + $5} END {print s + 0}')
  stack=$({ grep -o '[0-9]* bytes stack frame' "$WORK/$name.log" || true; } | awk '{s += $1} END {print s + 0}')
  smem=$({ grep -o '[0-9]* bytes smem' "$WORK/$name.log" || true; } | awk '{s += $1} END {print s + 0}')
  hmma=$("$TOOLS/cuobjdump" -sass "$cubin" | grep -c 'HMMA' || true)
  verdict=""
  if [ "$spills" -gt 0 ] && [[ $name =~ $HOT_KERNELS ]]; then verdict=" <- a hot kernel spills"; failures=$((failures + 1)); fi
  if grep -q 'mma.sync' "$ptx" && [ "$hmma" -eq 0 ]; then verdict="$verdict <- mma.sync but no HMMA"; failures=$((failures + 1)); fi
  printf '%-50s %9s %11s %11s %12s %5s%s\n' "$name" "$registers" "$spills" "$stack" "$smem" "$hmma" "$verdict"
done
[ "$failures" -eq 0 ] || { echo "ptxas-check: $failures problem(s)" >&2; exit 1; }
