"""The jobs a user runs on the shipped real traces, checked against the trace read here with
pandas (the December 2026 real-traffic audit, README "Reliability")."""

import pandas as pd
import pytest

import sim
from sim.paths import resolve

AZURE_CONV = "${traces:}/azure_llm_2023/AzureLLMInferenceTrace_conv.csv"


def _azure_slice(tmp_path, rows: int):
    """The first ``rows`` rows of the Azure 2023 conversation trace (CC-BY 4.0), written to a
    scratch file (nothing copied into the repository), and their times in seconds."""
    src = pd.read_csv(resolve(sim.compose([f"tenants.chat.arrival.trace.path={AZURE_CONV}"])
                              .tenants.chat.arrival.trace.path))
    part = src.head(rows)
    p = tmp_path / "azure_conv_head.csv"
    part.to_csv(p, index=False)
    t = pd.to_datetime(part.TIMESTAMP)
    return p, part.assign(t=(t - t.iloc[0]).dt.total_seconds())


def test_prefix_cache_studies_an_azure_format_trace(tmp_path):
    """`prefix_cache.traces` takes any trace the tenant's format reads ("your own traces go
    in prefix_cache.traces"). Until December 2026 the checks before any work read the
    experiment's own Mooncake path with the tenant's format: an Azure file was refused at
    the Mooncake file's line 1 with `format=azure`, and at its own line 1 without it."""
    p, part = _azure_slice(tmp_path, 60)
    horizon = 8.0
    res = sim.run(["experiment=prefix_cache", f"horizon_s={horizon}", f"prefix_cache.traces=[{p}]",
                   "tenants.chat.arrival.trace.format=azure", "prefix_cache.max_replicas=1",
                   "dedicated.replicas.llama31-8b=1"])
    ttft = res.tables["ttft"]
    kept = part[part.t < horizon]
    assert len(kept) == 7  # the rows of the first 8 s
    assert (ttft["trace"] == p.name).all()
    assert (ttft["requests"] == len(kept)).all() and (ttft["completed"] == len(kept)).all()
    assert (ttft["cache_hit_rate"] == 0).all()  # the Azure trace names no shared block
    req = res.requests
    for _, g in req.groupby("setup", observed=True):
        assert g["input_tokens"].sum() == kept.ContextTokens.sum()
        assert g["output_tokens"].sum() == kept.GeneratedTokens.sum()
    assert any(n.startswith(f"{p.name}: no prompt reused a cached block") for n in res.notes)


def test_prefix_cache_names_the_entry_of_a_trace_it_cannot_read(tmp_path):
    p, _ = _azure_slice(tmp_path, 5)
    with pytest.raises(sim.InputError, match=r"prefix_cache\.traces\[0\]"):
        sim.run(["experiment=prefix_cache", f"prefix_cache.traces=[{tmp_path / 'none.csv'}]"])
    # a second trace the tenant's format cannot read: its own file and line, before any run
    with pytest.raises(sim.InputError, match=r"synthetic_trace\.jsonl:1"):
        sim.run(["experiment=prefix_cache", "tenants.chat.arrival.trace.format=azure",
                 f"prefix_cache.traces=[{p},${{traces:}}/mooncake_fast25/synthetic_trace.jsonl]"])


def test_a_plan_that_buys_nothing_writes_a_readable_summary(tmp_path):
    """A plan with no choice has no summary rows; its summary.csv was one newline, which
    pandas refuses ("No columns to parse from file"). Now the header alone."""
    sim.run(["job=plan", "plan.gpus=[H100]", "plan.precisions=[fp8]", "plan.tp=[3]",
             "plan.placements=[dedicated]", "horizon_s=60"], output_dir=tmp_path)
    s = pd.read_csv(tmp_path / "summary.csv")
    assert len(s) == 0 and {"setup", "tenant", "requests", "cost_usd"} <= set(s.columns)
    assert pd.read_csv(tmp_path / "plan.csv").iloc[0]["choice"] == "none"


def test_a_loop_cut_within_its_first_pass_says_one_pass(tmp_path):
    """The loop note counted passes as 'in 1 passes of ...' when the horizon ends within the
    first; the rows replayed are the slice's own before the horizon."""
    p, part = _azure_slice(tmp_path, 30)
    res = sim.run([f"tenants.chat.arrival={{kind: trace, trace: {{path: '{p}', loop: true}}}}",
                   "tenants.chat.input={kind: trace, max: null}",
                   "tenants.chat.output={kind: trace, max: null}", "horizon_s=5", "setups=[dedicated]"])
    n = int((part.t < 5).sum())
    assert len(res.requests) == n
    said = [x for x in res.notes if "arrival.trace.loop" in x]
    assert len(said) == 1 and f"in 1 pass of {part.t.iloc[-1] + 1e-9:.9g} s" in said[0] \
        and f": {n:,} requests" in said[0], said
