#!/usr/bin/python3
"""Turn the JSON lines of scripts/bench-vs-torch.sh into the tables of
docs/PERFORMANCE.md: for every row, mechinterp's speed over PyTorch's in each
round, and the absolute speeds of round 1.

  scripts/bench-vs-torch.sh 2 | tee bench.jsonl | scripts/bench-ratios.py
  scripts/bench-ratios.py bench.jsonl
"""
import fileinput
import json

SHAPES = {  # (layers, heads, d_model, ctx, batch, vocab, attn_only) -> the name docs/PERFORMANCE.md uses
    (2, 4, 128, 128, 32, 512, True): "A",
    (2, 8, 256, 128, 16, 2048, False): "B",
    (2, 8, 512, 256, 8, 4096, False): "C",
}


def row_name(r):
    if r["workload"] == "toy":
        return "toy: %d instances of %d → %d" % (r["instances"], r["features"], r["hidden"])
    if r["workload"] == "sample":
        return "sample: %d layers, %d heads, d_model %d, vocab %d, batch %d, %d + %d tokens" % (
            r["layers"], r["heads"], r["d_model"], r["vocab"], r["batch"], r["prompt"], r["new"])
    key = (r["layers"], r["heads"], r["d_model"], r["ctx"], r["batch"], r["vocab"], r["attn_only"])
    shape = SHAPES.get(key, "%d layers, %d heads, d_model %d, ctx %d, batch %d, vocab %d%s" % (
        key[:6] + (", attention-only" if key[6] else "",)))
    return "%s %s" % (r["workload"], shape)


def speed(r):
    return {"toy": r.get("steps_per_s"), "sample": r.get("new_tokens_per_s")}.get(r["workload"], r.get("tokens_per_s"))


def main():
    runs = {}  # row -> round -> impl -> result
    order = []
    for line in fileinput.input():
        line = line.strip()
        if not line.startswith("{"):
            continue
        rec = json.loads(line)
        name = row_name(rec["result"])
        if name not in runs:
            runs[name] = {}
            order.append(name)
        runs[name].setdefault(rec["round"], {})[rec["impl"]] = rec["result"]
    rounds = sorted({k for v in runs.values() for k in v})
    print("| workload | " + " | ".join("mechinterp / PyTorch, round %d" % k for k in rounds)
          + " | mechinterp (round %d) | PyTorch (round %d) | unit |" % (rounds[0], rounds[0]))
    print("|---" * (len(rounds) + 4) + "|")
    for name in order:
        cells = []
        for k in rounds:
            pair = runs[name].get(k, {})
            if "mechinterp" in pair and "torch" in pair:
                cells.append("**%.2f**" % (speed(pair["mechinterp"]) / speed(pair["torch"])))
            else:
                cells.append("-")
        first = runs[name].get(rounds[0], {})
        m, t = first.get("mechinterp"), first.get("torch")
        unit = "steps/s" if name.startswith("toy") else "new tokens/s" if name.startswith("sample") else "tokens/s"
        print("| %s | %s | %s | %s | %s |" % (name, " | ".join(cells),
                                              "{:,.0f}".format(speed(m)) if m else "-",
                                              "{:,.0f}".format(speed(t)) if t else "-", unit))


if __name__ == "__main__":
    main()
