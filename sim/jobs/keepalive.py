"""``experiment=keepalive``: fixed idle timeouts against the hybrid histogram policy.

The ``serverless`` setup runs once per fixed idle timeout in ``keepalive.fixed_idle_s`` and
once with the hybrid histogram policy (Shahrad et al., ATC'20), on the same requests;
table ``keepalive`` (cold-start rate, loads, idle GPU time per policy); figure
``plots/keepalive``. Summary rows carry ``policy`` and ``keepalive_s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List

import numpy as np
import pandas as pd

from sim.config import variant
from sim.config.repeats import leaf_keys
from sim.config.rules import nonneg
from sim.jobs import GIVEN, check_distinct, job
from sim.metrics.runnotes import variant_notes
from sim.records import COMPLETED, Result
from sim.report.outputs import write_outputs
from sim.report.serverless import keepalive_figure
from sim.simulation.build import build_catalog, build_workload
from sim.simulation.frames import kept_requests, model_prices, setup_summary
from sim.simulation.simulate import simulate
from sim.simulation.unread import job_note


@dataclass
class KeepaliveConfig:
    """``keepalive.*``: the fixed idle timeouts compared with the hybrid policy."""

    # 5 s and 60 s are platform defaults (CAL §5); the rest span the Azure code trace's gaps
    fixed_idle_s: List[float] = nonneg(factory=lambda: [5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0])


def dominance(beaten: list, beating: list, equal: list = ()) -> str:
    """How the hybrid policy compares with the fixed timeouts on both counts (fewer cold
    requests and fewer idle GPU-hours): the ones it beats on both, the ones beating it on
    both, the ones equal to it on both, or that the others trade one count for the other
    (or tie on one: until December 2026 a tie on both was said to trade)."""
    def secs(v: list) -> str:
        return ", ".join(f"{float(x):g}" for x in v) + " s"
    parts = ([f"it beats the fixed timeout{'s' if len(beaten) > 1 else ''} {secs(beaten)} on "
              "both counts"] if beaten else [])
    parts += ([f"the fixed timeout{'s' if len(beating) > 1 else ''} {secs(beating)} "
               f"beat{'' if len(beating) > 1 else 's'} it on both"] if beating else [])
    parts += ([f"the fixed timeout{'s' if len(equal) > 1 else ''} {secs(equal)} "
               f"match{'' if len(equal) > 1 else 'es'} it on both"] if equal else [])
    return ("; ".join(parts) if parts else "no fixed timeout is better or worse on both "
            "counts: each has fewer cold requests or fewer idle GPU-h, not both, or ties on one")

def policy_row(workload, run, policy: str, keepalive_s: float, warmup_s: float = 0.0) -> dict:
    """One policy's figures; request figures over requests arriving at or after
    ``warmup_s`` (``metrics.warmup_s``), GPU hours over the whole run (a bill does not split)."""
    log = run.log
    served = workload.user_mask() if not run.background else np.ones(len(workload), bool)
    if warmup_s > 0:
        served = served & ~(log.arrival_s < warmup_s)
    cold = (log.cold_wait_s > 0) & served
    done = (log.outcome == COMPLETED) & served
    ttft = (log.first_s - log.arrival_s)[done]
    st = run.extra.get("stats", {})
    wins = list(run.extra.get("keepalive_windows", {}).values())
    return {
        "policy": policy, "keepalive_s": keepalive_s, "warmup_s": warmup_s,
        "requests": int(served.sum()),
        "completed": int(done.sum()), "cold_requests": int(cold.sum()),
        # undefined without a request (until December 2026 0.0, read as "never cold")
        "cold_fraction": float(cold.sum() / served.sum()) if served.any() else float("nan"),
        "loads": int(len(run.extra.get("cold_starts", []))),
        "gpu_hours": st.get("gpu_s", 0.0) / 3600.0,
        "idle_gpu_hours": st.get("idle_gpu_s", 0.0) / 3600.0,
        "loading_gpu_hours": st.get("loading_gpu_s", 0.0) / 3600.0,
        "ttft_p50_s": float(np.percentile(ttft, 50)) if ttft.size else float("nan"),
        "ttft_p99_s": float(np.percentile(ttft, 99)) if ttft.size else float("nan"),
        # the windows the policy had settled on at the end (first model)
        "final_prewarm_s": wins[0][0] if wins else float("nan"),
        "final_keepalive_s": wins[0][1] if wins else float("nan"),
    }


def check(cfg) -> None:
    check_distinct(cfg, "keepalive.fixed_idle_s")


@job("keepalive", config=KeepaliveConfig, check=check,
     own_setups=(("serverless",), "the serverless setup once per keep-alive policy"),
     sets=lambda cfg: {
         "serverless.keepalive.kind": "it runs a fixed timeout for each of keepalive.fixed_idle_s, "
         "then the hybrid policy (serverless.keepalive.idle_s is read as that policy's fallback)"})
def keepalive_job(cfg, out_dir, progress) -> Result:
    catalog = build_catalog(cfg)
    workload = build_workload(cfg)
    prices = model_prices(catalog, workload.models)
    fixed = [float(k) + 0.0 for k in cfg.keepalive.fixed_idle_s]  # -0.0 is 0 (no "-0 s" label)
    variants = [("fixed", k, variant(cfg, **{"serverless.keepalive.kind": "fixed",
                                              "serverless.keepalive.idle_s": k})) for k in fixed]
    variants.append(("hybrid", float("nan"), variant(cfg, **{"serverless.keepalive.kind": "hybrid"})))
    rows, sums, reqs, runs = [], [], [], []
    for policy, k, vcfg in variants:
        run = simulate(vcfg, workload, "serverless", progress, f"{policy} {k:g}")
        runs.append((f"keep-alive {policy}" + (f" {k:g} s" if policy == "fixed" else ""), vcfg, run))
        rows.append(policy_row(workload, run, policy, k, float(cfg.metrics.warmup_s)))
        sums.append(setup_summary(vcfg, workload, run, prices).assign(policy=policy, keepalive_s=k))
        kept = kept_requests(vcfg, workload, run)
        if len(kept):
            reqs.append(kept.assign(policy=policy, keepalive_s=k))
    table = pd.DataFrame(rows)
    res = Result(summary=pd.concat(sums, ignore_index=True),
                 requests=pd.concat(reqs, ignore_index=True) if reqs else pd.DataFrame(),
                 notes=variant_notes(cfg, workload, runs))  # the workload's once, then each run's
    res.tables["keepalive"] = table
    if any(k.lstrip("+") == "serverless.keepalive.idle_s" for t in GIVEN.get() for k in leaf_keys(t)):
        # the fixed runs replace it: said (until December 2026 it went unused, unsaid)
        res.notes.append(f"serverless.keepalive.idle_s {float(cfg.serverless.keepalive.idle_s):g} "
                         "is read by the hybrid run only, as its fallback; the fixed runs take "
                         "each of keepalive.fixed_idle_s (" + ", ".join(f"{k:g}" for k in fixed)
                         + " s): list a timeout there to run it")
    hy = table[table["policy"] == "hybrid"].iloc[0]
    if hy["requests"] == 0:  # every policy ran the same requests: none measured, no verdict
        res.notes.append(f"no request arrived in the measured window (from metrics.warmup_s="
                         f"{float(cfg.metrics.warmup_s):g} s to horizon_s={float(cfg.horizon_s):g} "
                         "s): the cold fractions are undefined (blank) and no policy is compared "
                         f"with the hybrid one; hybrid: {hy['idle_gpu_hours']:.2f} idle GPU-h")
    else:
        res.notes.append(verdict(table, hy))
    res.notes = job_note("keepalive") + res.notes  # keys no run of it read
    if out_dir is not None:
        write_outputs(res, cfg, out_dir, lambda d: keepalive_figure(table, d), generic_plots=False)
    return res


def verdict(table: pd.DataFrame, hy) -> str:
    """The hybrid policy's cold fraction and idle GPU-hours, and the fixed timeouts it beats."""
    fx = table[table["policy"] == "fixed"]
    both = fx[(fx["cold_fraction"] > hy["cold_fraction"]) & (fx["idle_gpu_hours"] > hy["idle_gpu_hours"])]
    worse = fx[(fx["cold_fraction"] < hy["cold_fraction"]) & (fx["idle_gpu_hours"] < hy["idle_gpu_hours"])]
    same = fx[(fx["cold_fraction"] == hy["cold_fraction"]) & (fx["idle_gpu_hours"] == hy["idle_gpu_hours"])]
    return (f"hybrid: {100 * hy['cold_fraction']:.1f} % cold requests, {hy['idle_gpu_hours']:.2f} "
            "idle GPU-h; " + dominance(list(both["keepalive_s"]), list(worse["keepalive_s"]),
                                       list(same["keepalive_s"])))
