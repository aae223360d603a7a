#!/usr/bin/env python3
"""Writes src/Kernels/TimedOps.g.cs: TimedOps' forward of every IOps member and the OpName enum, read from
src/Kernels/IOps.cs, so the profiling decorator is never written by hand. What only a person can write, each op's cost
(OpCosts, from its shapes), is the table below; an op of IOps missing from it stops the script with its name.
Adding an op: declare it in IOps, give it a line in COSTS, run from the repository root: python3 tools/codegen/timed_ops.py"""
import re
import sys

IOPS, OUT = "src/Kernels/IOps.cs", "src/Kernels/TimedOps.g.cs"

# Members forwarded untimed: they allocate, describe or wait, and run no op.
UNTIMED = {"Name", "Allocate", "Supports", "AllocateInts", "Synchronize"}

# Each op's cost from the call's arguments (names as in IOps), its bytes per element those of its first bulk view's
# storage (Bytes: bfloat16 moves half of float32); a "#" part becomes a comment above the call.
COSTS = {
    "Zero": "OpCosts.Elementwise(x.Length, reads: 0, writes: 1, Bytes(x))",
    "Copy": "OpCosts.Elementwise(source.Length, reads: 1, writes: 1, Bytes(source))",
    "GatherRows": "OpCosts.GatherRows(indices.Length, dim, scatterAdd: false, Bytes(output))",
    "ScatterAddRows": "OpCosts.GatherRows(indices.Length, dim, scatterAdd: true, Bytes(rows))",
    "RmsNorm": "OpCosts.RmsNorm(input.Length, dim, backward: false, Bytes(input))",
    "RmsNormBackward": "OpCosts.RmsNorm(input.Length, dim, backward: true, Bytes(input))",
    "LayerNorm": "OpCosts.LayerNorm(input.Length, dim, backward: false, Bytes(input))",
    "LayerNormBackward": "OpCosts.LayerNorm(input.Length, dim, backward: true, Bytes(input))",
    "AddBias": "OpCosts.Elementwise(x.Length, reads: 1, writes: 1, Bytes(x))",
    "AddBiasBackward": "OpCosts.Elementwise(outputGrad.Length, reads: 1, writes: 0, Bytes(outputGrad))",
    "MatMul": "OpCosts.MatMul(rows, inDim, outDim, Bytes(output))",
    "MatMulBackward": "OpCosts.MatMulBackward(rows, inDim, outDim, Bytes(outputGrad))",
    "Rope": "OpCosts.Rope(positions.Length, heads, rotaryDim, Bytes(x))",
    "RopeBackward": "OpCosts.Rope(positions.Length, heads, rotaryDim, Bytes(xGrad))",
    "Attention": "OpCosts.Attention(shape, Bytes(q))",
    "AttentionBackward": "OpCosts.AttentionBackward(shape, Bytes(q))",
    "GatedActivation": "OpCosts.Elementwise(output.Length, reads: 2, writes: 1, Bytes(output))",
    "GatedActivationBackward": "OpCosts.Elementwise(outputGrad.Length, reads: 5, writes: 2, Bytes(outputGrad))"
                               " # Reads dO, gate, up; adds into both gradients (read and written).",
    "Activate": "OpCosts.Elementwise(output.Length, reads: 1, writes: 1, Bytes(output))",
    "ActivateBackward": "OpCosts.Elementwise(outputGrad.Length, reads: 3, writes: 1, Bytes(outputGrad))"
                        " # Reads dO and the input; adds into the gradient (read and written).",
    "Add": "OpCosts.Elementwise(output.Length, reads: 2, writes: 1, Bytes(output))",
    "LogSoftmaxAtLabels": "OpCosts.Softmax(logits.Length, labels.Length, logitsAccesses: 1, Bytes(logits))",
    "LogSoftmaxAtLabelsBackward": "OpCosts.Softmax(logits.Length, labels.Length, logitsAccesses: 2, Bytes(logits))",
    "LogSoftmax": "OpCosts.Softmax(logits.Length, logits.Length / vocab, logitsAccesses: 2, Bytes(logits))",
    "KlDivergence": "OpCosts.Softmax(logits.Length, kl.Length, logitsAccesses: 2, Bytes(logits))",
    "KlDivergenceBackward": "OpCosts.Softmax(logits.Length, rowWeight.Length, logitsAccesses: 3, Bytes(logits))",
    "ChunkedOutputLoss": "OpCosts.ChunkedOutputLoss(rows, dim, vocab, Bytes(hidden))",
    "ChunkedOutputLossBackward": "OpCosts.ChunkedOutputLossBackward(rows, dim, vocab, Bytes(hidden))",
    "SumOfSquares": "OpCosts.Elementwise(x.Length, reads: 1, writes: 0, Bytes(x))",
    "Scale": "OpCosts.Elementwise(x.Length, reads: 1, writes: 1, Bytes(x))",
    "AdamW": "OpCosts.Elementwise(parameters.Length, reads: 4, writes: 3, Bytes(parameters))"
             " # Reads the gradients; reads and writes the parameters and both moments.",
}


def members(source):
    """(return type, name, parameter text or None for a property) of each member of IOps<T>, in declaration order."""
    body = source[source.index("public interface IOps<T>"):]
    code = " ".join(line.strip() for line in body.splitlines() if not line.strip().startswith("//"))
    start, depth = code.index("{"), 0
    for end in range(start, len(code)):
        depth += {"{": 1, "}": -1}.get(code[end], 0)
        if depth == 0:
            break
    pattern = r"([\w<>?\[\], ]+?)\s+(\w+)\s*(\((.*?)\)\s*;|\{\s*get;\s*\})"
    return [(m.group(1).strip(), m.group(2), m.group(4)) for m in re.finditer(pattern, code[start + 1:end])]


def argument_names(parameters):
    """The argument list that passes each parameter on: the last word of each parameter before any default."""
    if not parameters.strip():
        return ""
    names, depth, current = [], 0, ""
    for ch in parameters + ",":
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        if ch == "," and depth == 0:
            names.append(current.split("=")[0].split()[-1])
            current = ""
        else:
            current += ch
    return ", ".join(names)


def wrapped(line, limit=150):
    """The line, broken after the last parameter's comma that keeps each piece within the limit (the repo's wrapping)."""
    lines, indent = [], " " * (len(line) - len(line.lstrip()) + 4)
    while len(line) > limit:
        cut = line.rindex(", ", 0, limit) + 1
        lines.append(line[:cut])
        line = indent + line[cut + 1:]
    return lines + [line]


def main():
    ops = members(open(IOPS, encoding="utf-8").read())
    missing = [name for _, name, _ in ops if name not in UNTIMED and name not in COSTS]
    unknown = sorted(set(COSTS) - {name for _, name, _ in ops})
    if missing or unknown:
        sys.exit(f"timed_ops.py: IOps ops without a cost: {missing}; costs of no IOps op: {unknown}")
    timed = [name for _, name, _ in ops if name not in UNTIMED]
    out = ["// <auto-generated> by tools/codegen/timed_ops.py from IOps.cs: edit that script or IOps, not this file. </auto-generated>",
           "namespace SimNpo.Kernels;",
           "",
           "/// <summary>The ops <see cref=\"TimedOps{T}\"/> tells apart, named as the methods of <see cref=\"IOps{T}\"/>.</summary>",
           "public enum OpName",
           "{"]
    out += [f"    {name}," for name in timed]
    out += ["}", "", "public sealed partial class TimedOps<T>", "{"]
    for returns, name, parameters in ops:
        if parameters is None:
            out += [f"    public {returns} {name} => _inner.{name};", ""]
            continue
        call = f"_inner.{name}({argument_names(parameters)})"
        if name in UNTIMED:
            out += wrapped(f"    public {returns} {name}({parameters}) => {call};") + [""]
            continue
        cost, _, comment = COSTS[name].partition(" # ")
        out += wrapped(f"    public {returns} {name}({parameters})") + ["    {", "        var started = Start();"]
        out += wrapped(f"        var result = {call};" if returns != "void" else f"        {call};")
        if comment:
            out.append(f"        // {comment}")
        out += wrapped(f"        Stop(OpName.{name}, started, {cost});")
        if returns != "void":
            out.append("        return result;")
        out += ["    }", ""]
    out[-1] = "}"
    open(OUT, "w", encoding="utf-8").write("\n".join(out) + "\n")


main()
