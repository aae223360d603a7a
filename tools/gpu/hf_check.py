#!/usr/bin/env python3
"""GPU check of SimNpo against Hugging Face transformers (run on the lent GPU machine by tools/gpu/run.sh).

  model   DIR [SHAPE SEQ PAD_STEP]   writes a random Llama (shape mid by default, sequences of SEQ tokens, each
                PAD_STEP shorter than the last) in the Hugging Face layout (config.json, model.safetensors, float32) and a
                pre-tokenized batch (batch.jsonl) with right padding of several lengths
  compare DIR OBJECTIVE GRAD.safetensors...   runs transformers' LlamaForCausalLM in float64 on the same weights and
                batch, computes the objective (nll, or simnpo:GAMMA with beta 2.5) and its gradient, and prints
                ||ours - hf|| / ||hf|| for the loss, the per-sequence log-probs and every parameter gradient of each
                `simnpo grad` output given
  diff A.safetensors B.safetensors   ||a - b|| / ||b|| for every tensor
  gamma GRAD.safetensors   the SimNPO margin that puts the median sequence of a `simnpo grad` output at the middle of
                the sigmoid (random weights predict near-uniformly, where SimNPO's weights would all be ~0)
"""
import json
import os
import struct
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


def hf_config(width, layers, heads, kv_heads, ffn, vocab):
    return dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=width, num_hidden_layers=layers,
                num_attention_heads=heads, num_key_value_heads=kv_heads, intermediate_size=ffn, vocab_size=vocab,
                max_position_embeddings=SEQ, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                hidden_act="silu", bos_token_id=1, eos_token_id=2, torch_dtype="float32")


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


def make_model(directory, shape="mid", seq=SEQ, pad_step=29, seed=1234):
    os.makedirs(directory, exist_ok=True)
    config = hf_config(*SHAPES[shape])
    save_file(random_weights(config, seed), os.path.join(directory, "model.safetensors"))
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
    from transformers import LlamaConfig, LlamaForCausalLM
    with open(os.path.join(directory, "config.json")) as f:
        config = LlamaConfig(**json.load(f))
    config._attn_implementation = "eager"
    model = LlamaForCausalLM(config)
    model.load_state_dict(load_file(os.path.join(directory, "model.safetensors")), strict=True)
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
    if verdict == "FAIL":
        sys.exit(1)


def centring_gamma(path):
    t = load_file(path)
    print(f"{(-SIMNPO_BETA * t['seq_logprob'] / t['seq_len']).median().item():.4f}")


if __name__ == "__main__":
    verb = sys.argv[1]
    if verb == "model":
        make_model(sys.argv[2], *(sys.argv[3:4] or ["mid"]), *map(int, sys.argv[4:6]))
    elif verb == "diff":
        a, b = load_file(sys.argv[2]), load_file(sys.argv[3])
        for name in a:
            print(f"{name:50s} {relative(a[name], b[name].double()):.2e}")
    elif verb == "compare":
        compare(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif verb == "gamma":
        centring_gamma(sys.argv[2])
    else:
        sys.exit(__doc__)
