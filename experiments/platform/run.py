"""A shared serverless platform at the scale of a provider's region, one hour: 200
background tenants (Zipf rates, Gamma CV 3 arrivals, 30 req/s in all) over 30 models
(20 copies of Llama-3.1-8B and 10 of Qwen3-32B, FP8, one H100 each) on a pool of H100
nodes, beside the default chat tenant. It prints, for the chosen start and warm-up, the
background's p50/p99 TTFT and cold starts per summary window, the p99 of arrivals after 20
minutes, the loads at t=0 and the replicas that loaded and never served a token.

    python experiments/platform/run.py --start cold --warmup 0 --nodes 8
    python experiments/platform/run.py --start warm --warmup 1200 --nodes 8

Copies are added as catalog models by dotted key (``catalog.models.<name>={...}``), each
with its own deployment, so every copy loads, scales and is evicted on its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim.errors import ArgumentParser, InputError  # noqa: E402

COPIES = {"llama31-8b": 20, "qwen3-32b": 10}
AFTER_S = 1200.0  # "after 20 minutes": arrivals past the cold start at t=0 settle


def overrides(start: str, warmup: float, nodes: int, horizon: float) -> list[str]:
    catalog = yaml.safe_load((ROOT / "conf" / "catalog" / "default.yaml").read_text())["models"]
    names, ov = [], []
    for src, n in COPIES.items():
        spec = {k: v for k, v in catalog[src].items() if k != "sources"}
        for i in range(n):
            name = f"{src}-c{i:02d}"
            names.append(name)
            text = yaml.safe_dump({**spec, "name": name}, default_flow_style=True, width=10 ** 6)
            ov.append(f"catalog.models.{name}={text.strip()}")
            ov.append(f"deployments.{name}={{gpu: H100, precision: fp8, tp: 1}}")
    return ["setups=[serverless]", f"horizon_s={horizon:g}", f"serverless.start={start}",
            f"metrics.warmup_s={warmup:g}", f"serverless.pool.H100.nodes={nodes}",
            "serverless.pool.H100.gpus_per_node=8", "background.synthetic.tenants=200",
            f"background.synthetic.models=[{','.join(names)}]", "background.synthetic.rate_rps=30",
            "output.plots=false", "output.report=false", "output.parquet=true",
            "output.progress=false", *ov]


# the config keys the flags set (a refusal names the key; the line names the flag too)
FLAG_OF = {"horizon_s": "--horizon", "metrics.warmup_s": "--warmup",
           "serverless.pool.H100.nodes": "--nodes"}


def main(argv=None) -> dict:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--start", choices=["cold", "warm"], default="cold")
    ap.add_argument("--warmup", type=float, default=0.0, help="metrics.warmup_s")
    ap.add_argument("--nodes", type=int, default=8, help="8-GPU H100 nodes in the pool")
    ap.add_argument("--horizon", type=float, default=3600.0)
    a = ap.parse_args(argv)
    try:
        res = sim.run(overrides(a.start, a.warmup, a.nodes, a.horizon))
    except InputError as e:  # one line naming the flag that gave the refused key, exit 2
        flag = FLAG_OF.get(getattr(e, "key", None) or "")
        print(f"error: {f'argument {flag}: ' if flag else ''}{e}", file=sys.stderr)
        raise SystemExit(2) from None
    s, req, rep = res.summary, res.requests, res.tables["replicas"]
    bg = s[s.tenant.str.startswith("__background__")]
    print(bg[["tenant", "window", "requests", "ttft_p50_s", "ttft_p99_s", "cold_starts"]]
          .to_string(index=False))
    done = req[req.outcome == "completed"]
    late = done[done.arrival_s >= AFTER_S]
    pool = rep[rep.tier == "serverless"]
    at0 = pool[pool.start_s < 1.0]
    out = {"requests": len(req), "replicas": len(pool),
           "never_served": int((pool.output_tokens == 0).sum()), "loads_at_t0": len(at0),
           "load_at_t0_max_s": float(at0.loading_s.max()) if len(at0) else float("nan"),
           "p99_after_20min_s": float(np.percentile(late.ttft_s, 99)) if len(late) else float("nan")}
    print(", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in out.items()))
    return out


if __name__ == "__main__":
    main()
