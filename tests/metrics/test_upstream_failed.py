"""A pipeline's stage requests never sent because an earlier stage was turned away end
``failed``, reason ``upstream_failed``, with no arrival time (sim/simulation/pipeline.py):
in neither window of ``metrics.warmup_s``, counted apart in the notes, while the pipelines
table keeps their pipeline requests as turned away. Until December 2026 such a stage took
its pipeline's failure time as its arrival, so a failure after the warm-up put it in the
measured rows (and the stability line counted it among the offered requests only if the
failure came by the horizon).

The scenario is hand-checkable: pipeline ``p`` is a model stage ``a`` (llama31-8b) then a
tool stage ``tail``, on a serverless pool that starts cold (a load of about 15 s) with
``serverless.max_wait_s=3``. Seed 0 draws two pipeline requests at 1.56 s and 2.46 s; each
``a`` waits for the load and is rejected 3 s after its arrival (``timeout_cold_start``), so
each ``tail`` is never sent. With ``metrics.warmup_s=2`` the first ``a`` is in the warm-up,
the second in the measured window, and neither ``tail`` in either."""

import numpy as np
import pandas as pd
import pytest

import sim

BASE = ["tenants.chat.pipeline=p", "setups=[serverless]", "horizon_s=3", "drain_s=60",
        "tenants.chat.arrival={kind: poisson, rate_rps: 2}",
        "pipelines={p: {stages: {a: {model: llama31-8b}, tail: {kind: tool, after: [a], "
        "latency: {kind: fixed, mean_s: 0.1}}}}}",
        "serverless.max_wait_s=3", "output.plots=false", "output.report=false",
        "output.progress=false"]
UNSENT = ("serverless: 2 of 4 requests were pipeline stages never sent (an earlier stage of "
          "their pipeline request, or a copy of their own stage sent before them, was turned "
          "away or failed, or the run ended first): they end "
          "failed, reason upstream_failed, with no arrival time, and count in neither the "
          "measured nor the warm-up rows (metrics.warmup_s splits requests by arrival); their "
          "pipeline requests count in the pipelines table as turned away or failed")


def _premise(res) -> None:
    """Two pipeline requests, at 1.56 s and 2.46 s, each rejected 3 s after its arrival;
    every request ends once: the two ``a`` rejected, the two ``tail`` never sent."""
    pipes = res.tables["pipelines"]
    t = pipes["arrival_s"].to_numpy()
    assert t.size == 2 and 1.5 < t[0] < 2 <= t[1] < 2.5
    np.testing.assert_allclose(pipes["end_s"], t + 3, rtol=1e-12)
    assert pipes["outcome"].astype(str).tolist() == ["rejected", "rejected"]
    req = res.requests
    assert req["reason"].astype(str).tolist() == ["timeout_cold_start", "upstream_failed"] * 2
    assert req["outcome"].astype(str).tolist() == ["rejected", "failed"] * 2
    np.testing.assert_array_equal(req["arrival_s"].to_numpy()[[0, 2]], t)
    tail = req[req["reason"] == "upstream_failed"]
    assert tail["arrival_s"].isna().all() and (tail["tier"] == "none").all()


def _counts(summary: pd.DataFrame, tenant: str) -> tuple:
    r = summary.set_index("tenant").loc[tenant]
    return tuple(int(r[c]) for c in ("requests", "completed", "rejected", "failed"))


def test_stages_never_sent_are_in_neither_window_and_said_apart():
    res = sim.run(BASE + ["metrics.warmup_s=2"])
    _premise(res)
    # each window holds one ``a``; until December 2026 the measured rows also held both
    # tails (arrival 4.56 s and 5.46 s): (3, 0, 1, 2)
    for t in ("chat", "__all__"):
        assert _counts(res.summary, t) == (1, 0, 1, 0)
        assert _counts(res.summary, f"{t}@warmup") == (1, 0, 1, 0)
    assert _counts(res.summary, "__model__:tool:p/tail") == (0, 0, 0, 0)
    assert [n for n in res.notes if "pipeline stages never sent" in n] == [UNSENT], res.notes
    assert not any("no request arrived" in n for n in res.notes), res.notes
    # the pipelines table keeps both pipeline requests, turned away; its summary is over the
    # measured one, arrived at 2.46 s (until December 2026 over both: 2 rejected)
    assert res.tables["pipelines"]["window"].tolist() == ["warmup", "measured"]
    row = res.tables["pipeline_summary"].iloc[0]
    assert (int(row["requests"]), int(row["rejected"]), int(row["completed"])) == (1, 1, 0)


def test_without_a_warm_up_they_count_in_failed_and_the_stability_line_names_them():
    res = sim.run(BASE)
    _premise(res)
    assert _counts(res.summary, "chat") == (4, 0, 2, 2)
    assert not any("pipeline stages never sent" in n for n in res.notes), res.notes
    # the sent requests are the offered ones; the stages never sent are named apart (until
    # December 2026 they were left out of the line: they "arrived" after the horizon); both
    # sent gave up waiting for the first cold start, none served: the wait bound, not the
    # load (until December 2026 "unstable at this load ... add capacity")
    assert not any("unstable at this load" in n for n in res.notes), res.notes
    said = [n for n in res.notes if "timed out waiting for a cold start" in n]
    assert len(said) == 1 and ("2 of 2 requests timed out waiting for a cold start "
                               "(timeout_cold_start) (2 more, later stages of those pipelines, "
                               "were never sent: upstream_failed), none served") in said[0], res.notes


@pytest.mark.parametrize("warmup_s", [2.5, 2.9])
def test_a_warm_up_past_the_last_stage_sent_says_where_the_requests_are(warmup_s):
    # both ``a`` were sent before the warm-up's end, the tails never: the measured rows are
    # empty (until December 2026 they held the two tails, and no note was given)
    res = sim.run(BASE + [f"metrics.warmup_s={warmup_s}"])
    _premise(res)
    assert _counts(res.summary, "chat") == (0, 0, 0, 0)
    assert _counts(res.summary, "chat@warmup") == (2, 0, 2, 0)
    said = [n for n in res.notes if "no request arrived at or after" in n]
    assert said == [f"no request arrived at or after metrics.warmup_s ({warmup_s:g} s, "
                    "horizon_s 3 s): the measured rows are empty and every request sent is in "
                    "the <tenant>@warmup rows (serverless 2 of 4); the rest were never sent "
                    "(reason upstream_failed) and are in neither window; lower "
                    "metrics.warmup_s or raise horizon_s to measure"], res.notes
    assert UNSENT in res.notes


def test_a_model_stage_never_sent_is_in_no_tier_row():
    # ``tail`` a second llama31-8b stage: never sent, it reached no tier (tier none, as a
    # closed loop's request never sent); until December 2026 it was logged in a tier
    # "pipeline", and the summary gained a row __tier__:pipeline of (2, 0, 0, 2)
    ov = [o.replace("tail: {kind: tool, after: [a], latency: {kind: fixed, mean_s: 0.1}}",
                    "tail: {model: llama31-8b, after: [a]}") for o in BASE]
    res = sim.run(ov)
    req = res.requests
    assert req["tier"].astype(str).tolist() == ["serverless", "none"] * 2
    assert req["reason"].astype(str).tolist() == ["timeout_cold_start", "upstream_failed"] * 2
    rows = set(res.summary["tenant"])
    assert not any(t.startswith("__tier__") for t in rows), rows  # one tier served: no rows
    assert _counts(res.summary, "chat") == (4, 0, 2, 2)
