"""Run one job for several seeds and report means with 95 % intervals.

``replications=n`` runs the job for seeds ``seed, seed+1, ..., seed+n-1`` (each a full,
independent run: new workload, new streams). ``summary.csv`` then holds, per (setup, tenant),
the mean of every column over the replications and a ``<col>_ci95`` half-width after each
time and cost column; ``replications.csv`` keeps every seed's rows. ``requests.parquet``, the
figures and the job's other tables (a study's, the claims job's verdicts) are those of the
first seed, so a single-seed run and replication 0 agree; the other seeds' notes are kept.
"""

from __future__ import annotations

import copy

import pandas as pd

from sim.records import Result
from sim.simulation.progress import count_printer
from sim.sweep.stats import combine


def run_replications(fn, cfg, n: int, progress: bool = False):
    base = int(cfg.seed)
    results = []
    update, close = count_printer(progress, f"replications of seed {base}..{base + n - 1}", n)
    try:
        for i in range(n):
            c = copy.deepcopy(cfg)
            c.seed = base + i
            results.append(fn(c, None, progress and n == 1))
            update(i + 1)
    finally:
        close()
    per_seed = pd.concat([r.summary.assign(seed=base + i) for i, r in enumerate(results)],
                         ignore_index=True)
    per_seed = per_seed[["seed"] + [c for c in per_seed.columns if c != "seed"]]
    first = results[0]
    tables = dict(first.tables)
    kept = ', '.join(sorted(tables)) or 'none'
    tables["replications"] = per_seed
    # a note every seed gave stands alone; one only some gave names its seed (seed 0's said
    # "no request arrived ... every figure is empty" above the other seeds' means, unqualified)
    shared = [m for m in first.notes if all(m in r.notes for r in results[1:])]
    notes = [m if m in shared else f"seed {base}: {m}" for m in first.notes]
    for i, r in enumerate(results[1:], start=1):
        notes += [f"seed {base + i}: {m}" for m in r.notes if m not in first.notes]
    notes.append(f"{n} replications (seeds {base}..{base + n - 1}): summary values are means, "
                 "`_ci95` columns the half-widths of Student-t 95 % intervals; requests, "
                 f"figures and the job's other tables ({kept}) "
                 f"are seed {base}'s" + ("; the notes above naming a seed are that seed's "
                                         "alone." if len(notes) > len(shared) else "."))
    if n > 1 and all(r.summary.equals(first.summary) for r in results[1:]):
        # a trace replayed at rate_scale 1 draws nothing from the seed: intervals of width 0
        # read as measured ones (keepalive, prefix_cache with replications=2, until December 2026)
        notes.append(f"the {n} replications are identical (the seeds change nothing here, as "
                     "in a trace replayed at rate_scale 1): every `_ci95` is 0 for that reason, "
                     "not a measured spread; more seeds add nothing.")
    return Result(summary=combine(per_seed), requests=first.requests, tables=tables,
                  notes=notes)
