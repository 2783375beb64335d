"""Fidelity of real-trace replay: what the run serves is what the files hold, and whatever a
run leaves out or changes is counted.

Each check reads the shared trace files itself (csv/json/gzip) or compares against a
run that keeps everything, never against the project's own readers' output.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TRACES

import sim
from sim.simulation.build import build_workload

SERVEGEN_MID = TRACES / "servegen" / "m-mid_client_windows.csv.gz"


def test_background_thinning_keeps_the_changed_flags_of_the_kept_requests():
    # prompts capped at 600 tokens: about a third of the lognormal draws are clipped
    bg = ["horizon_s=300", f"background.servegen.path={SERVEGEN_MID}",
          "background.servegen.clients=2", "background.servegen.rate_scale=0.05",
          "background.servegen.input={kind: lognormal, mean: 600, cv: 1, max: 600}"]
    full = build_workload(sim.compose(bg))
    half = build_workload(sim.compose(bg + ["background.scale=0.5"]))
    for w in (full, half):
        assert w.changed_req.size == len(w)

    def flags(w):
        bgm = ~w.user_mask()
        return {(w.tenants[t], a): c for t, a, c in zip(
            w.tenant[bgm].tolist(), w.arrival_s[bgm].tolist(), w.changed_req[bgm].tolist())}

    f_full, f_half = flags(full), flags(half)
    assert 0 < len(f_half) < len(f_full)
    # a kept request was changed exactly when it was changed at full scale
    assert all(f_full[k] == v for k, v in f_half.items())
    assert any(f_half.values())
    for name in half.tenants[half.n_user_tenants:]:
        assert half.changed[name] == sum(v for (t, _), v in f_half.items() if t == name)


AZURE_CODE = TRACES / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv"
MOONCAKE = TRACES / "mooncake_fast25"


def _replay(path, fmt):
    return ["tenants.chat.arrival.kind=trace", f"tenants.chat.arrival.trace.path={path}",
            f"tenants.chat.arrival.trace.format={fmt}", "tenants.chat.input.kind=trace",
            "tenants.chat.output.kind=trace", "output.requests=full"]


def _azure_seconds(path) -> list[float]:
    """Seconds from the first row, from the CSV's text: whole seconds and 100 ns ticks (the
    files' seven fractional digits) apart, so no float rounding of the epoch."""
    import csv
    from datetime import datetime
    ticks = []
    for r in csv.DictReader(open(path)):
        day, frac = r["TIMESTAMP"].split(".")
        whole = int(datetime.strptime(day, "%Y-%m-%d %H:%M:%S").timestamp())
        ticks.append(whole * 10**7 + int(frac.ljust(7, "0")))
    return [(t - ticks[0]) / 1e7 for t in ticks]


def test_rows_after_the_horizon_are_counted_in_a_note():
    t = _azure_seconds(AZURE_CODE)
    horizon, start = 300.0, 100.0
    res = sim.run(_replay(AZURE_CODE, "azure") + [f"horizon_s={horizon:g}",
                                                  f"tenants.chat.arrival.trace.start_s={start:g}"])
    inside = [x for x in t if start <= x < start + horizon]
    late = [x for x in t if x >= start + horizon]
    assert len(res.requests) == len(inside)
    assert any(f"{len(late):,} of the trace's {len(inside) + len(late):,} requests" in n
               and "not replayed" in n for n in res.notes), res.notes
    # a horizon past the trace's end leaves nothing out, and says nothing
    whole = sim.run(_replay(AZURE_CODE, "azure") + ["horizon_s=3600"])
    assert len(whole.requests) == len(t) and not any("not replayed" in n for n in whole.notes)


def test_spread_timestamps_are_counted_in_a_note():
    import json
    path = MOONCAKE / "conversation_trace.jsonl"
    ts = [json.loads(line)["timestamp"] for line in open(path)]
    same = sum(a == b for a, b in zip(ts, ts[1:]))  # rows sharing the time of the row before
    horizon = ts[-1] / 1000 + 10  # the whole trace (its last slot spreads over 3 s)
    wl = build_workload(sim.compose(_replay(path, "mooncake") + [f"horizon_s={horizon:g}"]))
    assert len(wl) == len(ts)
    assert [n for n in wl.replay_notes if "spread" in n] == [
        f"tenant chat: {same:,} of its {len(ts):,} replayed trace requests share their recorded "
        "time with the row before and were spread evenly up to the next recorded time "
        "(arrival.trace.duplicates: spread; `keep` replays them at equal times)"]
    kept = build_workload(sim.compose(_replay(path, "mooncake") + [
        f"horizon_s={horizon:g}", "tenants.chat.arrival.trace.duplicates=keep"]))
    assert kept.replay_notes == [  # kept as recorded, and still said
        f"tenant chat: {same:,} of its {len(ts):,} replayed trace requests share their recorded "
        "time with the row before and were replayed at that time (arrival.trace.duplicates: "
        "keep; `spread` spreads them up to the next recorded time)"]
    assert np.array_equal(kept.arrival_s, (np.asarray(ts) - ts[0]) / 1000)


def _unbounded_reference(path, until_s: float, block: int, context: int) -> tuple[list[int], float]:
    """Cached tokens per line of a Mooncake file (lines before ``until_s``) with a cache that
    keeps everything, read straight from the JSON: a prompt's 512-token hash_ids blocks (the
    last one partial), cut to the prompt as served (``clip``: the output to the context less
    a token, the prompt to the rest), match an earlier prompt's while their (id, length)
    chain does; the hit is floored to whole ``block``s and leaves the last prompt token. Also
    the first recorded time at or after ``until_s`` (seconds from the first line)."""
    import json
    seen: set[tuple] = set()
    out, t0 = [], None
    for line in open(path):
        o = json.loads(line)
        t0 = o["timestamp"] if t0 is None else t0
        if (o["timestamp"] - t0) / 1000 >= until_s:
            return out, (o["timestamp"] - t0) / 1000
        h, n_in = o["hash_ids"], o["input_length"]
        n_in = min(n_in, context - min(o["output_length"], context - 1))
        chain, left = [], n_in
        for b in h:
            if left <= 0:
                break
            chain.append((b, min(512, left)))
            left -= 512
        k = 0
        while k < len(chain) and tuple(chain[: k + 1]) in seen:
            k += 1
        matched = sum(n for _, n in chain[:k])
        out.append(min(matched // block, (n_in - 1) // block) * block)
        seen.update(tuple(chain[: j + 1]) for j in range(len(chain)))
    raise AssertionError(f"{path} ends before {until_s} s")


@pytest.mark.parametrize("engine", ["fluid", "step"])
@pytest.mark.parametrize("name", ["synthetic", "conversation"])
def test_engines_cache_what_an_unbounded_cache_of_the_hash_ids_would(name, engine):
    # the lines before 300 s, 100 times slower (equal recorded times spread over their
    # slot, the Mooncake default: no two prompts in flight together, so each finds every
    # earlier one cached) on a replica whose memory holds them all
    path = MOONCAKE / f"{name}_trace.jsonl"
    slow = 100.0
    context = sim.compose([]).catalog.models["llama31-8b"].max_context
    want, end = _unbounded_reference(path, 300.0, 16, context)  # vLLM's 16-token blocks
    cfg = _replay(path, "mooncake") + [
        f"horizon_s={end * slow!r}", f"tenants.chat.arrival.trace.time_scale={slow:g}",
        f"engine={engine}",
        "tenants.chat.input.max=null", "tenants.chat.output.max=null", "workload.overlength=clip",
        "deployments.llama31-8b.gpu=H200", "catalog.gpus.H200.memory_gb=20000",
        "drain_s=100000"]
    res = sim.run(cfg)
    r = res.requests.sort_values("request_id")
    assert (r["outcome"] == "completed").all()
    got = r["cached_tokens"].to_numpy()
    assert got.size == len(want)
    assert np.array_equal(got, want), np.flatnonzero(got != np.asarray(want))[:5]
    assert (got <= r["input_tokens"].to_numpy() - 1).all()


AZURE_CONV = TRACES / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv"


def _rows(path) -> list[tuple[float, int, int]]:
    """(seconds from the first row, prompt tokens, output tokens) of every row of a trace
    file, read with csv (Azure) or json (Mooncake, its timestamps in ms)."""
    import csv
    import json
    if str(path).endswith(".jsonl"):
        objs = [json.loads(line) for line in open(path)]
        return [((o["timestamp"] - objs[0]["timestamp"]) / 1000, o["input_length"],
                 o["output_length"]) for o in objs]
    lens = [(int(r["ContextTokens"]), int(r["GeneratedTokens"])) for r in csv.DictReader(open(path))]
    return [(t, i, o) for t, (i, o) in zip(_azure_seconds(path), lens)]


def _lengths_as_recorded(path, fmt):
    return _replay(path, fmt) + ["tenants.chat.input.max=null", "tenants.chat.output.max=null",
                                 "tenants.chat.arrival.trace.duplicates=keep"]


@pytest.mark.parametrize("path", [AZURE_CODE, AZURE_CONV, MOONCAKE / "conversation_trace.jsonl",
                                  MOONCAKE / "synthetic_trace.jsonl"], ids=lambda p: p.stem)
def test_every_row_is_one_request_at_its_time_with_its_lengths(path):
    rows = _rows(path)
    fmt = "mooncake" if path.suffix == ".jsonl" else "azure"
    wl = build_workload(sim.compose(_lengths_as_recorded(path, fmt)
                                    + [f"horizon_s={rows[-1][0] + 1:g}"]))
    assert len(wl) == len(rows)
    np.testing.assert_allclose(wl.arrival_s, [r[0] for r in rows], rtol=0, atol=1e-9)
    assert wl.input_tokens.tolist() == [r[1] for r in rows]
    assert wl.output_tokens.tolist() == [r[2] for r in rows]


def test_requests_file_holds_the_rows_on_every_setup():
    rows = [r for r in _rows(AZURE_CONV) if r[0] < 600]
    res = sim.run(_lengths_as_recorded(AZURE_CONV, "azure") + [
        "horizon_s=600", "setups=[dedicated,serverless,hybrid]"])
    for setup, r in res.requests.groupby("setup", observed=True):
        r = r.sort_values("request_id")
        assert len(r) == len(rows), setup
        np.testing.assert_allclose(r["arrival_s"], [x[0] for x in rows], rtol=0, atol=1e-9)
        assert r["input_tokens"].tolist() == [x[1] for x in rows], setup
        assert r["output_tokens"].tolist() == [x[2] for x in rows], setup


def test_start_time_scale_and_loop_place_every_row():
    rows = _rows(AZURE_CODE)
    start, scale, horizon = 1000.0, 0.5, 5000.0
    kept = [(j, (t - start) * scale) for j, (t, _, _) in enumerate(rows) if t >= start]
    period = kept[-1][1]  # a pass lasts from start_s to its last row (+ 1 ns)
    want = sorted((t + k * period, k, j) for k in range(int(horizon / period) + 1)
                  for j, t in kept if t + k * period < horizon)
    wl = build_workload(sim.compose(_lengths_as_recorded(AZURE_CODE, "azure") + [
        f"horizon_s={horizon:g}", f"tenants.chat.arrival.trace.start_s={start:g}",
        f"tenants.chat.arrival.trace.time_scale={scale:g}", "tenants.chat.arrival.trace.loop=true"]))
    assert len(wl) == len(want)
    # a pass's first request comes just after (1 ns) the previous pass's last one
    np.testing.assert_allclose(wl.arrival_s, [w[0] for w in want], rtol=0, atol=1e-6)
    assert wl.input_tokens.tolist() == [rows[j][1] for _, _, j in want]


def test_rate_scale_two_replays_each_row_twice_and_the_trace_itself_unshifted():
    from collections import Counter
    rows = _rows(AZURE_CODE)
    wl = build_workload(sim.compose(_lengths_as_recorded(AZURE_CODE, "azure") + [
        "horizon_s=3600", "tenants.chat.arrival.trace.rate_scale=2"]))
    got = Counter(zip(wl.input_tokens.tolist(), wl.output_tokens.tolist()))
    assert got == Counter({k: 2 * v for k, v in Counter((i, o) for _, i, o in rows).items()})
    at = Counter(zip(np.round(wl.arrival_s, 9).tolist(), wl.input_tokens.tolist()))
    assert all(at[(round(t, 9), i)] >= 1 for t, i, _ in rows)


@pytest.mark.parametrize("scale, how", [
    (0.5, "(each row kept with probability 0.5)"),
    (2.5, "(2 whole copies, each row kept with probability 0.5 in one more copy; the copies "
          "after the first shifted by uniform offsets and wrapped around the replayed span)")])
def test_rate_scale_says_how_many_requests_it_replays_of_the_traces_rows(scale, how):
    # rows thinned out (or copied) by rate_scale were not said, unlike every other row a
    # replay leaves out or changes; the rows inside the horizon counted from the file here
    horizon = 600.0
    inside = sum(t < horizon for t in _azure_seconds(AZURE_CODE))
    res = sim.run(_replay(AZURE_CODE, "azure") + [f"horizon_s={horizon:g}",
                                                  f"tenants.chat.arrival.trace.rate_scale={scale}"])
    want = (f"tenant chat: arrival.trace.rate_scale {scale:g} replays {len(res.requests):,} "
            f"requests where the trace gives {inside:,} over the horizon {how}")
    assert want in res.notes, res.notes
    assert (len(res.requests) < inside) == (scale < 1)
    plain = sim.run(_replay(AZURE_CODE, "azure") + [f"horizon_s={horizon:g}"])
    assert len(plain.requests) == inside and not any("rate_scale" in n for n in plain.notes)


@pytest.mark.parametrize("weibull,shape", [(True, 0.3), (False, 0.05)])
def test_a_servegen_window_gets_its_measured_rate_however_bursty(weibull, shape):
    # a window's renewal process starts in equilibrium, so its expected count is rate x
    # length exactly; a first arrival at a uniform fraction of an ordinary gap adds about
    # cv^2 / 2 (renewal theory: 14.6 for Weibull 0.3, 10 for Gamma 0.05, against 60 here)
    from sim.rng import stream
    from sim.workload.background import _renewal
    rng = stream(7, "test/servegen-window")
    rate, span, reps = 0.1, 600.0, 4000
    counts = np.array([_renewal(weibull, shape, rate, span, rng).size for _ in range(reps)])
    se = counts.std() / np.sqrt(reps)
    assert abs(counts.mean() - rate * span) < 4 * se, (counts.mean(), se)


def test_same_seed_same_files_and_a_new_seed_moves_only_the_shifted_copies(tmp_path):
    import hashlib

    def run(seed, folder):
        res = sim.run(_lengths_as_recorded(AZURE_CODE, "azure") + [
            "horizon_s=300", f"seed={seed}", "tenants.chat.arrival.trace.rate_scale=1.5",
            "output.plots=false"],
            output_dir=str(tmp_path / folder))
        digest = {f: hashlib.sha256((tmp_path / folder / f).read_bytes()).hexdigest()
                  for f in ("requests.parquet", "summary.csv")}
        return res, digest

    a, da = run(0, "a")
    _, db = run(0, "b")
    c, _ = run(1, "c")
    assert da == db
    # the trace's own copy is every row before the horizon at its recorded time, whatever
    # the seed; the thinned, shifted half copy is what the seed draws
    own = {(round(t, 9), i) for t, i, _ in _rows(AZURE_CODE) if t < 300}
    for res in (a, c):
        got = set(zip(np.round(res.requests["arrival_s"], 9).tolist(),
                      res.requests["input_tokens"].tolist()))
        assert own <= got
    extra = [set(zip(np.round(r.requests["arrival_s"], 9).tolist(), r.requests["input_tokens"].tolist()))
             - own for r in (a, c)]
    assert extra[0] and extra[1] and extra[0] != extra[1]
