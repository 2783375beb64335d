"""A closed loop cut at the horizon (``drain_s=0``): the requests its clients never got to
send end ``failed``, reason ``never_sent`` (sim/metrics/unsent.py), in neither window of
``metrics.warmup_s``, and the notes count them apart from the requests cut in flight. Until
December 2026 they were ``unfinished_at_end``, counted in the measured rows (arrival NaN
read as "not before the warm-up") and in the cut line, and the warm-up note said every
request was in the warm-up rows.

The scenario is hand-checkable: two clients, five requests each, no think time, fixed
lengths (100 in, 1,000 out) on one replica. Both clients' requests run side by side and take
the same time ``d`` (read from the log: about 5.6 s), so round ``j`` is sent at ``j * d``.
With ``horizon_s=20`` and ``3d < 20 < 4d``: rounds 0-2 complete (6 requests), round 3 is cut
in flight (2), round 4 is never sent (2)."""

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.config import compose
from sim.metrics.endrun import EndOfRun, end_of_run
from sim.simulation.build import build, workload_of
from sim.simulation.frames import model_prices
from sim.simulation.simulate import simulate

LOOP = ["tenants.chat.arrival={kind: closed, concurrency: 2, requests_per_client: 5}",
        "tenants.chat.input={kind: fixed, mean: 100}", "tenants.chat.output={kind: fixed, mean: 1000}",
        "setups=[dedicated]", "horizon_s=20", "drain_s=0"]
QUIET = ["output.plots=false", "output.report=false", "output.progress=false"]
CUT = ("dedicated: 2 of 10 requests were unfinished when the run stopped at 20 s (horizon_s + "
       "drain_s): they end failed, reason unfinished_at_end, and are not in the latency figures; "
       "2 more were never sent (their closed-loop client was still waiting on an earlier request "
       "or thinking): they end failed, reason never_sent (not turned away), and count ")


def _rounds(req: pd.DataFrame) -> float:
    """The premise: requests go in rounds of two, ``d`` apart, and ``3d < 20 < 4d``; ``d``."""
    d = float(req["finish_s"].iloc[0])
    sent = req["arrival_s"].to_numpy()[:8]
    np.testing.assert_allclose(sent, np.repeat(np.arange(4) * d, 2), rtol=1e-12, atol=1e-12)
    assert 3 * d < 20 < 4 * d
    return d


def _ended_once(req: pd.DataFrame) -> None:
    """Every request is in the log once, with one end: 6 completed, 2 cut, 2 never sent."""
    assert sorted(req["request_id"]) == list(range(10))
    ends = req.groupby(["outcome", "reason"], observed=True).size().to_dict()
    assert ends == {("completed", ""): 6, ("failed", "unfinished_at_end"): 2,
                    ("failed", "never_sent"): 2}
    unsent = req[req["reason"] == "never_sent"]
    assert unsent["request_id"].tolist() == [8, 9]  # round 4: each client's fifth request
    assert unsent["arrival_s"].isna().all() and (unsent["tier"] == "none").all()


def _counts(summary: pd.DataFrame, tenant: str) -> tuple:
    r = summary.set_index("tenant").loc[tenant]
    return tuple(int(r[c]) for c in ("requests", "completed", "rejected", "failed"))


def test_unsent_requests_are_in_neither_window_and_said_apart(tmp_path):
    res = sim.run(LOOP + QUIET + ["metrics.warmup_s=5"], output_dir=tmp_path)
    req = res.requests
    d = _rounds(req)
    assert d > 5  # round 0 alone arrives before the warm-up's end
    _ended_once(req)
    # measured: rounds 1-3 (4 completed, round 3's 2 cut); warm-up: round 0 (2 completed);
    # until December 2026 the measured rows also held round 4, never sent: 8 requests, 4 failed
    for t in ("chat", "__all__"):
        assert _counts(res.summary, t) == (6, 4, 0, 2)
        assert _counts(res.summary, f"{t}@warmup") == (2, 2, 0, 0)
    cut = [n for n in res.notes if "when the run stopped" in n]
    assert cut == [CUT + "in neither the measured nor the warm-up rows (metrics.warmup_s splits "
                   "requests by arrival); raise drain_s to let them finish"], res.notes
    assert not any("turned away (" in n or "unstable" in n for n in res.notes)


def test_without_a_warm_up_the_unsent_count_in_failed():
    res = sim.run(LOOP + QUIET)
    _rounds(res.requests)
    _ended_once(res.requests)
    assert _counts(res.summary, "chat") == (10, 6, 0, 4)  # 2 cut + 2 never sent
    cut = [n for n in res.notes if "when the run stopped" in n]
    assert cut == [CUT + "in summary.csv's failed; raise drain_s to let them finish"]


def test_a_warm_up_past_the_last_send_says_where_the_requests_are():
    # rounds 0-3 were sent before 18 s (3d < 18), round 4 never: the measured rows are empty
    # and the warm-up rows hold the 8 sent; the note said all 10 were in the warm-up rows
    # (beside measured rows holding the 2 never sent)
    res = sim.run(LOOP + QUIET + ["metrics.warmup_s=18"])
    d = _rounds(res.requests)
    assert 3 * d < 18
    assert _counts(res.summary, "chat") == (0, 0, 0, 0)
    assert _counts(res.summary, "chat@warmup") == (8, 6, 0, 2)
    said = [n for n in res.notes if "metrics.warmup_s (18 s" in n]
    assert said == ["no request arrived at or after metrics.warmup_s (18 s, horizon_s 20 s): the "
                    "measured rows are empty and every request sent is in the <tenant>@warmup "
                    "rows (dedicated 8 of 10); the rest were never sent (reason never_sent) and "
                    "are in neither window; lower metrics.warmup_s or raise horizon_s to measure"]


def test_the_folded_paths_give_the_same_rows_and_notes(tmp_path):
    """``output.requests=none`` with the sketch keeps a closed loop's log whole (and says so):
    every CSV is byte for byte the one ``output.requests=full`` writes. The one walk's
    accumulator fed while the run goes, two request ids a block (the never-sent requests'
    block sealed last), gives the rows the walk after the run gives."""
    base = LOOP + QUIET + ["metrics.warmup_s=5", "output.percentiles=sketch"]
    whole = sim.run(base + ["output.requests=full", "output.parquet=true"], output_dir=tmp_path / "w")
    none = sim.run(base + ["output.requests=none"], output_dir=tmp_path / "n")
    kept = [n for n in none.notes if "the request log was kept whole" in n]
    assert len(kept) == 1 and [n for n in none.notes if n not in kept] == whole.notes
    want = {f.name: f.read_bytes() for f in (tmp_path / "w").glob("*.csv")}
    got = {f.name: f.read_bytes() for f in (tmp_path / "n").glob("*.csv")}
    assert "summary.csv" in want and got == want
    assert _counts(none.summary, "chat") == (6, 4, 0, 2)

    cfg = compose(base)
    built = build(cfg)
    wl = workload_of(built)
    prices = model_prices(built.catalog, wl.served_models)
    after = end_of_run(wl, simulate(cfg, wl, "dedicated"), prices, cfg, block=2)
    early = simulate(cfg, wl, "dedicated", block=2, fold=lambda run: EndOfRun(
        wl, run, prices, cfg, block=2, early=True))
    during = early.folded.finish()
    rest = [c for c in after.columns if not c.endswith("_usd")]
    pd.testing.assert_frame_equal(during[rest], after[rest], check_exact=True)
    assert _counts(during, "chat") == (6, 4, 0, 2) and _counts(during, "chat@warmup") == (2, 2, 0, 0)


@pytest.mark.parametrize("drain_s", [0, 10])
def test_a_client_thinking_at_the_stop_leaves_only_unsent_requests(drain_s):
    # one client, three requests, a think time of 10,000 s on average (seed 0 draws far more
    # than the run): the first completes, the client is thinking when the run stops, and
    # nothing is in flight: the line names the two never sent alone
    res = sim.run(["tenants.chat.arrival={kind: closed, concurrency: 1, requests_per_client: 3, "
                   "think_s: 10000}", "setups=[dedicated]", "horizon_s=10", f"drain_s={drain_s}",
                   *QUIET])
    req = res.requests
    assert req["reason"].astype(str).tolist() == ["", "never_sent", "never_sent"]
    assert math.isnan(req["arrival_s"].iloc[1]) and math.isnan(req["arrival_s"].iloc[2])
    stop = 10 + drain_s
    said = [n for n in res.notes if "when the run stopped" in n]
    assert said == [f"dedicated: 2 of 3 requests were never sent when the run stopped at {stop} s "
                    "(horizon_s + drain_s): their closed-loop client was still waiting on an "
                    "earlier request or thinking; they end failed, reason never_sent (not turned "
                    "away), and count in summary.csv's failed; raise drain_s to let them finish"]
