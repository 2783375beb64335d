"""The shipped real traces run end to end: what each setup serves, row for row, against the
file read here with pandas and json (not the project's readers), and every change counted
and said. Short horizons keep the file under a minute."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from helpers import TRACES

import sim

MOONCAKE_CONV = TRACES / "mooncake_fast25" / "conversation_trace.jsonl"
SETUPS = "setups=[serverless,dedicated,hybrid]"


def _mooncake(path) -> pd.DataFrame:
    """The file's rows: ``t`` seconds from the first as recorded, ``spread`` each row's time
    once equal times are spread evenly up to the next recorded time (the last run over 3 s,
    the documented default), and the lengths."""
    rows = [json.loads(line) for line in open(path)]
    t = np.array([r["timestamp"] for r in rows], float)
    t = (t - t[0]) / 1000
    spread = t.copy()
    times = sorted(set(t.tolist()))
    after = dict(zip(times, times[1:] + [times[-1] + 3.0]))
    i = 0
    while i < t.size:
        j = i
        while j + 1 < t.size and t[j + 1] == t[i]:
            j += 1
        c = j - i + 1
        spread[i:j + 1] = t[i] + (after[t[i]] - t[i]) * np.arange(c) / c
        i = j + 1
    return pd.DataFrame({"t": t, "spread": spread, "input": [r["input_length"] for r in rows],
                         "output": [r["output_length"] for r in rows]})


def _tenant(path, fmt, extra="") -> list[str]:
    return [f"tenants.chat.arrival={{kind: trace, trace: {{path: {path}, format: {fmt}{extra}}}}}",
            "tenants.chat.input={kind: trace, max: null}",
            "tenants.chat.output={kind: trace, max: null}", "output.requests=full"]


def test_start_s_inside_a_spread_slot_replays_the_rows_recorded_from_it():
    # the conversation trace records ~3 s slots; 1000.5 s falls inside the one recorded at
    # 999 s, whose rows are spread over [999, 1002): they were recorded before start_s and
    # are not replayed (until December 2026 the ones spread past 1000.5 s were, 5 more
    # requests than the file holds from there, and the notes counted them as the trace's)
    f = _mooncake(MOONCAKE_CONV)
    start, horizon = 1000.5, 30.0
    want = f[(f.t >= start) & (f.spread - start < horizon)]
    res = sim.run(_tenant(MOONCAKE_CONV, "mooncake", f", start_s: {start}")
                  + [f"horizon_s={horizon:g}", SETUPS])
    for setup, r in res.requests.groupby("setup", observed=True):
        r = r.sort_values("request_id")
        assert len(r) == len(want), setup
        np.testing.assert_allclose(r["arrival_s"], want.spread - start, rtol=0, atol=1e-9)
        assert r["input_tokens"].tolist() == want.input.tolist(), setup
        assert r["output_tokens"].tolist() == want.output.tolist(), setup
    from_start = int((f.t >= start).sum())
    late = [n for n in res.notes if "not replayed" in n]
    assert len(late) == 1 and f"{from_start - len(want):,} of the trace's {from_start:,} requests" \
        in late[0], res.notes


def test_rows_recorded_before_the_horizon_and_spread_past_it_are_said():
    # 400 s falls inside the slot recorded at 399 s: 3 of its rows are spread past 400 s,
    # so the run replays 3 fewer requests than the file records before the horizon
    f = _mooncake(MOONCAKE_CONV)
    horizon = 400.0
    served = int((f.spread < horizon).sum())
    moved = int(((f.t < horizon) & (f.spread >= horizon)).sum())
    assert moved > 0
    res = sim.run(_tenant(MOONCAKE_CONV, "mooncake") + [f"horizon_s={horizon:g}",
                                                         "setups=[dedicated]"])
    assert len(res.requests) == served
    late = [n for n in res.notes if "not replayed" in n]
    assert len(late) == 1, res.notes
    assert f"{len(f) - served:,} of the trace's {len(f):,} requests" in late[0]
    assert f"{moved:,} of them recorded before it and spread past it" in late[0]


def test_capped_prompts_are_counted_and_the_note_says_what_was_done():
    # the default experiment's chat caps prompts at 16,000 tokens and outputs at 4,096; the
    # conversation trace records prompts up to 126,195 (until December 2026 the note said
    # "clipped to the length config's [min, max], raised to one token", whatever was done)
    f = _mooncake(MOONCAKE_CONV)
    horizon = 60.0
    want = f[f.spread < horizon]
    cut = int((want.input > 16000).sum())
    assert cut > 0 and not (want.output > 4096).any()
    res = sim.run([f"tenants.chat.arrival={{kind: trace, trace: {{path: {MOONCAKE_CONV}, "
                   "format: mooncake}}", "tenants.chat.input.kind=trace",
                   "tenants.chat.output.kind=trace", f"horizon_s={horizon:g}", SETUPS])
    for setup, r in res.requests.groupby("setup", observed=True):
        r = r.sort_values("request_id")
        assert r["input_tokens"].tolist() == want.input.clip(upper=16000).tolist(), setup
        assert r["output_tokens"].tolist() == want.output.tolist(), setup
        s = res.summary.set_index(["setup", "tenant"]).loc[(setup, "chat")]
        assert s["clipped"] == cut
        done = (r["outcome"] == "completed").to_numpy()
        assert s["input_tokens"] == want.input.clip(upper=16000)[done].sum()
        assert s["output_tokens"] == want.output[done].sum()
    assert [n for n in res.notes if "changed to be served" in n] == [
        f"tenant chat: {cut} requests' lengths were changed to be served: {cut} prompts above "
        "input.max 16,000 cut to it; column `clipped`"]


def test_a_prompt_beyond_the_context_is_rejected_or_cut_and_said_once():
    # the synthetic trace's prompt of 139,265 tokens at 99.3 s, beyond Llama-3.1-8B's 131,072
    path = TRACES / "mooncake_fast25" / "synthetic_trace.jsonl"
    f = _mooncake(path)
    want = f[f.spread < 120]
    over = want.input + want.output > 131072
    assert int(over.sum()) == 1
    base = _tenant(path, "mooncake") + ["horizon_s=120", "setups=[dedicated]"]
    rej = sim.run(base)
    r = rej.requests.sort_values("request_id")
    assert (r["outcome"] == "rejected").tolist() == over.tolist()
    assert "tenant chat: 1 request exceeds its model's context (prompt + output): rejected on " \
        "arrival (exceeds_context) (workload.overlength=reject)" in rej.notes
    cut = sim.run(base + ["workload.overlength=clip"])
    r = cut.requests.sort_values("request_id")
    assert (r["input_tokens"] + r["output_tokens"]).max() <= 131072
    assert (r["input_tokens"].to_numpy() != want.input.to_numpy()).sum() == 1
    assert [n for n in cut.notes if "changed to be served" in n] == [
        "tenant chat: 1 request's length was changed to be served: 1 request cut to the context "
        "131,072 (workload.overlength=clip); column `clipped`"]


def test_recorded_outputs_replayed_on_an_embedding_model_are_counted_and_said():
    # an embedding model produces no tokens: the trace's recorded outputs are not served,
    # and until December 2026 that went unsaid (`clipped` 0, no note)
    path = TRACES / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv"
    rows = pd.read_csv(path)
    t = pd.to_datetime(rows["TIMESTAMP"]).astype("int64")
    n = int(((t - t.iloc[0]) / 1e9 < 20).sum())
    res = sim.run(["tenants.chat={model: bge-large-en, arrival: {kind: trace, trace: {path: "
                   f"{path}}}}}, input: {{kind: trace}}, output: {{kind: trace}}}}",
                   "deployments={bge-large-en: {gpu: H100, precision: bf16, tp: 1}}",
                   "horizon_s=20", "setups=[serverless]", "output.requests=full"])
    assert len(res.requests) == n and (res.requests["output_tokens"] == 0).all()
    assert res.summary.set_index("tenant").loc["chat", "clipped"] == n
    assert any(f"{n} recorded outputs not served (the model produces no tokens)" in x
               for x in res.notes), res.notes


def test_start_s_after_the_last_recorded_row_is_refused_with_its_time_in_full(tmp_path):
    # the conversation trace's last rows are recorded at 3,536,999 ms: start_s 3537 keeps
    # none (the message gave the last row's time as "3537 s", start_s itself)
    last = max(json.loads(line)["timestamp"] for line in open(MOONCAKE_CONV)) / 1000
    assert last == 3536.999
    import subprocess
    import sys
    p = subprocess.run([sys.executable, "-m", "sim", f"hydra.run.dir={tmp_path}", "horizon_s=10",
                        f"tenants.chat.arrival={{kind: trace, trace: {{path: {MOONCAKE_CONV}, "
                        "format: mooncake, start_s: 3537}}"], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines()[-1].endswith(
        "the trace has no requests after start_s=3537 (its last row is recorded at 3536.999 s)")


def test_rate_scale_copies_cost_what_they_replay_not_the_whole_trace_each():
    # 500 copies of the conversation trace (19,366 rows) over 1 s: each copy was built whole
    # before the horizon cut it (10^6 copies: 23.7 GB, the process killed); the replay is
    # the naive one, copy for copy, from the same draws: each copy after the first is the
    # replayed span (the first 1 s) rotated by a uniform offset within it, so 500 x its rows
    import tracemalloc

    from sim.simulation.build import build_workload
    path = TRACES / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv"
    t = pd.to_datetime(pd.read_csv(path)["TIMESTAMP"]).astype("int64").to_numpy()
    base = (t - t[0]) / 1e9
    from sim.rng import stream
    rng = stream(0, "arrivals/chat")  # the tenant's arrival stream (README, "Trace replay")
    offsets = [0.0] + [rng.uniform(0.0, 1.0) for _ in range(499)]
    want = sorted(x for off in offsets for x in np.mod(base[base < 1.0] + off, 1.0).tolist())
    cfg = sim.compose([f"tenants.chat.arrival={{kind: trace, trace: {{path: {path}, "
                       "rate_scale: 500}}", "horizon_s=1"])
    build_workload(cfg)  # the file read and cached: its bytes are not the replay's
    tracemalloc.start()
    try:
        wl = build_workload(cfg)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(wl) == len(want) == 500 * int(np.count_nonzero(base < 1.0))
    np.testing.assert_allclose(np.sort(wl.arrival_s), want, rtol=0, atol=1e-9)
    assert peak < 20e6, peak  # 19,366 x 500 times and rows alone are 155 MB


AZURE = TRACES / "azure_llm_2023"
FILES = {"code": AZURE / "AzureLLMInferenceTrace_code.csv",
         "conv": AZURE / "AzureLLMInferenceTrace_conv.csv",
         "kimi": MOONCAKE_CONV, "kimi2": MOONCAKE_CONV,  # two tenants, one file
         "synth": TRACES / "mooncake_fast25" / "synthetic_trace.jsonl"}


def _file_rows(path) -> pd.DataFrame:
    """Seconds from the first row as recorded, and the lengths, read with pandas."""
    if path.suffix == ".jsonl":
        f = _mooncake(path)
        return f[["t", "input", "output"]]
    d = pd.read_csv(path)
    ns = pd.to_datetime(d["TIMESTAMP"]).astype("int64")
    return pd.DataFrame({"t": (ns - ns.iloc[0]) / 1e9, "input": d["ContextTokens"],
                         "output": d["GeneratedTokens"]})


def test_every_shipped_trace_beside_a_synthetic_tenant_from_the_command_line(tmp_path):
    import subprocess
    import sys
    horizon = 45.0
    args = [sys.executable, "-m", "sim", f"hydra.run.dir={tmp_path}", f"horizon_s={horizon:g}",
            SETUPS, "output.plots=false"]
    for name, path in FILES.items():
        fmt = "mooncake" if path.suffix == ".jsonl" else "azure"
        args.append(f"tenants.{name}={{model: llama31-8b, arrival: {{kind: trace, trace: {{path: "
                    f"{path}, format: {fmt}, duplicates: keep}}}}, input: {{kind: trace}}, "
                    "output: {kind: trace}}")
    p = subprocess.run(args, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
    req = pd.read_parquet(tmp_path / "requests.parquet")
    summary = pd.read_csv(tmp_path / "summary.csv").set_index(["setup", "tenant"])
    for name, path in FILES.items():
        f = _file_rows(path)
        want = f[f.t < horizon]
        for setup in ("serverless", "dedicated", "hybrid"):
            r = req[(req.setup == setup) & (req.tenant == name)].sort_values("request_id")
            assert len(r) == len(want), (name, setup)
            np.testing.assert_allclose(r["arrival_s"], want.t, rtol=0, atol=1e-9)
            assert r["input_tokens"].tolist() == want.input.tolist(), (name, setup)
            assert r["output_tokens"].tolist() == want.output.tolist(), (name, setup)
            done = (r["outcome"] == "completed").to_numpy()
            s = summary.loc[(setup, name)]
            assert (s["requests"], s["clipped"]) == (len(want), 0)
            assert s["input_tokens"] == want.input[done].sum(), (name, setup)
            assert s["output_tokens"] == want.output[done].sum(), (name, setup)
            if path == MOONCAKE_CONV:  # its blocks reach the cache (the synthetic trace
                # repeats 9 first blocks in these 45 s: alone, 5 hit on dedicated, 1 on the
                # pool; beside four other trace tenants, none on some setup)
                assert r["cached_tokens"].sum() > 0
        assert f"{len(f) - len(want):,} of the trace's {len(f):,} requests" in p.stdout, name
    # the synthetic chat tenant beside them: as the default run draws it alone
    alone = sim.run([f"horizon_s={horizon:g}", "setups=[dedicated]"]).requests
    mine = req[(req.setup == "dedicated") & (req.tenant == "chat")].sort_values("arrival_s")
    assert mine["arrival_s"].tolist() == alone.sort_values("arrival_s")["arrival_s"].tolist()
    assert mine["input_tokens"].tolist() == alone.sort_values("arrival_s")["input_tokens"].tolist()


def test_mooncake_blocks_are_cached_only_where_an_earlier_prompt_shares_them():
    # no hit for a prompt whose first 512-token block no earlier row holds; hits on most
    # of those that repeat one (a prompt in flight, or behind a cold start, misses), on every
    # setup
    rows = [json.loads(line) for line in open(MOONCAKE_CONV)]
    t0 = rows[0]["timestamp"]
    rows = [r for r in rows if (r["timestamp"] - t0) / 1000 < 60]
    seen, repeat = set(), []
    for r in rows:
        repeat.append(r["hash_ids"][0] in seen)
        seen.update(r["hash_ids"][:1])
    repeat = np.array(repeat)
    res = sim.run(_tenant(MOONCAKE_CONV, "mooncake", ", duplicates: keep") + ["horizon_s=60", SETUPS])
    for setup, r in res.requests.groupby("setup", observed=True):
        c = r.sort_values("request_id")["cached_tokens"].to_numpy()
        assert c.size == repeat.size
        assert (c[~repeat] == 0).all(), setup
        assert (c[repeat] > 0).sum() > 0.25 * repeat.sum(), setup


def test_a_prefix_on_a_replayed_trace_is_said_with_what_it_adds():
    # a system prompt adds its tokens to every recorded prompt, sessions add turns: until
    # December 2026 neither was said (here 12 rows became 14 requests, unsaid)
    path = TRACES / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv"
    f = _file_rows(path)
    want = f[f.t < 10]
    base = _tenant(path, "azure") + ["horizon_s=10", "setups=[dedicated]"]
    res = sim.run(base + ["tenants.chat.prefix.system_tokens=500"])
    r = res.requests.sort_values("request_id")
    assert r["input_tokens"].tolist() == (want.input + 500).tolist()
    assert "tenant chat: each prompt is its recorded length plus a 500-token system prompt " \
        "(prefix.system_tokens)" in res.notes
    res = sim.run(base + ["tenants.chat.prefix.sessions.turns_mean=3"])
    n = len(res.requests)
    assert n > len(want)
    assert any(x.startswith("tenant chat: each replayed row starts a session") and
               x.endswith(f": {n:,} requests from {len(want):,} rows") for x in res.notes), res.notes


def test_a_pipeline_tenant_replaying_a_trace_says_the_lengths_are_its_stages():
    # its own input and output configs are not read, kind: trace or not (unsaid until
    # December 2026): its stages draw theirs
    path = TRACES / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv"
    res = sim.run(["experiment=compound", "job=simulate", "horizon_s=20", "setups=[dedicated]",
                   f"tenants.chat.arrival={{kind: trace, trace: {{path: {path}}}}}",
                   "tenants.chat.input.kind=trace", "tenants.chat.output.kind=trace"])
    assert "tenant chat: the trace gives its pipeline's arrival times only; the lengths come " \
        "from each stage's input and output (pipelines.rag.stages), not the lengths the trace " \
        "records" in res.notes


def test_the_compound_job_says_what_its_replay_left_out():
    # it built the workload and said nothing of it (until December 2026): here the trace's
    # rows after the horizon, and that the stages draw the lengths
    path = TRACES / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv"
    f = _file_rows(path)
    n = int((f.t < 20).sum())
    res = sim.run(["experiment=compound", "horizon_s=20", "compound.bursty_setups=[dedicated]",
                   f"tenants.chat.arrival={{kind: trace, trace: {{path: {path}}}}}"])
    assert any(x.startswith(f"tenant chat: {len(f) - n:,} of the trace's {len(f):,} requests")
               and "not replayed" in x for x in res.notes), res.notes
    assert any("pipelines.rag.stages" in x for x in res.notes)


def test_a_rate_curve_left_on_a_trace_tenant_is_said_not_applied():
    # experiment=hybrid's chat has a sinusoid: made a trace tenant on the command line, its
    # arrivals are the trace's, and the curve went unread unsaid (until December 2026)
    path = TRACES / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv"
    f = _file_rows(path)
    res = sim.run(["experiment=hybrid", "horizon_s=20", "setups=[dedicated]",
                   "background.synthetic.tenants=0", "tenants.chat.arrival.kind=trace",
                   f"tenants.chat.arrival.trace.path={path}", "output.requests=full"])
    chat = res.requests[res.requests.tenant == "chat"].sort_values("request_id")
    np.testing.assert_allclose(chat["arrival_s"], f.t[f.t < 20], rtol=0, atol=1e-9)
    assert "tenant chat: arrival.curve sinusoid is not applied: it modulates a synthetic rate, " \
        "and arrival.kind trace sets its own times" in res.notes


def test_a_looped_trace_says_how_many_passes_and_requests():
    # the Azure code trace from 3,400 s: 240 s, each pass its rows at their times again,
    # 1 ns after the last one (until December 2026 the rows' repetition was unsaid)
    path = TRACES / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv"
    f = _file_rows(path)
    start, horizon = 3400.0, 240.0
    rows = f[f.t >= start]
    period = f.t.iloc[-1] - start + 1e-9
    passes = int(np.ceil(horizon / period))
    t = np.concatenate([rows.t - start + k * period for k in range(passes)])
    t = t[t < horizon]
    res = sim.run(_tenant(path, "azure", f", start_s: {start:g}, loop: true")
                  + [f"horizon_s={horizon:g}", "setups=[dedicated]"])
    r = res.requests.sort_values("request_id")
    np.testing.assert_allclose(r["arrival_s"], t, rtol=0, atol=1e-9)
    assert r["input_tokens"].tolist() == np.resize(rows.input.to_numpy(), t.size).tolist()
    assert passes == 7 and f"arrival.trace.loop replays the trace's {len(rows):,} rows from " \
        f"start_s=3400 s in {passes} passes of {period:.9g} s, the last cut at horizon_s=240 s: " \
        f"{t.size:,} requests" in " ".join(res.notes), res.notes
