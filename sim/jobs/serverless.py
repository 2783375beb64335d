"""Jobs of the serverless experiments: ``cold_start``, ``keepalive``, ``noisy_neighbour``.

Each one simulates (several variants of) the configured scenario on one workload and adds
its own tables and figure to the usual summary and per-request frames:

* ``cold_start``: every setup in ``setups``; table ``cold_starts`` (one row per simulated
  replica load: stages, tier) and ``cold_start_by_tier`` (mean stages per model and tier);
  figure ``plots/cold_start``.
* ``keepalive``: the ``serverless`` setup once per fixed idle timeout in
  ``serverless.jobs.fixed_idle_s`` and once with the hybrid histogram policy, same
  workload; table ``keepalive`` (cold-start rate, loads, idle GPU time per policy); figure
  ``plots/keepalive``. Summary rows carry ``policy`` and ``keepalive_s``.
* ``noisy_neighbour``: every setup at each background level in
  ``serverless.jobs.background_levels`` (the fraction of background requests kept,
  nested: see :mod:`sim.workload.background`), same seed; table ``isolation``: each user
  tenant's TTFT p50/p99 per level, with ``ttft_p99_isolated_s`` (level 0, no background)
  and ``isolation_ratio`` = p99 / isolated p99; figure ``plots/isolation``. A setup that
  does not serve background traffic sees the same requests at every level, so it is
  simulated once and its rows repeated.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from sim.simulation.build import build_catalog, setup_serves_background
from sim.errors import InputError
from sim.jobs.simulate import frames, model_prices, stability_notes
from sim.records import COMPLETED
from sim.metrics.summary import ALL, requests_frame, summarize
from sim.config import variant
from sim.io import atomic_write
from sim.jobs import job
from sim.records import Result
from sim.report.outputs import write_outputs
from sim.simulation.progress import progress_printer
from sim.simulation.simulate import simulate
from sim.workload import build_workload


def _sim(cfg, workload, setup, catalog, progress, label):
    update, close = progress_printer(progress, label)
    try:
        return simulate(cfg, workload, setup, catalog, update)
    finally:
        close()


def _finish(res: Result, cfg, out_dir, figure, generic_plots: bool = True) -> Result:
    """Write the job's figure, then the usual outputs. Jobs that simulate several variants
    of one setup skip the generic per-setup figures (they would pool the variants)."""
    if out_dir is None:
        return res
    if cfg.output.plots:
        res.figures.extend(figure(out_dir))
    if generic_plots:
        write_outputs(res, cfg, out_dir)
    else:
        write_outputs(res, variant(cfg, **{"output.plots": False}), out_dir)
        atomic_write(out_dir / "config.yaml", lambda p: p.write_text(OmegaConf.to_yaml(cfg)))
    return res


# ------------------------------------------------------------------------------ cold start
def cold_start_tables(runs) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts = []
    for r in runs:
        cs = r.extra.get("cold_starts") if r.extra else None
        if cs is not None and len(cs):
            parts.append(cs.assign(setup=r.setup))
    if not parts:
        return pd.DataFrame(), pd.DataFrame()
    loads = pd.concat(parts, ignore_index=True)
    loads = loads[["setup"] + [c for c in loads.columns if c != "setup"]]
    g = loads.groupby(["setup", "model", "tier"], sort=True)
    by = g.agg(loads=("total_s", "size"),
               mean_provision_s=("provision_s", "mean"), mean_container_s=("container_s", "mean"),
               mean_weights_s=("weights_s", "mean"), mean_init_s=("init_s", "mean"),
               mean_total_s=("total_s", "mean"), min_total_s=("total_s", "min"),
               max_total_s=("total_s", "max")).reset_index()
    return loads, by


@job("cold_start")
def cold_start_job(cfg, out_dir, progress) -> Result:
    from sim.jobs.simulate import simulate_setups
    from sim.report.serverless import cold_start_figure

    workload, runs, catalog = simulate_setups(cfg, progress)
    summary, requests = frames(cfg, workload, runs, catalog)
    loads, by = cold_start_tables(runs)
    res = Result(summary=summary, requests=requests, notes=stability_notes(workload, runs))
    res.tables["cold_start_by_tier"] = by
    res.tables["cold_starts"] = loads
    if not by.empty:
        res.notes.append("cold starts from simulated loads: " + "; ".join(
            f"{r.model} from {r.tier}: {r.mean_total_s:.1f} s mean over {r.loads}"
            for r in by.itertuples()))
    req = requests if len(requests) else pd.concat([requests_frame(workload, r) for r in runs])
    return _finish(res, cfg, out_dir, lambda d: cold_start_figure(by, req, d))


# ------------------------------------------------------------------------------ keep-alive
def policy_row(workload, run, policy: str, keepalive_s: float) -> dict:
    log = run.log
    served = workload.user_mask() if not run.background else np.ones(len(workload), bool)
    cold = (log.cold_wait_s > 0) & served
    done = (log.outcome == COMPLETED) & served
    ttft = (log.first_s - log.arrival_s)[done]
    st = run.extra.get("stats", {})
    wins = list(run.extra.get("keepalive_windows", {}).values())
    return {
        "policy": policy, "keepalive_s": keepalive_s, "requests": int(served.sum()),
        "completed": int(done.sum()), "cold_requests": int(cold.sum()),
        "cold_fraction": float(cold.sum() / max(served.sum(), 1)),
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


@job("keepalive")
def keepalive_job(cfg, out_dir, progress) -> Result:
    from sim.report.serverless import keepalive_figure

    catalog = build_catalog(cfg)
    workload = build_workload(cfg, catalog, int(cfg.calibration.closed_loop_requests_per_client))
    prices = model_prices(catalog, workload.models)
    fixed = [float(k) for k in cfg.serverless.jobs.fixed_idle_s]
    if any(not k >= 0 for k in fixed):
        raise InputError("idle timeouts must be >= 0", key="serverless.jobs.fixed_idle_s")
    variants = [("fixed", k, variant(cfg, **{"serverless.keepalive.kind": "fixed",
                                              "serverless.keepalive.idle_s": k})) for k in fixed]
    variants.append(("hybrid", float("nan"), variant(cfg, **{"serverless.keepalive.kind": "hybrid"})))
    rows, sums, reqs = [], [], []
    for policy, k, vcfg in variants:
        run = _sim(vcfg, workload, "serverless", catalog, progress, f"{policy} {k:g}")
        rows.append(policy_row(workload, run, policy, k))
        sums.append(summarize(workload, run, prices).assign(policy=policy, keepalive_s=k))
        if cfg.output.parquet:
            reqs.append(requests_frame(workload, run).assign(policy=policy, keepalive_s=k))
    table = pd.DataFrame(rows)
    res = Result(summary=pd.concat(sums, ignore_index=True),
                 requests=pd.concat(reqs, ignore_index=True) if reqs else pd.DataFrame())
    res.tables["keepalive"] = table
    hy = table[table["policy"] == "hybrid"].iloc[0]
    fx = table[table["policy"] == "fixed"]
    both = fx[(fx["cold_fraction"] > hy["cold_fraction"]) & (fx["idle_gpu_hours"] > hy["idle_gpu_hours"])]
    worse = fx[(fx["cold_fraction"] < hy["cold_fraction"]) & (fx["idle_gpu_hours"] < hy["idle_gpu_hours"])]
    res.notes.append(
        f"hybrid: {100 * hy['cold_fraction']:.1f} % cold requests, {hy['idle_gpu_hours']:.2f} idle GPU-h; "
        f"it beats on both the fixed timeouts {list(both['keepalive_s'])} s and is beaten on both by "
        f"{list(worse['keepalive_s'])} s")
    return _finish(res, cfg, out_dir, lambda d: keepalive_figure(table, d), generic_plots=False)


# ------------------------------------------------------------------------- noisy neighbour
def isolation_table(summaries: pd.DataFrame) -> pd.DataFrame:
    """Per (setup, user tenant, level): TTFT p50/p99, isolated p99 and their ratio."""
    s = summaries[(summaries["tenant"] != ALL) & (summaries["tenant"] != "__background__")]
    keep = ["setup", "tenant", "background_level", "background_rps", "requests", "completed",
            "rejected", "cold_starts", "ttft_p50_s", "ttft_p99_s"]
    t = s[keep].copy()
    base = t[t["background_level"] == 0.0].set_index(["setup", "tenant"])["ttft_p99_s"]
    t["ttft_p99_isolated_s"] = [base.get((a, b), np.nan) for a, b in zip(t["setup"], t["tenant"])]
    t["isolation_ratio"] = t["ttft_p99_s"] / t["ttft_p99_isolated_s"]
    return t.sort_values(["setup", "tenant", "background_level"]).reset_index(drop=True)


def run_levels(cfg, progress=False):
    """Simulate every setup at every background level; returns (summaries, requests)."""
    catalog = build_catalog(cfg)
    levels = sorted({float(x) for x in cfg.serverless.jobs.background_levels} | {0.0})
    if any(not 0 <= x <= 1 for x in levels):
        raise InputError("levels must be in [0, 1]", key="serverless.jobs.background_levels")
    setups = list(cfg.setups)
    sums, reqs = [], []
    cached: dict[str, pd.DataFrame] = {}
    for level in levels:
        lcfg = variant(cfg, **{"background.scale": level})
        workload = build_workload(lcfg, catalog, int(cfg.calibration.closed_loop_requests_per_client))
        prices = model_prices(catalog, workload.models)
        bg_rps = float((~workload.user_mask()).sum()) / workload.horizon_s
        for name in setups:
            if name in cached:  # it ignores the background: same requests, same result
                sums.append(cached[name].assign(background_level=level, background_rps=bg_rps))
                continue
            run = _sim(lcfg, workload, name, catalog, progress, f"{name} bg={level:g}")
            s = summarize(workload, run, prices)
            if not setup_serves_background(name):
                cached[name] = s
            sums.append(s.assign(background_level=level, background_rps=bg_rps))
            if cfg.output.parquet:
                reqs.append(requests_frame(workload, run).assign(background_level=level))
    return (pd.concat(sums, ignore_index=True),
            pd.concat(reqs, ignore_index=True) if reqs else pd.DataFrame())


@job("noisy_neighbour")
def noisy_neighbour_job(cfg, out_dir, progress) -> Result:
    from sim.report.serverless import isolation_figure

    summary, requests = run_levels(cfg, progress)
    table = isolation_table(summary)
    res = Result(summary=summary, requests=requests)
    res.tables["isolation"] = table
    top = table["background_level"].max()
    for r in table[table["background_level"] == top].itertuples():
        res.notes.append(f"{r.setup}/{r.tenant}: TTFT p99 {r.ttft_p99_isolated_s:.3g} s alone, "
                         f"{r.ttft_p99_s:.3g} s with {r.background_rps:.2f} req/s of background "
                         f"(x{r.isolation_ratio:.2f})")
    return _finish(res, cfg, out_dir, lambda d: isolation_figure(table, d), generic_plots=False)
