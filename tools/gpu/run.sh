#!/usr/bin/env bash
# The GPU check, in one device call (see tools/gpu/README.md). Expects the self-contained build unpacked at /tmp/app,
# runs from the repository root and writes its logs and results under $OUT. Every stage has its own time limit, so one
# that hangs or fails leaves the others' numbers.
set -uo pipefail
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
app=${APP:-/tmp/app/simnpo}; gpu=${GPU_DEVICE:-cuda}; python=${PYTHON:-python3}
# Shapes, overridable for a dry run on a machine without a GPU.
model=${MODEL_SHAPE:-mid}; steps=${STEP_SHAPES:-mid,1B}; sizes=${SGEMM_SIZES-4096}; profiled=${PROFILE_SHAPE:-1B}
check="$python tools/gpu/hf_check.py"; work=/tmp/gpu-work; mkdir -p $work
bench="$app bench --device $gpu --rounds 3 --against-torch --python $python --torch-script tools/bench/torch_bench.py"
stage() { echo; echo "== $1 ($(date +%T))"; }

stage versions
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
$python -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"

stage "correctness: mid model (8 layers, width 512, vocabulary 32000, batch 8 x 256, right padding) against transformers in float64"
timeout 200 bash -c "
  $check model $work/mid $model
  for device in $gpu cpu; do
    $app grad --model $work/mid --data $work/mid/batch.jsonl --objective nll --device \$device --out $work/nll-\$device.safetensors
  done
  gamma=\$($check gamma $work/nll-cpu.safetensors)
  for device in $gpu cpu; do
    $app grad --model $work/mid --data $work/mid/batch.jsonl --objective simnpo --gamma \$gamma --device \$device --out $work/simnpo-\$device.safetensors
  done
  $check compare $work/mid nll $work/nll-$gpu.safetensors $work/nll-cpu.safetensors
  $check compare $work/mid simnpo:\$gamma $work/simnpo-$gpu.safetensors $work/simnpo-cpu.safetensors
  $check diff $work/nll-$gpu.safetensors $work/nll-cpu.safetensors > $OUT/nll-$gpu-vs-cpu.txt"

stage "SimNPO step: mid (8 x 256) and Llama-3.2-1B shape (4 x 512), SimNpo against PyTorch eager float32, TF32 off"
timeout 240 $bench --suite step --shapes $steps --out $OUT/step

stage "sgemm: $sizes squared and the $profiled model's layer shapes, against torch.matmul (cuBLAS, TF32 off)"
[ -n "$sizes" ] && timeout 150 $bench --suite sgemm --sizes $sizes --shapes $profiled --out $OUT/sgemm

stage "per-kernel profile: Llama-3.2-1B shape, 4 x 512"
timeout 150 $app profile --shape $profiled --device $gpu --steps 2 --json $OUT/profile-1b.json
