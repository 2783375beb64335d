"""A stopped replica's ledger row packed into typed arrays (sim/platform/serverless/
closedrows.py): the view reads every field as the row did, its times can be set, and a row
whose values would not come back the same is left as it is."""

import math

import numpy as np
import pandas as pd
import pytest
from helpers.serverless import compose

from sim.kvstats import OCC_BINS
from sim.platform.serverless.closedrows import ClosedRow, ClosedRows
from sim.records import UsageRow
from sim.simulation.simulate import simulate_setups

ROW = ("model", "gpu", "gpus", "tier", "start_s", "end_s", "busy_s", "billing",
       "usd_per_gpu_hour", "loading_s", "min_increment_s", "down_s", "batch_price_factor",
       "up_s", "cost_usd")
KV = ("prompt_tokens", "cached_tokens", "loaded_tokens", "evicted_tokens", "preemptions",
      "occupancy_s", "occupancy_hist", "bytes_per_gpu", "peak_bandwidth", "served",
      "served_in", "served_out", "saturation", "pending")


class _Perf:
    def saturated_tok_s(self, mean_in, mean_out, max_seqs):
        return 1000.0 * max_seqs / (mean_in + mean_out)


def _closed_row(model="m", start=12.5, tokens=1_234_567_891, perf=None):
    u = UsageRow(model, "H100", 2, "serverless", start, 99.25, busy_s=40.5,
                 billing="gpu_second", usd_per_gpu_hour=3.5, loading_s=7.125,
                 min_increment_s=1.0)
    kv = u.kv
    kv.prompt_tokens, kv.cached_tokens, kv.served, kv.served_in, kv.served_out = (
        tokens, 17, 3, 300, 30)
    kv.occupancy_s, kv.bytes_per_gpu, kv.peak_bandwidth = 2.75, 1.5e12, 3.35e12
    kv.occupancy_hist[3], kv.occupancy_hist[OCC_BINS] = 1.5, 0.25
    kv.saturation = (perf or _Perf(), 64)
    kv.close()
    return u


def _same(a, b):
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def test_a_packed_row_reads_every_field_as_the_row_did():
    rows = ClosedRows()
    perf = _Perf()
    originals = [_closed_row(perf=perf), _closed_row("n", 0.5, 7, perf=perf)]
    views = [rows.pack(u) for u in originals]
    assert all(isinstance(v, ClosedRow) for v in views) and len(rows) == 2
    for u, v in zip(originals, views):
        for f in ROW:
            assert _same(getattr(v, f), getattr(u, f)) and type(getattr(v, f)) is type(getattr(u, f)), f
        for f in KV:
            assert getattr(v.kv, f) == getattr(u.kv, f), f
        for a, b in zip(v.kv.hist_bins(), u.kv.hist_bins()):
            np.testing.assert_array_equal(a, b)
        into, want = np.zeros(OCC_BINS + 1), np.zeros(OCC_BINS + 1)
        v.kv.add_hist(into)
        u.kv.add_hist(want)
        np.testing.assert_array_equal(into, want)
        assert v.kv.saturated_tok_s(100, 10) == u.kv.saturated_tok_s(100, 10)
        v.kv.settle()  # settled when it closed: nothing held
    # one saturation tuple for the rows of the same perf model and batch cap
    assert views[0].saturation is views[1].saturation
    # the run's end clips its times through the view
    views[0].end_s = 50.0
    views[0].busy_s = min(views[0].busy_s, 10)
    assert views[0].end_s == 50.0 and views[0].busy_s == 10.0 and views[1].end_s == 99.25
    assert views[0].up_s == 37.5 and views[0].cost_usd == pytest.approx(37.5 * 2 * 3.5 / 3600)


@pytest.mark.parametrize("change", ["int time", "float count", "open histogram", "held"])
def test_a_row_that_would_not_come_back_the_same_is_left_as_it_is(change):
    u = _closed_row()
    if change == "int time":
        u.start_s = 0  # SimPy's clock starts at int 0
    elif change == "float count":
        u.kv.served_in = 300.0
    elif change == "open histogram":
        u.kv.occupancy_hist = [0.0] * (OCC_BINS + 1)
    else:
        u.kv.pending = {1: object()}
    rows = ClosedRows()
    assert rows.pack(u) is u and len(rows) == 0


def test_packed_rows_give_the_same_tables_as_rows_left_as_objects(monkeypatch):
    from sim.metrics.events import ledger_frame
    from sim.simulation.frames import frames
    cfg = compose(["setups=[serverless]", "serverless.keepalive.idle_s=5", "horizon_s=900",
                   "serverless.billing=gpu_second"])
    w, runs, cat = simulate_setups(cfg)
    assert sum(isinstance(r, ClosedRow) for r in runs[0].ledger) >= 2
    monkeypatch.setattr(ClosedRows, "pack", lambda self, row: row)
    w2, objects, cat2 = simulate_setups(cfg)
    assert not any(isinstance(r, ClosedRow) for r in objects[0].ledger)
    pd.testing.assert_frame_equal(ledger_frame(runs), ledger_frame(objects), check_exact=True)
    pd.testing.assert_frame_equal(frames(cfg, w, runs, cat)[0], frames(cfg, w2, objects, cat2)[0],
                                  check_exact=True)
    assert runs[0].extra["stats"] == objects[0].extra["stats"]
