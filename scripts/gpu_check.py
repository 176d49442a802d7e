"""The Python steps of scripts/gpu-check.sh: the S-Conv guard's verdicts, the CUDA-graph Segmenter
bench (`sgnet bench model` has no CUDA-graph option) and the closing table.

    python scripts/gpu_check.py guard OUT.json DEVICE
    python scripts/gpu_check.py graphs OUT.json DEVICE PRECISION MODEL HxW ITERS
    python scripts/gpu_check.py summary STEPS.tsv
    python scripts/gpu_check.py slug DEVICE          # the GPU's name as a file-name part

Each step writes its JSON (the summary reads them back for one line per step).
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from pathlib import Path


def slug(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        name = torch.cuda.get_device_name(torch.device(device))
    else:
        name = "cpu"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def guard(out: Path, device: str) -> int:
    """Every S-Conv backend that runs here, in every dtype, forward and forward+backward, through
    `ops.guard.check_backend`: the real errors behind the guard's tolerances (docs/ops.md)."""
    import torch

    import ops
    from ops import guard as g

    dev = torch.device(device)
    rows, failed, where = [], 0, str(dev)
    for name in ops.available_backends(dev.type):
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            for backward in (False, True):
                t0 = time.perf_counter()
                v = g.check_backend(name, dev, dtype, backward)
                rows.append({"backend": name, "dtype": v.dtype, "backward": backward, "ok": v.ok,
                             "worst": v.worst, "tolerance": g.TOLERANCES[dtype] * (g.GRAD_FACTOR if backward else 1),
                             "problem": v.problem, "seconds": time.perf_counter() - t0})  # fmt: skip
                failed += not v.ok
                where = v.where
                print(f"{name:12s} {v.what:28s} {'ok  ' if v.ok else 'FAIL'} worst {v.worst:.3g} "
                      f"(tolerance {rows[-1]['tolerance']:g}){'' if v.ok else ' — ' + str(v.problem)}")  # fmt: skip
    out.write_text(json.dumps({"check": "ops.guard.check_backend", "where": where, "rows": rows}, indent=2))
    return 1 if failed else 0


def graphs(out: Path, device: str, precision: str, model: str, size: str, iters: int) -> int:
    """Segmenter stages of one network: eager, CUDA graphs, channels-last, both (CUDA graphs on CUDA only)."""
    import torch

    import sgnet
    from sgnet.bench import bench_segmenter, environment, synthetic_frame
    from sgnet.loading import load_model

    dev = torch.device(device)
    h, w = (int(v) for v in size.split("x"))
    net = load_model(model, random_weights=True).net
    frame = synthetic_frame(h, w)
    variants = [("eager", {})]
    if dev.type == "cuda":
        variants.append(("cuda_graphs", {"cuda_graphs": True}))
    variants.append(("channels_last", {"channels_last": True}))  # converts the module in place: after the others
    if dev.type == "cuda":
        variants.append(("cuda_graphs+channels_last", {"cuda_graphs": True, "channels_last": True}))
    results = {}
    for name, kw in variants:
        seg = sgnet.Segmenter(net, device=dev, precision=precision, input_size=(h, w), **kw)
        st = bench_segmenter(seg, frame, warmup=min(10, iters), iters=iters)
        results[name] = {k: v.as_dict() for k, v in st.items()}
        print(f"{name:28s} model {st['model'].median_ms:7.2f} ms   total {st['total'].median_ms:7.2f} ms "
              f"({st['total'].fps:.1f} FPS)")  # fmt: skip
    payload = {"benchmark": "Segmenter stages: eager vs CUDA graphs vs channels-last (scripts/gpu_check.py)",
               "environment": environment(dev), "model": model, "size": [h, w], "precision": precision,
               "iters": iters, "results": results}  # fmt: skip
    out.write_text(json.dumps(payload, indent=2))
    return 0


# -- the closing table ---------------------------------------------------------------------------
def _ops_line(d: dict) -> str:
    ratios: dict[str, list[float]] = {}
    errors = set()
    for shape in d.get("shapes", []):
        for name, cand in shape.get("results", {}).items():
            if cand.get("error"):
                errors.add(name)
            r = cand.get("ratio_vs_conv2d", {}).get("forward")
            if r is not None:
                ratios.setdefault(name, []).append(r)
    parts = [f"{n} {statistics.median(v):.2f}" for n, v in ratios.items()]
    text = "fwd x conv2d (median over shapes): " + ", ".join(parts)
    return text + (f"; errors: {', '.join(sorted(errors))}" if errors else "")


def _model_line(d: dict) -> str:
    """One entry per model (and per engine when several were timed side by side: `--engine`)."""
    parts = []
    torch_label = "compiled" if d.get("compile") else "eager"
    for r in d.get("results", []):
        engines = r.get("engines") or {"torch": r}
        for label, e in engines.items():
            fwd = e.get("forward") or {}
            seg = (e.get("segmenter") or {}).get("total") or {}
            who = torch_label if label == "torch" else label
            text = f"{r.get('model')} {who}: fwd {fwd.get('median_ms', float('nan')):.2f} ms"
            if len(engines) > 1:
                text += f" (x{e.get('ratio_to_first', float('nan')):.2f})"
            if seg:
                text += f", frame {seg.get('median_ms', float('nan')):.2f} ms ({seg.get('fps', 0):.0f} FPS)"
            parts.append(text)
    return "; ".join(parts)


def _headline(path: Path) -> str:
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError):
        return ""
    if "rows" in d:  # guard
        bad = [r for r in d["rows"] if not r["ok"]]
        worst: dict[str, float] = {}
        for r in d["rows"]:
            if r["ok"]:
                worst[r["backend"]] = max(worst.get(r["backend"], 0.0), r["worst"] / r["tolerance"])
        text = f"{len(d['rows']) - len(bad)}/{len(d['rows'])} pass; worst error / tolerance: " + ", ".join(
            f"{k} {v:.2f}" for k, v in worst.items())
        return text + (f"; FAILED: {', '.join(sorted({r['backend'] + ' ' + r['dtype'] for r in bad}))}" if bad else "")
    if "shapes" in d:
        return _ops_line(d)
    if d.get("benchmark") == "sgnet bench hha":
        res = d.get("results", {})
        return ", ".join(f"{k} {v['median_ms']:.2f} ms" for k, v in res.items())
    if isinstance(d.get("results"), dict):  # graphs
        return ", ".join(f"{k} {v['model']['median_ms']:.2f} ms" for k, v in d["results"].items()) + " (model stage)"
    if isinstance(d.get("results"), list):
        return _model_line(d)
    return ""


def summary(steps: Path) -> int:
    rows = [ln.split("\t") for ln in steps.read_text().splitlines() if ln.strip()]
    print()
    print(f"{'step':26s} {'status':10s} {'s':>5s}  result")
    print("-" * 100)
    failed = 0
    for name, status, seconds, json_path, log, note in rows:
        line = note
        if json_path and Path(json_path).is_file():  # also for a failed guard step: it says which backend
            line = _headline(Path(json_path)) or note
        elif log and Path(log).is_file():  # e.g. pytest's closing line
            tail = [ln for ln in Path(log).read_text(errors="replace").splitlines() if ln.strip()]
            line = (tail[-1] if tail else note)[:160]
        failed += status not in ("ok", "SKIP")
        print(f"{name:26s} {status:10s} {seconds:>5s}  {line}")
    files = sorted({r[3] for r in rows if r[3] and Path(r[3]).is_file()})
    if files:
        print("\nwritten: " + " ".join(files))
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    cmd, *args = argv
    if cmd == "slug":
        print(slug(args[0]))
        return 0
    if cmd == "guard":
        return guard(Path(args[0]), args[1])
    if cmd == "graphs":
        return graphs(Path(args[0]), args[1], args[2], args[3], args[4], int(args[5]))
    if cmd == "summary":
        return summary(Path(args[0]))
    raise SystemExit(f"gpu_check.py: unknown step {cmd!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
