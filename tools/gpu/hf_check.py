#!/usr/bin/env python3
"""GPU check of SimNpo against Hugging Face transformers (run on the lent GPU machine by tools/gpu/run.sh).

  model   DIR [SHAPE SEQ PAD_STEP] [--arch ARCH]   writes a random model (shape mid by default, sequences of SEQ
                tokens, each PAD_STEP shorter than the last) in the Hugging Face layout (config.json, model.safetensors,
                float32) and a pre-tokenized batch (batch.jsonl) with right padding of several lengths. ARCH is llama
                (default, no transformers needed) or mistral, qwen2, phi, gemma: that family's features on SHAPE, its
                parameter names taken from transformers' own class (so transformers is needed)
  compare DIR OBJECTIVE GRAD.safetensors...   runs transformers' own class for the config's architecture (eager, in
                float64) on the same weights and batch, computes the objective (nll, or simnpo:GAMMA with beta 2.5) and
                its gradient, and prints ||ours - hf|| / ||hf|| for the loss, the per-sequence log-probs and every
                parameter gradient of each `simnpo grad` output given
  arch    ARCH [--app SIMNPO] [--devices cuda,cpu] [--work DIR] [--shape tiny] [--seq 96] [--pad-step 7]   the whole
                check of one architecture: `model --arch`, `simnpo grad` NLL on the CPU (for the SimNPO margin), SimNPO
                in fp32 on each device, and `compare` of both; exits 1 if any comparison fails or the CLI fails
  diff A.safetensors B.safetensors   ||a - b|| / ||b|| for every tensor
  gamma GRAD.safetensors   the SimNPO margin that puts the median sequence of a `simnpo grad` output at the middle of
                the sigmoid (random weights predict near-uniformly, where SimNPO's weights would all be ~0)
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch

SHAPES = {  # width, layers, heads, kv heads, ffn, vocab
    "mid": (512, 8, 8, 8, 1376, 32000),
    "tiny": (64, 2, 4, 2, 128, 512),
    "one": (512, 1, 8, 8, 1376, 512),
    "gqa": (512, 1, 8, 2, 1376, 512),
}
BATCH, SEQ, PROMPT = 8, 256, 16
SIMNPO_BETA = 2.5  # `simnpo grad --objective simnpo` default
ARCHES = ("llama", "mistral", "qwen2", "phi", "gemma")


def hf_config(width, layers, heads, kv_heads, ffn, vocab):
    return dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=width, num_hidden_layers=layers,
                num_attention_heads=heads, num_key_value_heads=kv_heads, intermediate_size=ffn, vocab_size=vocab,
                max_position_embeddings=SEQ, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                hidden_act="silu", bos_token_id=1, eos_token_id=2, torch_dtype="float32")


def family_config(arch, shape, seq):
    """A random model's config.json for ARCH on SHAPE, with the family's own features switched on so that each one
    matters: Mistral's window is a quarter of the longest sequence; Qwen2 has q/k/v biases, rope_theta 1e6, tied
    embeddings and a (short) sliding_window that use_sliding_window false says to ignore; Phi has LayerNorm, partial
    rotary 0.5, parallel attention and MLP, gelu_new and biases everywhere; Gemma has head_dim 2·width/heads (query width
    twice the hidden size), one kv head, (1 + w) norms, sqrt(hidden) embeddings and the tanh GeGLU, tied."""
    width, layers, heads, kv_heads, ffn, vocab = SHAPES[shape]
    if arch == "llama":
        return dict(hf_config(width, layers, heads, kv_heads, ffn, vocab), max_position_embeddings=seq)
    common = dict(hidden_size=width, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=ffn,
                  vocab_size=vocab, max_position_embeddings=seq, rope_theta=10000.0, attention_dropout=0.0, torch_dtype="float32")
    if arch == "mistral":
        return dict(common, architectures=["MistralForCausalLM"], model_type="mistral", num_key_value_heads=kv_heads,
                    hidden_act="silu", rms_norm_eps=1e-5, sliding_window=seq // 4, tie_word_embeddings=False,
                    bos_token_id=1, eos_token_id=2)
    if arch == "qwen2":
        return dict(common, architectures=["Qwen2ForCausalLM"], model_type="qwen2", num_key_value_heads=kv_heads,
                    hidden_act="silu", rms_norm_eps=1e-6, rope_theta=1000000.0, sliding_window=seq // 8,
                    use_sliding_window=False, max_window_layers=layers, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)
    if arch == "phi":  # microsoft/phi-1_5's keys; num_key_value_heads null means one kv head per head
        return dict(common, architectures=["PhiForCausalLM"], model_type="phi", num_key_value_heads=None,
                    hidden_act="gelu_new", layer_norm_eps=1e-5, partial_rotary_factor=0.5, qk_layernorm=False,
                    resid_pdrop=0.0, embd_pdrop=0.0, rope_scaling=None, tie_word_embeddings=False, bos_token_id=None,
                    eos_token_id=None)
    if arch == "gemma":  # google/gemma-2b's keys: one kv head, head_dim not hidden/heads, both activation keys
        return dict(common, architectures=["GemmaForCausalLM"], model_type="gemma", num_key_value_heads=1,
                    head_dim=2 * width // heads, hidden_act="gelu", hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
                    tie_word_embeddings=True, bos_token_id=2, eos_token_id=1, pad_token_id=0)
    raise SystemExit(f"--arch {arch}: not one of {', '.join(ARCHES)}")


def hf_model(config_dict):
    """transformers' own class for the config's architecture (LlamaForCausalLM, MistralForCausalLM, ...), eager attention."""
    import transformers
    settings = {k: v for k, v in config_dict.items() if k not in ("architectures", "model_type")}
    config = transformers.AutoConfig.for_model(config_dict["model_type"], **settings)
    config.architectures = config_dict["architectures"]
    config._attn_implementation = "eager"
    return getattr(transformers, config_dict["architectures"][0])(config)


def load_into(model, tensors, tied):
    """Loads our safetensors into the HF model; every one of its parameters must be there, tied lm_head excepted."""
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    allowed_missing = {"lm_head.weight"} if tied else set()
    assert not unexpected and set(missing) <= allowed_missing, f"names differ: missing {missing}, unexpected {unexpected}"
    if tied:
        model.tie_weights()


def family_weights(config, seed):
    """Random weights under the names and shapes of transformers' class (tied weights once, as named_parameters gives
    them): norm weights 1 + 0.1·N (Gemma's w of (1 + w): 0.3·N), biases 0.1·N, embeddings and head 0.05·N, linear
    layers N·0.6/sqrt(in) as random_weights does for Llama."""
    g = torch.Generator().manual_seed(seed)
    weights = {}
    for name, parameter in hf_model(config).named_parameters():
        shape = tuple(parameter.shape)
        noise = torch.randn(shape, generator=g)
        if name.endswith("norm.weight"):
            weights[name] = 0.3 * noise if config["model_type"] == "gemma" else 1 + 0.1 * noise
        elif name.endswith(".bias"):
            weights[name] = 0.1 * noise
        elif name in ("model.embed_tokens.weight", "lm_head.weight"):
            weights[name] = 0.05 * noise
        else:
            weights[name] = noise * (0.6 / shape[1] ** 0.5)
    return weights


def save_file(tensors, path):
    """float32 safetensors, per the format: 8-byte little-endian header length, JSON header, raw data."""
    header, offset = {}, 0
    for name, t in tensors.items():
        header[name] = dict(dtype="F32", shape=list(t.shape), data_offsets=[offset, offset + 4 * t.numel()])
        offset += 4 * t.numel()
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for t in tensors.values():
            f.write(t.detach().to(torch.float32).contiguous().numpy().tobytes())


def load_file(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    header.pop("__metadata__", None)
    tensors = {}
    for name, entry in header.items():
        assert entry["dtype"] == "F32", f"{path}: {name} is {entry['dtype']}"
        start, end = entry["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[start:end], dtype="<f4").copy()).reshape(entry["shape"])
    return tensors


def random_weights(config, seed):
    """transformers' LlamaForCausalLM parameter names; weights larger than its 0.02 init so the predictions are far
    from uniform and SimNPO's sequence weights are not all ~0; norm weights near 1."""
    g = torch.Generator().manual_seed(seed)
    d, f, v = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    kv = d // config["num_attention_heads"] * config["num_key_value_heads"]
    linear = lambda rows, cols: torch.randn(rows, cols, generator=g) * (0.6 / cols ** 0.5)
    norm = lambda: 1 + 0.1 * torch.randn(d, generator=g)
    weights = {"model.embed_tokens.weight": torch.randn(v, d, generator=g) * 0.05}
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        weights.update({p + "input_layernorm.weight": norm(), p + "self_attn.q_proj.weight": linear(d, d),
                        p + "self_attn.k_proj.weight": linear(kv, d), p + "self_attn.v_proj.weight": linear(kv, d),
                        p + "self_attn.o_proj.weight": linear(d, d), p + "post_attention_layernorm.weight": norm(),
                        p + "mlp.gate_proj.weight": linear(f, d), p + "mlp.up_proj.weight": linear(f, d),
                        p + "mlp.down_proj.weight": linear(d, f)})
    weights.update({"model.norm.weight": norm(), "lm_head.weight": torch.randn(v, d, generator=g) * 0.05})
    return weights


def make_model(directory, shape="mid", seq=SEQ, pad_step=29, seed=1234, arch="llama"):
    os.makedirs(directory, exist_ok=True)
    config = family_config(arch, shape, seq)
    weights = random_weights(config, seed) if arch == "llama" else family_weights(config, seed)
    save_file(weights, os.path.join(directory, "model.safetensors"))
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    g = torch.Generator().manual_seed(seed + 1)
    vocab = config["vocab_size"]
    with open(os.path.join(directory, "batch.jsonl"), "w") as f:
        for b in range(BATCH):
            total = seq - pad_step * b  # right padding of several lengths in one batch
            prompt_length = min(PROMPT, total // 2)
            prompt = [1] + torch.randint(3, vocab, (prompt_length - 1,), generator=g).tolist()
            answer = torch.randint(3, vocab, (total - prompt_length - 1,), generator=g).tolist() + [2]
            f.write(json.dumps({"prompt_ids": prompt, "answer_ids": answer}) + "\n")


def hf_reference(directory, objective, device):
    """transformers' class in float64 (Gemma's RMSNorm still computes in float32 inside it: x.float())."""
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    model = hf_model(config)
    load_into(model, load_file(os.path.join(directory, "model.safetensors")), config.get("tie_word_embeddings", False))
    print(f"hf class: {type(model).__name__}")
    model = model.double().to(device)
    records = [json.loads(line) for line in open(os.path.join(directory, "batch.jsonl"))]
    seq_logprob, seq_len = [], []
    for r in records:
        ids = torch.tensor([r["prompt_ids"] + r["answer_ids"]], device=device)
        logits = model(ids).logits[0, :-1]
        logp = torch.log_softmax(logits, -1).gather(1, ids[0, 1:, None])[:, 0]
        seq_logprob.append(logp[len(r["prompt_ids"]) - 1:].sum())
        seq_len.append(len(r["answer_ids"]))
    seq_logprob = torch.stack(seq_logprob)
    lengths = torch.tensor(seq_len, dtype=torch.float64, device=device)
    if objective == "nll":  # token mean over every scored token, as transformers' loss
        loss = -seq_logprob.sum() / lengths.sum()
    else:
        gamma = float(objective.split(":")[1])
        loss = -(2 / SIMNPO_BETA) * torch.nn.functional.logsigmoid(-(SIMNPO_BETA / lengths) * seq_logprob - gamma).mean()
    loss.backward()
    grads = {"grad." + n: p.grad for n, p in model.named_parameters()}
    return loss.detach(), seq_logprob.detach(), grads


def relative(ours, ref):
    ours = ours.to(ref.device, torch.float64).reshape(ref.shape)
    return ((ours - ref).norm() / ref.norm().clamp_min(1e-300)).item()


def compare(directory, objective, grad_files):
    """Prints the comparison and returns whether every file is within the bound."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    loss, seq_logprob, grads = hf_reference(directory, objective, device)
    print(f"hf float64: {objective} loss {loss.item():.9g}, seq_logprob[0] {seq_logprob[0].item():.6f}")
    worst_overall = 0.0
    for path in grad_files:
        ours = load_file(path)
        rows = [("loss", relative(ours["loss"], loss.reshape(1))), ("seq_logprob", relative(ours["seq_logprob"], seq_logprob))]
        rows += [(name, relative(ours[name], ref)) for name, ref in grads.items() if name in ours]
        missing = [name for name in grads if name not in ours]
        worst = max(rows, key=lambda r: r[1])
        worst_overall = max(worst_overall, worst[1])
        print(f"{os.path.basename(path)}: loss {ours['loss'].item():.9g}; {len(rows) - 2} gradients; worst ||d||/||ref|| "
              f"{worst[1]:.2e} ({worst[0]}); loss {rows[0][1]:.2e}; seq_logprob {rows[1][1]:.2e}; missing {missing}")
    # float32: 1e-3. bf16 storage (HF_BOUND=0.05): R roundings of at most u = 2^-8 on the mid model's longest path
    # (about 16 per layer forward, as many back: R ~ 260) add up like a random walk to sqrt(R/3)·u ~ 0.036 of the norm.
    bound = float(os.environ.get("HF_BOUND", "1e-3"))
    verdict = "PASS" if worst_overall < bound else "FAIL"
    print(f"hf check: worst relative error {worst_overall:.2e} (against float64; bound {bound:g}): {verdict}")
    return verdict == "PASS"


def centring_gamma(path):
    t = load_file(path)
    return f"{(-SIMNPO_BETA * t['seq_logprob'] / t['seq_len']).median().item():.4f}"


def check_arch(argv):
    """`arch ARCH ...`: one family end to end against transformers' class (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="hf_check.py arch")
    parser.add_argument("arch", choices=ARCHES)
    parser.add_argument("--app", default="/tmp/app/simnpo")
    parser.add_argument("--devices", default="cuda,cpu")
    parser.add_argument("--work", default="/tmp/gpu-work")
    parser.add_argument("--shape", default="tiny", choices=SHAPES)
    parser.add_argument("--seq", type=int, default=96)
    parser.add_argument("--pad-step", type=int, default=7)
    args = parser.parse_args(argv)
    directory = os.path.join(args.work, args.arch)
    make_model(directory, args.shape, args.seq, args.pad_step, arch=args.arch)
    print(f"== {args.arch}: {json.dumps(family_config(args.arch, args.shape, args.seq), sort_keys=True)}")

    def grad(objective, device, out, *extra):
        command = [args.app, "grad", "--model", directory, "--data", os.path.join(directory, "batch.jsonl"), "--objective", objective,
                   "--device", device, "--precision", "fp32", "--out", out, *extra]
        result = subprocess.run(command)
        if result.returncode != 0:
            print(f"hf check {args.arch}: FAIL: {' '.join(command)} exited {result.returncode}")
        return result.returncode == 0

    nll = os.path.join(directory, "nll-cpu.safetensors")
    if not grad("nll", "cpu", nll):
        return False
    gamma = centring_gamma(nll)
    simnpo = [os.path.join(directory, f"simnpo-{device}.safetensors") for device in args.devices.split(",")]
    ran = [path for device, path in zip(args.devices.split(","), simnpo) if grad("simnpo", device, path, "--gamma", gamma)]
    verdicts = [compare(directory, "nll", [nll]), compare(directory, f"simnpo:{gamma}", ran), len(ran) == len(simnpo)]
    passed = all(verdicts)
    print(f"hf check {args.arch}: {'PASS' if passed else 'FAIL'}")
    return passed


def arch_option(argv):
    """Removes `--arch ARCH` from argv and returns ARCH (llama when absent)."""
    if "--arch" not in argv:
        return "llama"
    at = argv.index("--arch")
    arch = argv[at + 1] if at + 1 < len(argv) else ""
    del argv[at:at + 2]
    if arch not in ARCHES:
        sys.exit(f"--arch {arch!r}: not one of {', '.join(ARCHES)}")
    return arch


if __name__ == "__main__":
    verb = sys.argv[1] if len(sys.argv) > 1 else ""
    if verb == "model":
        arch = arch_option(sys.argv)
        make_model(sys.argv[2], *(sys.argv[3:4] or ["mid"]), *map(int, sys.argv[4:6]), arch=arch)
    elif verb == "diff":
        a, b = load_file(sys.argv[2]), load_file(sys.argv[3])
        for name in a:
            print(f"{name:50s} {relative(a[name], b[name].double()):.2e}")
    elif verb == "compare":
        sys.exit(0 if compare(sys.argv[2], sys.argv[3], sys.argv[4:]) else 1)
    elif verb == "gamma":
        print(centring_gamma(sys.argv[2]))
    elif verb == "arch":
        sys.exit(0 if check_arch(sys.argv[2:]) else 1)
    else:
        sys.exit(__doc__)
