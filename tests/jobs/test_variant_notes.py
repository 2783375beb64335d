"""The jobs that run one workload several ways (``compound``, ``keepalive``,
``noisy_neighbour``) say what each run left unfinished, as the main job does, and do not
say a pipeline's workload had no request after the warm-up when it had (until December
2026 they gave only the workload's notes, read without the runs)."""

import re

import numpy as np

import sim

QUIET = ["output.plots=false", "output.report=false"]
CUT = re.compile(r"([\d,]+) of ([\d,]+) requests were unfinished")
PIPES = re.compile(r"([\d,]+) of ([\d,]+) pipeline requests were cut")


def _unfinished(requests, **where) -> int:
    """Requests ended unfinished_at_end in the rows matching ``where`` (the independent count)."""
    keep = np.ones(len(requests), bool)
    for col, v in where.items():
        keep &= (requests[col] == v).to_numpy()
    return int(((requests["reason"] == "unfinished_at_end").to_numpy() & keep).sum())


def test_compound_with_a_warmup_does_not_say_nothing_arrived_after_it():
    res = sim.run(["experiment=compound", "horizon_s=60", "metrics.warmup_s=10"] + QUIET)
    measured = res.summary[(res.summary["tenant"] == "chat") & (res.summary["window"] == "measured")]
    assert (measured["requests"] > 0).all() and len(measured) == 5  # five bursty variants
    assert not [n for n in res.notes if n.startswith("no request arrived")]


def test_compound_says_each_variants_requests_cut_at_the_end():
    res = sim.run(["experiment=compound", "horizon_s=47", "drain_s=0"] + QUIET)
    for setup in res.requests["setup"].unique():
        k = _unfinished(res.requests, setup=setup)
        assert k > 0  # the test's premise: the drain of 0 cuts stage requests
        lines = [n for n in res.notes if n.startswith(f"{setup}: ") and CUT.search(n)]
        assert len(lines) == 1, (setup, res.notes)
        assert int(CUT.search(lines[0]).group(1).replace(",", "")) == k
        # and the pipeline requests cut, counted in its pipelines table (unsaid before
        # December 2026)
        pipes = res.tables["pipelines"]
        cut = int(((pipes["setup"] == setup) & (pipes["reason"] == "unfinished_at_end")).sum())
        lines = [n for n in res.notes if n.startswith(f"{setup}: ") and PIPES.search(n)]
        assert cut > 0 and len(lines) == 1, (setup, res.notes)
        assert int(PIPES.search(lines[0]).group(1).replace(",", "")) == cut


def test_keepalive_says_once_what_its_policies_left_unfinished_alike():
    res = sim.run(["experiment=keepalive", "horizon_s=300", "drain_s=0",
                   "keepalive.fixed_idle_s=[5,60]"] + QUIET)
    req = res.requests
    per = {(p, k): _unfinished(req[(req["policy"] == p) & ((req["keepalive_s"] == k) | (k != k))])
           for p, k in (("fixed", 5.0), ("fixed", 60.0), ("hybrid", float("nan")))}
    assert min(per.values()) > 0 and len(set(per.values())) == 1, per
    lines = [n for n in res.notes if "unfinished" in n]
    assert len(lines) == 1, res.notes
    assert lines[0].startswith("keep-alive fixed 5 s, keep-alive fixed 60 s, keep-alive hybrid: "
                               "serverless: ")
    assert int(CUT.search(lines[0]).group(1).replace(",", "")) == per[("fixed", 5.0)]


def test_noisy_neighbour_says_each_levels_unstable_or_cut_runs():
    res = sim.run(["experiment=noisy_neighbour", "horizon_s=60", "drain_s=0",
                   "noisy_neighbour.background_levels=[1]"] + QUIET)
    req = res.requests
    # the dedicated setup ignores the background: its run (and line) is the same at both
    # levels, said once without a level
    k = _unfinished(req[req["background_level"] == 0.0], setup="dedicated")
    ded = [n for n in res.notes if n.startswith("dedicated: ")]
    assert k > 0 and len(ded) == 1 and int(CUT.search(ded[0]).group(1)) == k
    # the serverless pool shares its GPUs with the background: a line per level, named
    for level in (0, 1):
        mine = [n for n in res.notes if n.startswith(f"background x{level}: serverless")]
        k = _unfinished(req[req["background_level"] == level], setup="serverless")
        assert len(mine) == (1 if k else 0), (level, k, res.notes)
        if k:
            assert f"{k:,} of " in mine[0]


def test_pipeline_stages_never_sent_are_said_without_a_warmup_too():
    """Rerank prompts beyond bge-reranker-m3's context are rejected, so their answer stages
    are never sent (upstream_failed): counted in failed, and now said (before, only with a
    warm-up or inside an unstable line)."""
    res = sim.run(["experiment=compound", "job=simulate", "setups=[serverless]", "horizon_s=600",
                   "pipelines.rag.stages.rerank.input={kind: lognormal, mean: 6000, cv: 0.3, "
                   "max: 20000}"] + QUIET)
    k = int((res.requests["reason"] == "upstream_failed").sum())
    assert k > 0
    lines = [n for n in res.notes if "pipeline stages never sent" in n]
    assert len(lines) == 1 and lines[0].startswith(f"serverless: {k:,} of {len(res.requests):,} ")
    assert "count in summary.csv's failed" in lines[0]


def test_prefix_cache_says_its_serverless_runs_cut_at_the_end_too():
    res = sim.run(["experiment=prefix_cache", "horizon_s=300", "drain_s=0",
                   "prefix_cache.traces=[${traces:}/mooncake_fast25/conversation_trace.jsonl]"] + QUIET)
    for setup in ("serverless, no cache", "serverless, cache"):
        k = _unfinished(res.requests, setup=setup)
        assert k > 0  # the premise: a drain of 0 cuts the pool's requests
        lines = [n for n in res.notes if n.startswith(f"conversation_trace: {setup}: ")]
        assert len(lines) == 1 and f" {k:,} of " in lines[0], res.notes


def test_a_pipeline_tenants_length_note_says_not_every_stage_request_is_sent():
    """A fan-out of 3 copies, each beyond the context: the first sent is rejected and the
    other two are never sent (upstream_failed). The length note counts all three as over
    the context and, for a pipeline tenant, says they are rejected if sent (it said
    "rejected on arrival" of all 204 while 68 were)."""
    res = sim.run(["horizon_s=20", "tenants.chat.pipeline=p",
                   "pipelines.p={stages: {a: {model: llama31-8b, fanout: 3, "
                   "input: {kind: fixed, mean: 200000}}}}"] + QUIET)
    reasons = res.requests["reason"].value_counts()
    over = int(reasons["exceeds_context"] + reasons["upstream_failed"])
    assert reasons["upstream_failed"] == 2 * reasons["exceeds_context"] > 0
    said = [n for n in res.notes if "exceed their model's context" in n]
    assert len(said) == 1 and said[0].startswith(f"tenant chat: {over:,} requests exceed")
    assert "rejected on arrival if sent" in said[0]
    plain = sim.run(["horizon_s=20", "tenants.chat.input={kind: fixed, mean: 200000, max: null}"]
                    + QUIET)
    assert [n for n in plain.notes if "exceed their model's context" in n][0].endswith(
        "rejected on arrival (exceeds_context) (workload.overlength=reject)")
