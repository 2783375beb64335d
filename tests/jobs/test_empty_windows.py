"""Studies on a window where no request was measured (or none finished): their verdicts must
be blank and said, not read from an empty window as if it were a result."""

import math

import pandas as pd

import sim
from sim.jobs.prefix_cache import SloSearch

PC = ["experiment=prefix_cache", "horizon_s=1", "drain_s=0", "prefix_cache.max_replicas=2",
      "prefix_cache.traces=[${traces:}/mooncake_fast25/conversation_trace.jsonl]"]


def test_an_undefined_p99_does_not_meet_the_slo():
    """A NaN p99 TTFT (no request measured) passed `p99 > slo` as met: the search reported
    the largest pool as the smallest meeting the SLO."""
    cfg = sim.compose(PC)
    search = SloSearch(cfg, "llama31-8b", False)
    search.seen = {("v", n): (math.nan, 1.0) for n in (1, 2)}
    assert search.replicas_for("v", {}, 4.0) is None
    search.seen = {("v", 1): (math.nan, 1.0), ("v", 2): (3.0, 2.0)}  # one replica: none done
    assert search.replicas_for("v", {}, 4.0) == 2


def test_prefix_cache_with_no_finished_request_leaves_the_pool_blank():
    res = sim.run(PC)
    ded = res.tables["ttft"].query("setup == 'dedicated'")
    assert (ded["completed"] == 0).all()  # 1 s of trace, no drain: nothing finished
    g = res.tables["gpus_for_slo"]
    assert g["replicas"].isna().all() and g["gpus"].isna().all(), g
    assert pd.isna(res.tables["cost"]["dedicated_usd"]).all()
    assert any("no measured request finished" in n for n in res.notes), res.notes
