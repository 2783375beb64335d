"""``experiment=noisy_neighbour``: a tenant's TTFT as background load on the pool rises.

Every setup runs at each background level in ``noisy_neighbour.background_levels`` (the
fraction of background requests kept, nested: :mod:`sim.workload.background`), same seed;
table ``isolation``: each user tenant's TTFT p50/p99 per level, with ``ttft_p99_isolated_s``
(level 0) and ``isolation_ratio`` = p99 / isolated p99; figure ``plots/isolation``. A setup
that does not serve background traffic sees the same requests at every level (checked), so
it is simulated once and its summary rows and per-request rows repeated at every level, the
latter under each level's request ids (the background's requests interleave with the user's
and shift their ids), and a note says so: until December 2026 ``requests.parquet`` held its
requests at level 0 alone, unsaid, so its summary rows at the other levels had none to be
recomputed from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List

import numpy as np
import pandas as pd

from sim.config import variant
from sim.config.rules import probability
from sim.jobs import check_distinct, job
from sim.metrics.requests import requests_frame
from sim.metrics.runnotes import run_lines, workload_notes
from sim.records import Result, is_aggregate
from sim.report.outputs import write_outputs
from sim.report.serverless import isolation_figure
from sim.simulation.build import build_catalog, build_workload, setup_serves_background
from sim.simulation.frames import kept_requests, model_prices, setup_summary
from sim.simulation.simulate import simulate
from sim.simulation.streamed import kept_ids
from sim.simulation.unread import job_note


@dataclass
class NoisyNeighbourConfig:
    """``noisy_neighbour.*``: the background levels (fractions of background requests kept)."""

    background_levels: List[float] = probability(factory=lambda: [0.0, 0.5, 1.0])


def isolation_table(summaries: pd.DataFrame) -> pd.DataFrame:
    """Per (setup, user tenant, level): TTFT p50/p99, isolated p99 and their ratio (the
    measured window's, ``metrics.warmup_s``)."""
    s = summaries[~summaries["tenant"].map(is_aggregate) & (summaries["window"] != "warmup")]
    keep = ["setup", "tenant", "background_level", "background_rps", "requests", "completed",
            "rejected", "cold_starts", "ttft_p50_s", "ttft_p99_s"]
    t = s[keep].copy()
    base = t[t["background_level"] == 0.0].set_index(["setup", "tenant"])["ttft_p99_s"]
    t["ttft_p99_isolated_s"] = [base.get((a, b), np.nan) for a, b in zip(t["setup"], t["tenant"])]
    t["isolation_ratio"] = t["ttft_p99_s"] / t["ttft_p99_isolated_s"]
    return t.sort_values(["setup", "tenant", "background_level"]).reset_index(drop=True)


def run_levels(cfg, progress=False):
    """Simulate every setup at every background level; returns (summaries, requests, notes:
    each level's workload notes and each run's stability lines, once for a note every level
    gives)."""
    catalog = build_catalog(cfg)
    levels = sorted({float(x) + 0.0 for x in cfg.noisy_neighbour.background_levels} | {0.0})  # -0.0: 0
    setups = list(cfg.setups)
    sums, reqs, said = [], [], {}
    cached: dict[str, tuple] = {}  # setup -> (summary, run, its lines, workload, level)
    repeated: dict[str, list] = {}  # setup -> (the level it ran at, the levels repeating it)
    for level in levels:
        lcfg = variant(cfg, **{"background.scale": level})
        workload = build_workload(lcfg)
        prices = model_prices(catalog, workload.models)
        bg_rps = float((~workload.user_mask()).sum()) / workload.horizon_s
        runs, lines = [], []
        for name in setups:
            if name in cached and same_users(cached[name][3], workload):
                # it ignores the background: same requests, same result
                s, run, said_then, ran_on, ran_at = cached[name]
                sums.append(s.assign(background_level=level, background_rps=bg_rps))
                runs.append(run)
                lines += said_then
                kept = repeated_requests(lcfg, ran_on, workload, run)
                if len(kept):
                    reqs.append(kept.assign(background_level=level))
                repeated.setdefault(name, [ran_at, []])[1].append(level)
                continue
            run = simulate(lcfg, workload, name, progress, f"{name} bg={level:g}")
            runs.append(run)
            mine = run_lines(name, lcfg, workload, run)
            lines += mine
            s = setup_summary(lcfg, workload, run, prices)
            if not setup_serves_background(name):
                cached[name] = (s, run, mine, workload, level)
            sums.append(s.assign(background_level=level, background_rps=bg_rps))
            kept = kept_requests(lcfg, workload, run)
            if len(kept):
                reqs.append(kept.assign(background_level=level))
        # the workload's notes and each run's; a note every level gives is said once
        for n in workload_notes(lcfg, workload, runs) + lines:
            said.setdefault(n, []).append(level)
    notes = [n if len(at) == len(levels) else f"background x{', x'.join(f'{v:g}' for v in at)}: {n}"
             for n, at in said.items()]
    notes += [f"{name} serves no background traffic, so its requests are the same at every "
              f"level: it ran once, at background x{ran:g}, and its rows at x"
              f"{', x'.join(f'{v:g}' for v in at)} (summary.csv, isolation.csv and "
              "requests.parquet, there under each level's own request ids) are that run's"
              for name, (ran, at) in repeated.items()]
    return (pd.concat(sums, ignore_index=True),
            pd.concat(reqs, ignore_index=True) if reqs else pd.DataFrame(), notes)


def same_users(a, b) -> bool:
    """Whether workloads ``a`` and ``b`` hold the same user requests, in the same order (a
    setup serving no background then runs alike on both)."""
    ua, ub = a.user_mask(), b.user_mask()
    return a.tenants[:a.n_user_tenants] == b.tenants[:b.n_user_tenants] and all(
        np.array_equal(x[ua], y[ub], equal_nan=True) for x, y in (
            (a.arrival_s, b.arrival_s), (a.tenant, b.tenant), (a.model, b.model),
            (a.input_tokens, b.input_tokens), (a.output_tokens, b.output_tokens)))


def repeated_requests(cfg, ran_on, workload, run) -> pd.DataFrame:
    """The per-request rows ``run`` (of a setup serving no background, simulated on
    ``ran_on``) keeps at ``workload``'s level: the user requests ``output.requests`` keeps
    there, under that level's ids (the i-th user request of one workload is the i-th of the
    other, :func:`same_users`)."""
    mine, theirs = np.flatnonzero(workload.user_mask()), np.flatnonzero(ran_on.user_mask())
    ids = kept_ids(cfg, workload)
    ids = mine if ids is None else np.intersect1d(ids, mine, assume_unique=True)
    if not ids.size:
        return pd.DataFrame()
    rows = requests_frame(ran_on, run, theirs[np.searchsorted(mine, ids)])
    rows["request_id"] = ids.astype(rows["request_id"].dtype)
    return rows


def check(cfg) -> None:
    check_distinct(cfg, "noisy_neighbour.background_levels")


def _p99(v: float) -> str:
    return f"{v:.3g} s" if np.isfinite(v) else "-"


@job("noisy_neighbour", config=NoisyNeighbourConfig, check=check, sets=lambda cfg: {
    "background.scale": "it runs each of noisy_neighbour.background_levels (and 0): list "
    "yours there"})
def noisy_neighbour_job(cfg, out_dir, progress) -> Result:
    summary, requests, notes = run_levels(cfg, progress)
    table = isolation_table(summary)
    res = Result(summary=summary, requests=requests, notes=notes)
    res.tables["isolation"] = table
    top = table["background_level"].max()
    for r in table[table["background_level"] == top].itertuples():
        alone, busy = r.ttft_p99_isolated_s, r.ttft_p99_s
        if not setup_serves_background(r.setup):  # offered none of it (until December 2026
            # its note said "with 9.37 req/s of background", the level's rate on shared pools)
            seen = table.loc[(table["setup"] == r.setup) & (table["tenant"] == r.tenant),
                             "ttft_p99_s"]
            p99 = (f"TTFT p99 {_p99(busy)}" if np.isfinite(busy) else
                   "no request of the tenant completed")
            at = (f"at {'any' if np.isnan(busy) else 'every'} background level" if seen.nunique(dropna=False) == 1 else
                  f"at x{top:g} ({_p99(alone)} at x0)")
            res.notes.append(f"{r.setup}/{r.tenant}: {p99} {at}: {r.setup} is offered none of "
                             f"the background (background_rps, {r.background_rps:.2f} req/s at "
                             f"x{top:g}, is what the setups with a shared pool are offered)")
            continue
        if not (np.isfinite(alone) and np.isfinite(busy)):  # a short horizon: nothing finished
            res.notes.append(f"{r.setup}/{r.tenant}: no TTFT p99 to compare (alone "
                             f"{_p99(alone)}, with {r.background_rps:.2f} req/s of background "
                             f"{_p99(busy)}): no request of the tenant completed in both")
            continue
        res.notes.append(f"{r.setup}/{r.tenant}: TTFT p99 {alone:.3g} s alone, "
                         f"{busy:.3g} s with {r.background_rps:.2f} req/s of background "
                         f"(x{r.isolation_ratio:.2f})")
    res.notes = job_note("noisy_neighbour") + res.notes  # keys no run of it read
    if out_dir is not None:
        write_outputs(res, cfg, out_dir, lambda d: isolation_figure(table, d), generic_plots=False)
    return res
