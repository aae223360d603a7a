#!/usr/bin/env bash
# Which gradients differ between cuda and cpu, on shapes that isolate a feature each.
set -uo pipefail
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 PYTHONUNBUFFERED=1
app=${APP:-/tmp/app/simnpo}; check="python3 tools/gpu/hf_check.py"; work=/tmp/gpu-diag; mkdir -p $work; gpu=${GPU_DEVICE:-cuda}
run() { # name shape seq pad_step
  $check model $work/$1 $2 $3 $4
  for device in $gpu cpu; do $app grad --model $work/$1 --data $work/$1/batch.jsonl --objective nll --device $device --out $work/$1-$device.safetensors | head -1; done
  echo "== $1 ($2, seq $3, padding step $4)"; $check diff $work/$1-$gpu.safetensors $work/$1-cpu.safetensors
}
run one-pad one 256 29
run one-full one 256 0
run one-short one 32 3
run one-64 one 64 0
run gqa gqa 256 29
run mid mid 256 29
echo "== determinism: one-pad on $gpu twice"
$app grad --model $work/one-pad --data $work/one-pad/batch.jsonl --objective nll --device $gpu --out $work/again.safetensors | head -1
$check diff $work/again.safetensors $work/one-pad-$gpu.safetensors
