"""A simulate run whose end is folded while it goes (``output.requests=none`` with
``output.percentiles=sketch``): the request log is sealed in blocks of request ids as their
requests end (sim/logseal.py), each block read once by :class:`Streamed`, then its memory
given back, so the log's memory follows the requests in flight, not the horizon.

What the job reads of a run's log after it is all read here, block by block: the summary
(:class:`~sim.metrics.endrun.EndOfRun`, each row's figures in a DDSketch, the per-token
costs billed from token sums per model, tier and tenant: equal to rounding to the bill of
each request's price summed), the overload notes (:class:`~sim.metrics.overload.RunNotesFold`),
the signals table's slow counts (:class:`~sim.metrics.slow.SlowFold`) and the log's
invariant checks (:class:`~sim.metrics.invariants.LogChecks`).

:func:`unstreamed` says why a run asking for it cannot be folded so (what else would read
its log after the run); that run keeps its log whole, as before, and its notes say so.
"""

from __future__ import annotations

from sim.metrics.cost import model_prices
from sim.metrics.endrun import EndOfRun
from sim.metrics.invariants import LogChecks, _raise, ledger_violations
from sim.metrics.overload import RunNotesFold
from sim.metrics.requests import kept_rows
from sim.metrics.sketch import SketchValues
from sim.metrics.slow import SlowFold
from sim.simulation.memory import release_freed
from sim.workload.spill import give_back

# Request ids sealed, read and given back at a time: small enough that a block's pages are a
# few MB (about 45 bytes a request in the log's written columns), large enough that the
# folds' numpy calls per block cost nothing next to the run (an assumption: 19 blocks of a
# 1.2 M-request run gave their heap back in 10 ms in all; the folds were not timed apart)
STREAM_BLOCK = 1 << 16


def kept_ids(cfg, workload):
    """The request ids ``output.requests`` keeps (:func:`kept_rows`; ``output.parquet=false``
    keeps none)."""
    mode = str(cfg.output.requests) if cfg.output.parquet else "none"
    return kept_rows(len(workload), mode, float(cfg.output.requests_sample))


def unstreamed(cfg, workload, setups) -> str | None:
    """Why the runs of ``setups`` over ``workload`` cannot be folded while they go, or None."""
    if workload.closed:
        return "closed-loop clients' requests get their arrival times in the run"
    if workload.pipelines is not None:
        return "the pipeline tables read every stage request after the run"
    if "hybrid" in setups and float(cfg.hybrid.shadow_fraction) > 0:
        return "the hybrid's shadow table (hybrid.shadow_fraction) reads the log after the run"
    return None


def stream_folds(cfg, notes: list[str]):
    """``simulate_setups``'s ``fold`` for ``cfg``: each run folded while it goes when
    ``cfg`` asks for it (``output.percentiles=sketch`` and no per-request rows kept) and
    nothing reads the log after (:func:`unstreamed`; else a line in ``notes`` says why the
    log was kept whole)."""

    def make(workload, catalog, setups):
        kept = kept_ids(cfg, workload)
        if str(cfg.output.percentiles) != "sketch" or kept is None or kept.size:
            return None
        why = unstreamed(cfg, workload, setups)
        if why is not None:
            notes.append("output.requests=none with output.percentiles=sketch folds a run's end "
                         f"while it goes, not here: {why}; the request log was kept whole")
            return None
        prices = model_prices(catalog, workload.served_models)
        return lambda run: Streamed(cfg, workload, run, prices)

    return make


class Streamed:
    """One run's end, fed each block of its log as it is sealed (``add(a, b)``); made before
    the run starts, given its :class:`~sim.records.SetupRun` (its end filled in later)."""

    def __init__(self, cfg, workload, run, prices):
        self.run = run
        self.workload = workload
        self.notes = RunNotesFold(workload, run, stable=True, bounded=True)
        self.slow = SlowFold(cfg, workload, run)
        cap = float(workload.horizon_s) + float(cfg.drain_s)  # no time of the run lies later
        self.checks = LogChecks(workload, run, 1e-9 * max(1.0, cap))
        self.end = EndOfRun(workload, run, prices, cfg, STREAM_BLOCK, store=SketchValues,
                            early=True, also=(self.notes, self.slow, self.checks))
        # the pages its making read (the rows each tenant and model sent): read again as
        # blocks need them (12 MB at the 24-hour platform benchmark)
        give_back(workload, len(workload))

    def add(self, a: int, b: int) -> None:
        self.end.add(a, b)
        give_back(self.workload, b)  # its columns' pages, when mapped from files (spill.py)
        # the block's temporaries given back: without it the 12-hour platform benchmark's run
        # (1.2 M requests) peaked 8 MB higher (200 against 192 MB); 19 calls took 10 ms
        release_freed()

    def summary(self):
        """The run's summary rows, once its log and ledger pass their checks."""
        _raise(self.run, self.checks.violations() + ledger_violations(self.run))
        return self.end.finish()
