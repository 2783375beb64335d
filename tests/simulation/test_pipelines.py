"""Compound pipelines: exact times on tiny scenarios (hand-computed from the configured
cold-start stages and the performance model), fan-out/join, conditional stages, exactly-once
endings with upstream failures, determinism, bad input, and experiment=compound."""

import numpy as np
import pandas as pd
import pytest
from helpers.timing import GB, OBJ, decode, prefill
from helpers.timing import perf_of as perf
from omegaconf import OmegaConf, open_dict

import sim
from sim.analysis.cold_chain import first_pipeline_only
from sim.config import PipelineConfig
from sim.errors import InputError
from sim.metrics.requests import requests_frame
from sim.records import COMPLETED, FAILED, PENDING, REJECTED
from sim.simulation.build import build_workload
from sim.simulation.simulate import simulate

W_EMB = 0.67 * GB  # bge-large-en bf16 (catalog)
W_8B = 8.5 * GB  # llama31-8b fp8 (catalog)
FIXED = {"kind": "fixed"}


def make_cfg(stages, overrides=(), prewarm=False, rate=0.01, horizon=2000):
    """experiment=compound (its cold-start stages and deployments) with the pipeline ``t``."""
    cfg = sim.compose(["experiment=compound", f"horizon_s={horizon}", *overrides])
    with open_dict(cfg):
        cfg.pipelines["t"] = OmegaConf.merge(OmegaConf.structured(PipelineConfig),
                                             {"prewarm": prewarm, "stages": stages})
        cfg.tenants.chat.pipeline = "t"
        cfg.tenants.chat.arrival = OmegaConf.merge(cfg.tenants.chat.arrival,
                                                   {"kind": "poisson", "rate_rps": rate})
    return cfg


def run(cfg, setup, first_only=True):
    wl = build_workload(cfg)
    if first_only:
        wl = first_pipeline_only(wl)
    r = simulate(cfg, wl, setup)
    return wl, r, r.pipelines.frame(setup), requests_frame(wl, r)


def init(cfg, model):
    return float(cfg.cold_start.engine_init_s_by_model[model])


EMBED = {"model": "bge-large-en", "input": dict(FIXED, mean=100)}
ANSWER = {"model": "llama31-8b", "input": dict(FIXED, mean=1000), "output": dict(FIXED, mean=50)}


# ------------------------------------------------------------------------- exact times
@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_two_stage_cold_pipeline_on_serverless_by_hand(engine):
    cfg = make_cfg({"embed": EMBED, "answer": dict(ANSWER, after=["embed"])},
                   overrides=[f"engine={engine}"])
    wl, r, pipes, req = run(cfg, "serverless")
    t0 = wl.pipelines.arrival_s[0]
    load_e = 1.0 + W_EMB / OBJ + init(cfg, "bge-large-en")  # container + weights + init
    load_a = 1.0 + W_8B / OBJ + init(cfg, "llama31-8b")
    pe, pa = perf(cfg, "bge-large-en"), perf(cfg, "llama31-8b")
    t1 = t0 + load_e + prefill(pe, 100)  # the embedding ends with its prefill
    first = t1 + load_a + prefill(pa, 1000)
    done = first + decode(pa, 1000, 50)
    assert req["finish_s"].iloc[0] == pytest.approx(t1, rel=1e-12)
    assert req["arrival_s"].iloc[1] == pytest.approx(t1, rel=1e-12)  # sent when embed ended
    assert req["first_token_s"].iloc[1] == pytest.approx(first, rel=1e-12)
    p = pipes.iloc[0]
    assert p.outcome == "completed"
    assert p.e2e_s == pytest.approx(done - t0, rel=1e-12)
    assert p.final_ttft_s == pytest.approx(first - t0, rel=1e-12)
    assert p.cold_starts == 2
    assert p.cold_wait_critical_s == pytest.approx(load_e + load_a, rel=1e-12)
    assert load_e + load_a == pytest.approx(2.0 + 15.0, abs=0.05)  # the configured ~2 s and ~15 s


@pytest.mark.parametrize("setup, engine", [("dedicated", "fluid"), ("dedicated", "step"),
                                           ("serverless", "fluid")])
def test_three_stage_pipeline_with_a_tool_by_hand(setup, engine):
    tool = {"kind": "tool", "after": ["embed"], "latency": {"kind": "fixed", "mean_s": 0.5}}
    cfg = make_cfg({"embed": EMBED, "sql": tool, "answer": dict(ANSWER, after=["sql"])},
                   overrides=[f"engine={engine}"])
    wl, r, pipes, req = run(cfg, setup)
    t0 = wl.pipelines.arrival_s[0]
    pe, pa = perf(cfg, "bge-large-en"), perf(cfg, "llama31-8b")
    cold = setup == "serverless"
    load_e = (1.0 + W_EMB / OBJ + init(cfg, "bge-large-en")) if cold else 0.0
    load_a = (1.0 + W_8B / OBJ + init(cfg, "llama31-8b")) if cold else 0.0
    t_tool = t0 + load_e + prefill(pe, 100)
    t_ans = t_tool + 0.5
    first = t_ans + load_a + prefill(pa, 1000)
    done = first + decode(pa, 1000, 50)
    assert list(req["stage"]) == ["embed", "sql", "answer"]
    assert list(req["tier"].astype(str)) == [setup, "tool", setup]
    assert req["arrival_s"].iloc[1] == pytest.approx(t_tool, rel=1e-12)
    assert req["finish_s"].iloc[1] == pytest.approx(t_ans, rel=1e-12)
    p = pipes.iloc[0]
    assert p.e2e_s == pytest.approx(done - t0, rel=1e-12)
    assert p.cold_starts == (2 if cold else 0)
    assert p.cold_wait_critical_s == pytest.approx(load_e + load_a, rel=1e-12, abs=1e-12)


def test_coordinated_prewarm_by_hand():
    """Both loads start at the arrival on one node and share its storage link (8 GB/s,
    ``serverless.pool.H100.storage_link_gbps``): the embedding's 0.67 GB at 4 GB/s, then
    the 8B's remaining 7.83 GB alone at its per-load 6 GB/s."""
    cfg = make_cfg({"embed": EMBED, "answer": dict(ANSWER, after=["embed"])}, prewarm=True)
    wl, r, pipes, req = run(cfg, "serverless")
    t0 = wl.pipelines.arrival_s[0]
    pe, pa = perf(cfg, "bge-large-en"), perf(cfg, "llama31-8b")
    link = float(cfg.serverless.pool.H100.storage_link_gbps) * GB
    assert link / 2 < OBJ < link  # the node link binds while both load, the load cap after
    shared = W_EMB / (link / 2)
    warm_e = t0 + 1.0 + shared + init(cfg, "bge-large-en")
    warm_a = t0 + 1.0 + shared + (W_8B - W_EMB) / OBJ + init(cfg, "llama31-8b")
    t1 = warm_e + prefill(pe, 100)
    first = warm_a + prefill(pa, 1000)
    assert req["arrival_s"].iloc[1] == pytest.approx(t1, rel=1e-12)
    assert req["first_token_s"].iloc[1] == pytest.approx(first, rel=1e-12)
    p = pipes.iloc[0]
    assert p.cold_wait_critical_s == pytest.approx((warm_e - t0) + (warm_a - t1), rel=1e-12)
    # the chain's wait is the slowest load, not the sum of the loads
    assert p.cold_wait_critical_s == pytest.approx(warm_a - t0 - prefill(pe, 100), rel=1e-12)
    cs = r.extra["cold_starts"]
    assert list(cs["prewarm"]) == [False, True]
    assert r.extra["stats"]["pipeline_prewarms"] == 1


def test_a_prewarm_with_no_room_is_counted_and_said():
    """One GPU: the embedding stage's load takes it at the arrival, so the 8B's pre-warm finds
    no free GPU, no idle replica to evict and no node to provision: exactly one pre-warm with
    no room, none started. Until December 2026 warm_up's False was dropped, unsaid."""
    from sim.metrics.overload_notes import stability_notes

    cfg = make_cfg({"embed": EMBED, "answer": dict(ANSWER, after=["embed"])}, prewarm=True,
                   overrides=["serverless.pool.H100.gpus_per_node=1"])
    wl, r, pipes, _ = run(cfg, "serverless")
    assert r.extra["prewarm_no_room"] == {"llama31-8b": 1}
    assert r.extra["stats"]["pipeline_prewarms"] == 0
    assert list(r.extra["cold_starts"]["prewarm"]) == [False, False]
    lines = [n for n in stability_notes(wl, [r], float(cfg.drain_s)) if "pre-warm" in n]
    assert len(lines) == 1 and "no room" in lines[0] and "llama31-8b 1 (0 started one)" in lines[0], lines


def test_dedicated_setup_has_no_warm_up_and_prewarm_changes_nothing():
    st = {"embed": EMBED, "answer": dict(ANSWER, after=["embed"])}
    a = run(make_cfg(st, prewarm=False), "dedicated")[3]
    b = run(make_cfg(st, prewarm=True), "dedicated")[3]
    pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------------- fan-out, join
def test_fanout_and_join_wait_for_the_last_copy():
    search = {"kind": "tool", "fanout": 4, "latency": {"kind": "exponential", "mean_s": 1.0}}
    join = {"kind": "tool", "after": ["search", "other"], "latency": {"kind": "fixed", "mean_s": 0.25}}
    other = {"kind": "tool", "latency": {"kind": "fixed", "mean_s": 0.1}}
    cfg = make_cfg({"search": search, "other": other, "join": join}, rate=1.0, horizon=200)
    wl, r, pipes, req = run(cfg, "dedicated", first_only=False)
    assert len(pipes) > 100 and (pipes["outcome"] == "completed").all()
    assert (pipes["stage_requests"] == 6).all()
    for pid, g in req.groupby("pipeline_id"):
        t0 = wl.pipelines.arrival_s[pid]
        s = g[g["stage"] == "search"]
        j = g[g["stage"] == "join"].iloc[0]
        assert len(s) == 4 and (s["arrival_s"] == t0).all()  # parallel copies at the arrival
        release = max(s["finish_s"].max(), t0 + 0.1)
        assert j["arrival_s"] == pytest.approx(release, abs=1e-9)
        assert pipes.loc[pid, "e2e_s"] == pytest.approx(release + 0.25 - t0, abs=1e-9)


def test_conditional_stage_runs_with_its_probability_and_skips_pass_through():
    st = {"a": {"kind": "tool", "latency": {"kind": "fixed", "mean_s": 1.0}},
          "maybe": {"kind": "tool", "after": ["a"], "probability": 0.3, "fanout": 2,
                    "latency": {"kind": "fixed", "mean_s": 2.0}},
          "b": {"kind": "tool", "after": ["maybe"], "latency": {"kind": "fixed", "mean_s": 0.5}}}
    cfg = make_cfg(st, rate=5.0, horizon=400, overrides=["seed=3"])
    wl, r, pipes, req = run(cfg, "dedicated", first_only=False)
    n = len(pipes)
    assert n > 1500
    runs = (req["stage"] == "maybe").groupby(req["pipeline_id"]).sum()
    assert set(runs.unique()) <= {0, 2}  # a stage runs as a whole (fanout 2) or not at all
    frac = float((runs == 2).mean())
    # binomial: sd = sqrt(0.3 * 0.7 / n) <= 0.0118 for n >= 1500; 4 sd
    assert abs(frac - 0.3) < 4 * np.sqrt(0.21 / n)
    ran = runs.reindex(pipes["pipeline_id"]).to_numpy() == 2
    # a skipped stage passes at once: b starts when a ends
    assert np.allclose(pipes["e2e_s"].to_numpy()[ran], 3.5)
    assert np.allclose(pipes["e2e_s"].to_numpy()[~ran], 1.5)


# ------------------------------------------------------------------- exactly-once endings
def _check_exactly_once(r, pipes):
    log = r.log
    assert log.open == 0 and not (log.outcome == PENDING).any()
    assert (r.pipelines.state == 2).all()  # every pipeline request ended
    assert set(pipes["outcome"].astype(str)) <= {"completed", "rejected", "failed"}


def test_rejected_stage_fails_its_pipeline_and_the_rest_end_upstream_failed():
    """A 3 s wait bound under a 15 s cold start: the answer is rejected (timeout_cold_start);
    the tool after it is never sent."""
    tail = {"kind": "tool", "after": ["answer"], "latency": {"kind": "fixed", "mean_s": 0.1}}
    cfg = make_cfg({"embed": EMBED, "answer": dict(ANSWER, after=["embed"]), "tail": tail},
                   overrides=["serverless.max_wait_s=3"])
    wl, r, pipes, req = run(cfg, "serverless")
    p = pipes.iloc[0]
    assert (p.outcome, p.reason) == ("rejected", "timeout_cold_start")
    assert list(req["outcome"].astype(str)) == ["completed", "rejected", "failed"]
    assert list(req["reason"].astype(str)) == ["", "timeout_cold_start", "upstream_failed"]
    # never sent: no arrival time and no tier (until December 2026 the pipeline's failure
    # time and a tier "pipeline")
    assert np.isnan(req["arrival_s"].iloc[2]) and req["tier"].iloc[2] == "none"
    _check_exactly_once(r, pipes)


def test_fanout_copy_turned_away_mid_stage_ends_everything_once():
    """Concurrency limit 2 with fan-out 3: the third copy is rejected at submission while two
    run; the two finish later (ignored by the failed pipeline), the next stage never runs."""
    st = {"rerank": {"model": "bge-large-en", "fanout": 3, "input": dict(FIXED, mean=100)},
          "answer": dict(ANSWER, after=["rerank"])}
    cfg = make_cfg(st, overrides=["serverless.rate_limits={chat: {concurrency: 2}}"])
    wl, r, pipes, req = run(cfg, "serverless")
    p = pipes.iloc[0]
    assert (p.outcome, p.reason) == ("rejected", "rate_limit_concurrency")
    assert list(req["outcome"].astype(str)) == ["completed", "completed", "rejected", "failed"]
    assert req["reason"].iloc[3] == "upstream_failed"
    _check_exactly_once(r, pipes)


def test_every_stage_and_pipeline_ends_once_under_load_and_at_the_cap():
    """Bursty load on a small pool with a short drain: some stages complete, some are turned
    away, some are cut at the end of the run; every one ends exactly once."""
    st = {"embed": EMBED, "answer": dict(ANSWER, after=["embed"], fanout=2),
          "tail": {"kind": "tool", "after": ["answer"], "latency": {"kind": "fixed", "mean_s": 0.1}}}
    cfg = make_cfg(st, rate=3.0, horizon=60,
                   overrides=["drain_s=5", "serverless.max_wait_s=20",
                              "serverless.pool.H100.gpus_per_node=1"])
    wl, r, pipes, req = run(cfg, "serverless", first_only=False)
    _check_exactly_once(r, pipes)
    out = set(pipes["outcome"].astype(str))
    assert {"completed", "rejected"} <= out or {"completed", "failed"} <= out
    reasons = set(req["reason"].astype(str))
    assert "upstream_failed" in reasons
    # a completed pipeline had every stage request completed
    ok = pipes.loc[pipes["outcome"] == "completed", "pipeline_id"]
    assert (req[req["pipeline_id"].isin(ok)]["outcome"] == "completed").all()
    # a failed or rejected one has no stage request still pending and at least one not completed
    bad = pipes.loc[pipes["outcome"] != "completed", "pipeline_id"]
    assert (req[req["pipeline_id"].isin(bad)].groupby("pipeline_id")["outcome"]
            .apply(lambda o: (o != "completed").any())).all()
    assert int(log_codes(r, COMPLETED)) + int(log_codes(r, REJECTED)) + int(log_codes(r, FAILED)) == len(wl)


def log_codes(r, code):
    return np.count_nonzero(r.log.outcome == code)


# ------------------------------------------------------------------------ determinism
def test_same_seed_same_stage_requests_and_pipeline_rows(tmp_path):
    ov = ["experiment=compound", "job=simulate", "setups=[serverless,dedicated]", "horizon_s=300",
          "output.plots=false", "output.report=false"]
    a = sim.run(ov, output_dir=tmp_path / "a")
    sim.run(ov, output_dir=tmp_path / "b")
    for f in ("summary.csv", "requests.parquet", "pipelines.csv", "pipeline_summary.csv",
              "pipeline_stages.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert {"pipeline_id", "stage"} <= set(a.requests.columns)


def test_a_pipeline_tenant_leaves_other_tenants_requests_unchanged():
    cfg = make_cfg({"embed": EMBED}, horizon=200)
    with open_dict(cfg):
        # the compound experiment gives its pipeline tenant no model (its stages' are read)
        cfg.tenants["other"] = OmegaConf.merge(cfg.tenants.chat, {"pipeline": None,
                                                                 "model": "llama31-8b"})
    # the plain tenant "other" in the second workload draws from its own streams
    base2 = sim.compose(["horizon_s=200", "tenants.other={model: llama31-8b}"])
    with open_dict(base2):
        base2.tenants.other = cfg.tenants.other
        del base2.tenants["chat"]
    wa = build_workload(base2)
    wb = build_workload(cfg)
    n = len(wa)
    assert n > 0
    assert np.array_equal(wa.arrival_s, wb.arrival_s[:n])
    assert np.array_equal(wa.input_tokens, wb.input_tokens[:n])
    assert wb.pipelines.base == n


# -------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("stages, key", [
    ({"a": {"kind": "tool", "after": ["b"]}, "b": {"kind": "tool", "after": ["a"]}},
     "pipelines.t.stages.a.after"),
    ({"a": {"kind": "tool", "after": ["nope"]}}, "pipelines.t.stages.a.after"),
    ({"a": {"model": "gpt-17"}}, "pipelines.t.stages.a.model"),
    ({"a": {"model": "bge-large-en", "probability": 1.5}}, "pipelines.t.stages.a.probability"),
    ({"a": {"model": "bge-large-en", "fanout": 0}}, "pipelines.t.stages.a.fanout"),
    ({"a": {"kind": "tool", "latency": {"mean_s": -1}}}, "pipelines.t.stages.a.latency.mean_s"),
    ({}, "pipelines.t.stages"),
])
def test_bad_pipeline_names_the_key(stages, key):
    cfg = make_cfg(stages)
    with pytest.raises(InputError) as e:
        build_workload(cfg)
    assert e.value.key == key


def test_unknown_pipeline_of_a_tenant_exits_2_with_one_line(tmp_path):
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "sim", "experiment=compound", "job=simulate",
                        "tenants.chat.pipeline=nope", f"hydra.run.dir={tmp_path / 'out'}"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 2
    assert "tenants.chat.pipeline" in p.stderr and len(p.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------- experiment=compound
def test_compound_experiment_reproduces_the_cold_chain_on_a_tiny_horizon(tmp_path):
    res = sim.run(["experiment=compound", "horizon_s=60", "drain_s=120"], output_dir=tmp_path)
    chain = res.tables["chain"].set_index("scenario")
    cw = chain["cold_wait_critical_s"]
    assert cw["all serverless"] == pytest.approx(22.0, abs=0.5)  # 15 + 2 + 5 (CAL §8)
    assert cw["serverless + coordinated pre-warm"] == pytest.approx(15.0, abs=0.5)
    assert cw["3 LLMs in sequence, all serverless"] == pytest.approx(45.0, abs=0.5)
    assert chain.loc["all serverless", "cold_starts"] == 3
    # the study script redraws both figures from the run's files alone
    import runpy
    import sys

    from helpers import ROOT
    from helpers.figures import assert_figure

    out = tmp_path / "redrawn"
    argv = sys.argv
    sys.argv = ["figures.py", str(tmp_path), "--out", str(out)]
    try:
        runpy.run_path(str(ROOT / "experiments" / "compound" / "figures.py"), run_name="__main__")
    finally:
        sys.argv = argv
    for stem in ("pipeline_waterfall", "pipeline_latency_cdf"):
        for ext in ("png", "svg"):
            assert_figure(tmp_path / "plots" / f"{stem}.{ext}")
            assert_figure(out / "plots" / f"{stem}.{ext}")
    from sim.platform import SETUPS

    if "hybrid" not in SETUPS:
        pytest.skip("the hybrid setup is not on this branch: mixed placement not run")
    assert cw["dialogue model dedicated (hybrid)"] == pytest.approx(7.0, abs=0.5)  # 2 + 5
    assert chain.loc["dialogue model dedicated (hybrid)", "cold_starts"] == 2
    assert "hybrid/mixed" in set(res.tables["bursty"]["setup"])


def test_prewarm_through_hybrid_warms_only_serverless_placed_models():
    from sim.platform import SETUPS

    if "hybrid" not in SETUPS:
        pytest.skip("the hybrid setup is not on this branch")
    st = {"embed": EMBED, "rerank": {"model": "bge-reranker-m3", "after": ["embed"],
                                     "input": dict(FIXED, mean=500)},
          "answer": dict(ANSWER, after=["rerank"])}
    cfg = make_cfg(st, prewarm=True, overrides=["hybrid.placement={llama31-8b: dedicated}",
                                                "hybrid.default_tier=serverless"])
    wl, r, pipes, req = run(cfg, "hybrid")
    loads = [u.model for u in r.ledger if u.tier == "serverless"]
    assert sorted(loads) == ["bge-large-en", "bge-reranker-m3"]  # the 8B is dedicated: not warmed
    assert list(req["tier"].astype(str)) == ["serverless", "serverless", "dedicated"]
    p = pipes.iloc[0]
    assert p.cold_starts == 2
    # both loads start at the arrival: the chain waits for the reranker's load only
    assert 4.0 < p.cold_wait_critical_s < 5.5


def test_the_compound_figures_script_on_a_folder_without_its_files_is_one_line(tmp_path):
    """A run stopped by bad input while its setups were built leaves a folder with error.txt
    alone: the study script says so in one line (it was a FileNotFoundError traceback)."""
    import subprocess
    import sys

    from helpers import ROOT

    (tmp_path / "error.txt").write_text("InputError: config key 'x': bad\n")
    r = subprocess.run([sys.executable, str(ROOT / "experiments" / "compound" / "figures.py"),
                        str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "chain_stages.csv" in lines[0] and "error.txt" in lines[0], r.stderr


def test_pipeline_requests_that_ran_no_stage_are_said_so():
    """A pipeline whose only stage has probability 0: its requests arrived and the note said
    "no request arrived within the horizon" (the eleventh hostile-input sweep)."""
    res = sim.run(["tenants.chat.pipeline=p", "pipelines={p: {stages: {a: {model: llama31-8b, "
                   "probability: 0}}}}", "horizon_s=10", "output.progress=false"])
    said = [n for n in res.notes if "pipeline request(s) arrived but none ran a model stage" in n]
    assert len(said) == 1 and not [n for n in res.notes if "no request arrived" in n], res.notes


def test_the_mixed_scenario_is_named_after_the_placement_it_ran():
    """"dialogue model dedicated" only when compound.mixed_placement dedicates exactly the
    pipeline's answering model; any other placement is named as it is (until December 2026
    every placement carried the first name)."""
    from sim.analysis.cold_chain import mixed_label

    base = ["job=compound", "experiment=compound"]
    cfg = sim.compose(base)
    assert mixed_label(cfg, "rag") == "dialogue model dedicated (hybrid)"
    tenant = [t for t in cfg.tenants if cfg.tenants[t].get("pipeline") == "rag"][0]
    whole = sim.compose(base + ["~compound.mixed_placement.llama31-8b",
                                f"+compound.mixed_placement.{tenant}=dedicated"])
    assert mixed_label(whole, "rag") == f"{tenant} dedicated (hybrid), the rest serverless"
    two = sim.compose(base + ["+compound.mixed_placement.bge-large-en=dedicated"])
    assert mixed_label(two, "rag") == ("llama31-8b dedicated, bge-large-en dedicated (hybrid), "
                                       "the rest serverless")


def test_a_pipeline_tenants_model_rows_hold_each_models_own_bill(tmp_path):
    """A pipeline tenant calls three models: each ``__model__`` row holds what was billed for
    that model (per token here: its requests' tokens x its prices, computed independently
    from requests.parquet), and the rows add up to the tenant's bill. Until December 2026
    the tenant's whole bill sat under its first stage's model (the embedder) and the
    answering 8B's row read $0 for its 122,025 output tokens."""
    res = sim.run(["experiment=compound", "job=simulate", "setups=[serverless]", "horizon_s=300",
                   "output.plots=false", "output.report=false", "output.progress=false"],
                  output_dir=tmp_path)
    s, req = res.summary.set_index("tenant"), res.requests
    cat = sim.compose(["experiment=compound"]).catalog.models
    done = req[req["outcome"] == "completed"]
    rows = [t for t in s.index if t.startswith("__model__:") and not t.startswith("__model__:tool")]
    assert len(rows) == 3
    for row in rows:
        m = row.split(":", 1)[1]
        mine = done[done["model"] == m]
        price_in, price_out = cat[m].price_in_usd_per_mtok or 0.0, cat[m].price_out_usd_per_mtok or 0.0
        cached_price = cat[m].price_cached_in_usd_per_mtok
        cached_price = price_in if cached_price is None else cached_price
        usd = ((mine["input_tokens"] - mine["cached_tokens"]).sum() * price_in
               + mine["cached_tokens"].sum() * cached_price
               + mine["output_tokens"].sum() * price_out) / 1e6
        assert s.loc[row, "cost_usd"] == pytest.approx(usd, rel=1e-9, abs=1e-12)
    assert s.loc["__model__:llama31-8b", "cost_usd"] > 0
    assert sum(s.loc[r, "cost_usd"] for r in rows) == pytest.approx(s.loc["chat", "cost_usd"], rel=1e-9)


@pytest.mark.parametrize("kept", ["sample", "none"])
def test_the_stage_table_reads_every_stage_request_whatever_is_kept(kept):
    """``pipeline_stages`` summarised the kept sample of requests, and was not written with
    none kept (until December 2026): it reads every stage request of the runs."""
    base = ["experiment=compound", "job=simulate", "horizon_s=300", "output.plots=false",
            "output.progress=false"]
    full = sim.run(base)
    some = sim.run(base + [f"output.requests={kept}"])
    assert len(some.requests) < len(full.requests) and len(full.tables["pipeline_stages"]) > 1
    pd.testing.assert_frame_equal(some.tables["pipeline_stages"], full.tables["pipeline_stages"],
                                  check_exact=True)
