#!/usr/bin/env bash
# The GPU check (see tools/gpu/README.md). Expects the self-contained build unpacked at /tmp/app, runs from the
# repository root and writes its logs and results under $OUT. Every stage has its own time limit, so one that hangs or
# fails leaves the others' numbers, and runs only while that limit still fits the call's budget (BUDGET seconds, 560 by
# default: the device's per-call limit is 600); a stage that does not fit is named as skipped, for a second call with
# STAGES="name ...". Stages run in order of what they decide: correctness and the step first, the families last.
set -uo pipefail
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
app=${APP:-/tmp/app/simnpo}; gpu=${GPU_DEVICE:-cuda}; python=${PYTHON:-python3}
budget=${BUDGET:-560}; stages=${STAGES:-versions peak correctness step nccl gemm attention step8 big profile families}
# Shapes, overridable for a dry run on a machine without a GPU.
model=${MODEL_SHAPE:-mid}; step=${STEP_SHAPE:-1B}; layers=${LAYER_SHAPES:-1B,7B}; sizes=${SGEMM_SIZES-4096}
big=${BIG_SHAPE:-7B}; lengths=${ATTENTION_LENGTHS:-512,2048}
arches=${ARCHES-llama mistral qwen2 phi gemma}  # the families stage; ARCHES="" skips it
check="$python tools/gpu/hf_check.py"; work=/tmp/gpu-work; mkdir -p $work
bench="$app bench --device $gpu --rounds 3 --against-torch --python $python --torch-script tools/bench/torch_bench.py"
torch_step="$python tools/bench/torch_bench.py step --device ${TORCH_DEVICE:-cuda} --rounds 2"
# Llama-3.2-1B and Llama-2-7B as torch_bench.py's step takes them (SimNpo's BenchmarkModels "1B" and "7B").
one_b="--hidden-size 2048 --intermediate-size 8192 --layers 16 --heads 32 --kv-heads 8 --head-dim 64 --vocab 128256 --rope-theta 500000 --tied"
seven_b="--hidden-size 4096 --intermediate-size 11008 --layers 32 --heads 32 --kv-heads 32 --head-dim 128 --vocab 32000"
# Runs stage NAME (when STAGES lists it) if its time limit LIMIT still fits the budget, under the heading TITLE.
stage() {
  local name=$1 limit=$2 title=$3
  case " $stages " in *" $name "*) ;; *) return 0 ;; esac
  echo; echo "== $name: $title ($(date +%T), ${SECONDS} s in)"
  if [ $((SECONDS + limit)) -gt "$budget" ]; then
    echo "skipped: up to $limit s more would pass this call's $budget s; rerun with STAGES=\"$name\""; return 0
  fi
  "run_$name"
}

run_versions() {
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
  $python -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
}
run_peak() {
  timeout 60 $python -c "
import torch, time
a = torch.randn(8192, 8192, device='cuda', dtype=torch.bfloat16); b = torch.randn_like(a)
for _ in range(3): a @ b
torch.cuda.synchronize(); t = time.perf_counter(); n = 20
for _ in range(n): a @ b
torch.cuda.synchronize(); print(f'bf16 peak (cuBLAS 8192^3): {2 * 8192**3 * n / (time.perf_counter() - t) / 1e12:.1f} TFLOP/s')" | tee $OUT/bf16-peak.txt
}
run_correctness() {
  timeout 150 bash -c "
    $check model $work/mid $model
    for device in $gpu cpu; do
      $app grad --model $work/mid --data $work/mid/batch.jsonl --objective nll --device \$device --precision fp32 --out $work/nll-\$device.safetensors
    done
    gamma=\$($check gamma $work/nll-cpu.safetensors)
    for device in $gpu cpu; do
      for precision in fp32 bf16; do
        $app grad --model $work/mid --data $work/mid/batch.jsonl --objective simnpo --gamma \$gamma --device \$device --precision \$precision \
          --out $work/simnpo-\$device-\$precision.safetensors
      done
    done
    $check compare $work/mid nll $work/nll-$gpu.safetensors $work/nll-cpu.safetensors
    $check compare $work/mid simnpo:\$gamma $work/simnpo-$gpu-fp32.safetensors $work/simnpo-cpu-fp32.safetensors
    HF_BOUND=0.05 $check compare $work/mid simnpo:\$gamma $work/simnpo-$gpu-bf16.safetensors $work/simnpo-cpu-bf16.safetensors"
}
run_step() {  # fp32 too: the device default's evidence
  timeout 150 $bench --suite step --precision fp32,bf16 --shapes $step --out $OUT/step-4x512
}
run_nccl() {
  [ -f $work/mid/batch.jsonl ] || $check model $work/mid $model  # made by the correctness stage, unless it was skipped
  # One rank: every chunk's all-reduce leaves it as it is, so any difference is the binding's (address, count, type, stream).
  nccl=$($python -c "import glob, os, torch; print(next(iter(sorted(glob.glob(os.path.join(os.path.dirname(torch.__file__), '..', 'nvidia', 'nccl', 'lib', 'libnccl.so*')))), 'libnccl.so.2'))")
  echo "NCCL library: $nccl"
  timeout 150 bash -c "
    for precision in bf16 fp32; do
      rm -rf $work/nccl-\$precision-*  # a warm machine keeps /tmp: an earlier call's models must not pass for this one's
      for sum in auto nccl; do
        $app unlearn --model $work/mid --forget $work/mid/batch.jsonl --retain $work/mid/batch.jsonl --device $gpu --precision \$precision \
          --epochs 1 --batch-size 2 --grad-accum 2 --warmup 0 --lr 1e-5 --gradient-sum \$sum --nccl-library $nccl --out $work/nccl-\$precision-\$sum --quiet \
          > $work/nccl-\$precision-\$sum.log 2>&1
        echo \"\$precision \$sum: exit \$?\"; tail -2 $work/nccl-\$precision-\$sum.log
      done
      cmp $work/nccl-\$precision-auto/model.safetensors $work/nccl-\$precision-nccl/model.safetensors \
        && echo \"NCCL one-GPU check \$precision: the same model.safetensors, bit for bit\" || echo \"NCCL one-GPU check \$precision: FAILED (the NCCL run failed, see above, or its model differs)\"
    done" 2>&1 | tee $OUT/nccl-one-gpu.txt
}
run_gemm() {
  timeout 90 $bench --suite sgemm --precision bf16 --sizes $sizes --shapes $layers --out $OUT/gemm
}
run_attention() {
  timeout 90 $bench --suite attention --precision bf16 --shapes $layers --attention-lengths $lengths --out $OUT/attention
}
run_step8() {
  timeout 100 $bench --suite step --precision bf16 --shapes $step --batch-size 8 --out $OUT/step-8x512
  timeout 60 $torch_step $one_b --batch 4 --seq 512 --precision bf16-pure > $OUT/torch-step-1b-bf16-pure.json
}
run_big() {
  memory=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1)
  if [ "${memory:-0}" -lt 120000 ] && [ "$gpu" = cuda ]; then
    echo "skipped: ${memory} MiB of GPU memory; the plan needs about 109 GB (simnpo info --precision bf16 --recompute layers)"
  else
    timeout 150 $app bench --device $gpu --rounds 2 --suite step --precision bf16 --shapes $big --recompute layers --out $OUT/step-7b
    for recompute in "" --recompute; do
      echo "PyTorch autocast bf16 ${recompute:-without checkpointing}:"
      timeout 60 $torch_step $seven_b --batch 4 --seq 512 --precision bf16 $recompute > $OUT/torch-step-7b${recompute:+-recompute}.json 2> $OUT/torch-step-7b${recompute:+-recompute}.err \
        && cat $OUT/torch-step-7b${recompute:+-recompute}.json || tail -2 $OUT/torch-step-7b${recompute:+-recompute}.err
    done
  fi
}
run_profile() {
  timeout 60 $app profile --shape $step --device $gpu --precision bf16 --steps 2 --json $OUT/profile-$step-bf16.json
}
run_families() {
  for arch in $arches; do  # hf_check.py arch: model --arch, simnpo grad (NLL for the margin, SimNPO per device), compare
    timeout 90 $check arch $arch --app $app --devices $gpu,cpu --work $work/families --shape ${FAMILY_SHAPE:-tiny}
  done
}

stage versions 10 "versions"
stage peak 60 "bf16 tensor-core peak: torch.matmul bf16 at 8192^3 (the peak the model FLOP/s below are a share of)"
stage correctness 150 "mid model (8 layers, width 512, vocabulary 32000, batch 8 x 256, right padding) against transformers in float64"
stage step 150 "SimNPO step, $step shape, 4 x 512, fp32 and bf16, against torch.autocast(bfloat16) over float32 parameters (SDPA, fused AdamW)"
stage nccl 160 "NCCL on one GPU: unlearning the mid model with --gradient-sum nccl (PyTorch's libnccl) must end on the default path's bits"
stage gemm 90 "bf16 GEMM on tensor cores: $sizes squared and the $layers layer shapes, against torch.matmul bf16 (cuBLAS)"
stage attention 90 "attention forward and forward+backward, bf16, T = $lengths, against F.scaled_dot_product_attention (flash)"
stage step8 160 "the $step step at 8 x 512 in bf16, and PyTorch's 4 x 512 step with pure bf16 parameters"
stage big 270 "$big-shaped step (32 layers, width 4096, vocabulary 32000, random weights), 4 x 512, bf16, layers recomputed"
stage profile 60 "per-kernel profile: $step shape, 4 x 512, bf16"
stage families $((90 * $(echo $arches | wc -w))) "tiny random $arches built by transformers' own classes, SimNPO in fp32 on $gpu and cpu, against them in float64"
echo; echo "== done (${SECONDS} s)"
