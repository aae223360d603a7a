#!/usr/bin/python3
"""The PyTorch side of `simnpo bench`: the same measurements in eager PyTorch, for a ratio against SimNpo.

  sgemm      GFLOP/s of x[M,K] @ w[N,K].T (the linear layer) and of its backward (dx = dy @ w, dw = dy.T @ x) per shape
  step       one SimNPO unlearning step on random weights (forward, loss, backward, clip_grad_norm_, AdamW): tokens/s
  attention  causal F.scaled_dot_product_attention forward and forward+backward per BxHxTxD shape: GFLOP/s

--precision picks the number types: fp32 (float32 throughout; on CUDA TF32 is off), bf16 (what people run: float32
parameters under torch.autocast(bfloat16), so the matmuls and attention run in bf16 on tensor cores, AdamW fused on
CUDA), bf16-pure (parameters and activations in bfloat16, AdamW on them). sgemm and attention take bf16 for bfloat16
operands (cuBLAS / the flash kernel on CUDA). --recompute checkpoints each block (torch.utils.checkpoint).

A shape for sgemm is "MxKxN" or one number for a square one. A round repeats the work a fixed number of times
(calibrated once after warm-up to last at least --min-seconds), so small shapes are timed over many calls.

Output: one JSON object on stdout (figures per round, their median, min and max, peak memory). With --serve it speaks
the line protocol `simnpo bench --against-torch` drives, so rounds alternate with SimNpo's: a {"ready": ...} line after
warm-up, one {"figures": ...} line per "round" line read on stdin, and a {"memory": ...} line at end of input.

The step mirrors SyntheticStep (src/Unlearn/Performance) on the C# graph (src/Model/LlamaModel.cs): RMSNorm, RoPE in
the Hugging Face layout (i pairs with i + head_dim/2), causal grouped-query attention, SwiGLU, tied or untied output;
the loss is SimNPO's L = -(2/beta) * mean_i log sigmoid(-(beta/|y_i|) * sum_t log p(y_it) - gamma) over the scored
positions (all but the first --prompt-len tokens, 4 as SyntheticStep.PromptLength), with logits for those rows only,
as the C# fused loss computes them; then clip_grad_norm_ and AdamW with the C# defaults. Llama 3's rope scaling
changes only the frequencies, not the cost, so it is left out.
"""
import argparse
import contextlib
import json
import math
import os
import resource
import sys
import time

for variable in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(variable, None)  # must be gone before torch loads OpenBLAS

try:
    import torch
    import torch.nn.functional as F
    import torch.utils.checkpoint
    from torch import nn
except ImportError:
    sys.exit(f"error: PyTorch is not installed for {sys.executable}: apt-get install python3-torch (Debian, Ubuntu) or pip install torch")

BETA, GAMMA = 2.5, 0.0  # SimNPO defaults of src/Unlearn/Training/TrainingSettings.cs
ADAMW = dict(lr=1e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)  # src/Unlearn/Training/AdamWSettings.cs
MAX_GRAD_NORM = 1.0
INIT_STD = 0.02  # src/Model/ModelInitializer.cs


class RmsNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def attention(q, k, v):
    """Causal attention over [B, H, T, hd]; the explicit form where this torch predates scaled_dot_product_attention (2.0)."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    length = q.shape[-2]
    mask = torch.ones(length, length, dtype=torch.bool, device=q.device).triu(1)
    return scores.masked_fill(mask, float("-inf")).softmax(-1) @ v


class Block(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.recompute = a.recompute
        self.heads, self.kv_heads, self.head_dim = a.heads, a.kv_heads, a.head_dim
        linear = lambda i, o: nn.Linear(i, o, bias=False)
        self.attn_norm = RmsNorm(a.hidden_size, a.rms_norm_eps)
        self.q, self.k = linear(a.hidden_size, a.heads * self.head_dim), linear(a.hidden_size, a.kv_heads * self.head_dim)
        self.v, self.o = linear(a.hidden_size, a.kv_heads * self.head_dim), linear(a.heads * self.head_dim, a.hidden_size)
        self.mlp_norm = RmsNorm(a.hidden_size, a.rms_norm_eps)
        self.gate, self.up = linear(a.hidden_size, a.intermediate_size), linear(a.hidden_size, a.intermediate_size)
        self.down = linear(a.intermediate_size, a.hidden_size)

    def forward(self, x, cos, sin):
        if self.recompute and torch.is_grad_enabled():
            return torch.utils.checkpoint.checkpoint(self.compute, x, cos, sin, use_reentrant=False)
        return self.compute(x, cos, sin)

    def compute(self, x, cos, sin):
        b, t, _ = x.shape
        h = self.attn_norm(x)
        q = self.q(h).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        group = self.heads // self.kv_heads  # GQA as Hugging Face's repeat_kv: each kv head serves `group` query heads
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        x = x + self.o(attention(q, k, v).transpose(1, 2).reshape(b, t, -1))
        h = self.mlp_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed = nn.Embedding(a.vocab, a.hidden_size)
        self.layers = nn.ModuleList(Block(a) for _ in range(a.layers))
        self.norm = RmsNorm(a.hidden_size, a.rms_norm_eps)
        self.output = None if a.tied else nn.Linear(a.hidden_size, a.vocab, bias=False)
        inverse = 1.0 / a.rope_theta ** (torch.arange(0, a.head_dim, 2, dtype=torch.float32) / a.head_dim)
        angles = torch.outer(torch.arange(a.seq, dtype=torch.float32), inverse)
        angles = torch.cat((angles, angles), dim=-1)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)
        for name, parameter in self.named_parameters():
            if "norm" not in name:
                nn.init.normal_(parameter, std=INIT_STD)

    def hidden(self, tokens):
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin)
        return self.norm(x)

    def output_weight(self):
        return self.embed.weight if self.output is None else self.output.weight


def simnpo_loss(model, tokens, prompt_len):
    """Position t predicts token t+1; positions prompt_len-1 .. T-2 are scored (|y| = T - prompt_len per sequence)."""
    scored = model.hidden(tokens)[:, prompt_len - 1:-1]
    targets = tokens[:, prompt_len:]
    logits = scored @ model.output_weight().T
    token_logp = -F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    normalised = token_logp.view(targets.shape).sum(1) / targets.shape[1]
    return -(2 / BETA) * F.logsigmoid(-BETA * normalised - GAMMA).mean()


class Timer:
    """Seconds of device work: wall clock after a synchronize on CPU, CUDA events on the GPU."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def time(self, work, repeats):
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            for _ in range(repeats):
                work()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1000
        begin = time.perf_counter()
        for _ in range(repeats):
            work()
        return time.perf_counter() - begin


def parse_shape(text):
    parts = [int(p) for p in text.lower().split("x")]
    if len(parts) == 1:
        parts *= 3
    if len(parts) != 3 or min(parts) < 1:
        raise SystemExit(f"error: --shapes: '{text}' is not N or MxKxN with positive sizes")
    return parts


def operand_dtype(a):
    return torch.float32 if a.precision == "fp32" else torch.bfloat16


def sgemm_works(a, device):
    """Per shape: the forward and the backward of the linear layer, with the GFLOPs each does."""
    works = []
    for m, k, n in map(parse_shape, a.shapes.split(",")):
        x, w, dy = (torch.randn(r, c, device=device, dtype=operand_dtype(a)) for r, c in ((m, k), (n, k), (m, n)))
        shape = f"{m}x{k}x{n}"
        works.append((f"matmul {shape} GFLOP/s", lambda x=x, w=w: x @ w.T, 2e-9 * m * k * n))
        works.append((f"backward {shape} GFLOP/s", lambda x=x, w=w, dy=dy: (dy @ w, dy.T @ x), 4e-9 * m * k * n))
    return works


def attention_works(a, device):
    """Per BxHxTxD shape: causal attention forward, and forward+backward, in GFLOP/s of the causal half's products
    (forward 2 products of B·H·T²·D/2 multiply-adds each, backward 5 more as FlashAttention counts them)."""
    works = []
    for shape in a.shapes.split(","):
        parts = [int(p) for p in shape.lower().split("x")]
        if len(parts) != 4 or min(parts) < 1:
            raise SystemExit(f"error: --shapes: '{shape}' is not BxHxTxD with positive sizes")
        b, h, t, d = parts
        q, k, v = (torch.randn(b, h, t, d, device=device, dtype=operand_dtype(a), requires_grad=True) for _ in range(3))
        grad = torch.randn(b, h, t, d, device=device, dtype=operand_dtype(a))
        causal_macs = b * h * t * t * d / 2

        def backward(q=q, k=k, v=v, grad=grad):
            out = attention(q, k, v)
            return torch.autograd.grad(out, (q, k, v), grad)
        works.append((f"attention {shape} GFLOP/s", lambda q=q, k=k, v=v: attention(q.detach(), k.detach(), v.detach()), 4e-9 * causal_macs))
        works.append((f"attention+backward {shape} GFLOP/s", backward, 14e-9 * causal_macs))
    return works


def step_works(a, device):
    a.head_dim = a.head_dim or a.hidden_size // a.heads
    if a.heads % a.kv_heads or a.head_dim % 2 or a.prompt_len < 1 or a.prompt_len >= a.seq:
        raise SystemExit("error: heads must divide by kv heads, the head dim must be even, and 1 <= --prompt-len < --seq")
    torch.manual_seed(0)
    model = Llama(a).to(device)
    if a.precision == "bf16-pure":
        model = model.to(torch.bfloat16)
    fused = {"fused": True} if device.type == "cuda" and a.precision != "fp32" else {}
    optimizer = torch.optim.AdamW(model.parameters(), **ADAMW, **fused)
    tokens = torch.randint(0, a.vocab, (a.batch, a.seq), device=device)
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if a.precision == "bf16" else contextlib.nullcontext

    def step():
        optimizer.zero_grad(set_to_none=False)  # the C# step zeroes its gradient buffer too
        with autocast():
            loss = simnpo_loss(model, tokens, a.prompt_len)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        optimizer.step()

    # Figures per second of the work's units: tokens for a step.
    return [("tokens/s", step, float(a.batch * a.seq))]


def loaded_blas():
    """The BLAS library this process mapped (Debian's torch reaches OpenBLAS through libblas.so.3)."""
    try:
        with open("/proc/self/maps") as maps:
            names = {os.path.basename(line.split()[-1]) for line in maps if "blas" in line.lower() or "mkl" in line.lower()}
        return ", ".join(sorted(names)) or "unknown"
    except OSError:
        return "unknown"


def peak_resident_bytes():
    """VmHWM: getrusage's ru_maxrss would do, but Linux carries it across fork and exec, so a worker started by a large
    parent (simnpo bench after its peak measurements) would report the parent's peak instead of its own."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def peak_memory(device):
    if device.type == "cuda":
        return {"cuda_max_allocated_bytes": torch.cuda.max_memory_allocated(device),
                "cuda_max_reserved_bytes": torch.cuda.max_memory_reserved(device)}
    return {"peak_rss_bytes": peak_resident_bytes()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=["sgemm", "step", "attention"])
    parser.add_argument("--precision", choices=["fp32", "bf16", "bf16-pure"], default="fp32")
    parser.add_argument("--recompute", action="store_true", help="step: recompute each block in the backward (checkpointing)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads (as many as the C# side uses)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.2, help="shortest round (repeats are calibrated to it)")
    parser.add_argument("--serve", action="store_true", help="rounds on request: the line protocol of simnpo bench")
    parser.add_argument("--shapes", default="256,512,1024,2048", help="sgemm: N or MxKxN; attention: BxHxTxD; comma separated")
    for name, default in (("hidden-size", 288), ("intermediate-size", 768), ("layers", 6), ("heads", 6), ("kv-heads", 6),
                          ("head-dim", 0), ("vocab", 32000), ("batch", 8), ("seq", 256), ("prompt-len", 4)):
        parser.add_argument(f"--{name}", type=int, default=default, help="step: model and batch shape (head dim 0: hidden / heads)")
    parser.add_argument("--rope-theta", type=float, default=10000.0)
    parser.add_argument("--rms-norm-eps", type=float, default=1e-5)
    parser.add_argument("--tied", action="store_true", help="step: output projection tied to the embedding")
    a = parser.parse_args()

    device = torch.device(a.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.set_num_threads(a.threads)
    works = {"sgemm": sgemm_works, "step": step_works, "attention": attention_works}[a.suite](a, device)

    timer = Timer(device)
    calibrated = []
    for name, work, units in works:
        timer.time(work, 1)  # warm-up: first-call allocation and kernel selection
        once = max(timer.time(work, 1), 1e-9)
        calibrated.append((name, work, units, max(1, math.ceil(a.min_seconds / once))))

    def measure_round():
        return {name: units * repeats / timer.time(work, repeats) for name, work, units, repeats in calibrated}

    meta = {"torch": torch.__version__, "blas": "cuBLAS" if device.type == "cuda" else loaded_blas(), "threads": torch.get_num_threads(),
            "device": f"cuda ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "cpu",
            "attention": "sdpa" if hasattr(F, "scaled_dot_product_attention") else "explicit", "precision": a.precision}
    emit = lambda obj: print(json.dumps(obj), flush=True)
    if a.serve:
        emit({"ready": True, **meta})
        for line in sys.stdin:
            if line.strip() == "round":
                emit({"figures": measure_round()})
        emit({"memory": peak_memory(device)})
        return
    rounds = [measure_round() for _ in range(a.rounds)]
    summary = {}
    for name, *_ in calibrated:
        values = sorted(r[name] for r in rounds)
        middle = len(values) // 2
        median = values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
        summary[name] = {"median": median, "min": values[0], "max": values[-1]}
    emit({"suite": a.suite, **meta, "rounds": rounds, "summary": summary, "memory": peak_memory(device)})


if __name__ == "__main__":
    main()
