"""Shared prompt prefixes: Mooncake blocks, system prompts, documents, sessions.

Each check is against something computed independently of sim/workload/prompts.py: the
Mooncake JSONL read line by line, the named streams drawn again by hand, the Zipf PMF, and
published figures. Statistical tolerances are three standard errors, stated next to them.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import TRACES, later_wins

import sim
from sim.rng import stream
from sim.simulation.build import build_workload
from sim.workload import Workload
from sim.workload import arrivals as arr
from sim.workload.prefixes import Prefixes, source_key, truncate, unbounded_hits
from sim.workload.prompts import expand_sessions, zipf_pmf
from sim.workload.traces import read_mooncake

MOONCAKE = TRACES / "mooncake_fast25"
BLOCK = 512  # Mooncake's hash_ids block (traces README)
# whole traces (they span ~59 min and ~17 min), lengths as recorded
REPLAY = ["horizon_s=3700", "tenants.chat.arrival.kind=trace",
          "tenants.chat.arrival.trace.format=mooncake", "tenants.chat.input.kind=trace",
          "tenants.chat.output.kind=trace", "tenants.chat.input.max=null",
          "tenants.chat.output.max=null"]


def reuse_from_jsonl(path) -> tuple[int, int]:
    """Cached tokens and input tokens of an unbounded cache, straight from the file: a line's
    leading blocks found among the hash_id prefixes of earlier lines, at most its input,
    floored to blocks, leaving its last prompt token to compute."""
    seen: set[tuple] = set()
    hit = total = 0
    for line in open(path):
        o = json.loads(line)
        h, n_in = o["hash_ids"], o["input_length"]
        k = 0
        while k < len(h) and tuple(h[: k + 1]) in seen:
            k += 1
        matched = min(k * BLOCK, n_in)
        hit += min(matched // BLOCK, (n_in - 1) // BLOCK) * BLOCK
        total += n_in
        seen.update(tuple(h[: j + 1]) for j in range(len(h)))
    return hit, total


# Mooncake (Qin et al., FAST'25) Table 2: cache ratio of the conversation and synthetic
# traces with an unbounded cache; ours differ by their last-token and whole-block rules
@pytest.mark.parametrize("name,published", [("conversation", 0.40), ("synthetic", 0.66)])
def test_mooncake_unbounded_reuse_equals_the_file(name, published):
    path = MOONCAKE / f"{name}_trace.jsonl"
    wl = build_workload(sim.compose(REPLAY + [f"tenants.chat.arrival.trace.path={path}"]))
    hits = unbounded_hits(wl, BLOCK)
    want_hit, want_total = reuse_from_jsonl(path)
    assert int(wl.input_tokens.astype(np.int64).sum()) == want_total
    assert int(hits.sum()) == want_hit
    frac = want_hit / want_total
    print(f"{name}: unbounded reuse {frac:.2%} (published {published:.0%})")
    assert abs(frac - published) < 0.03  # measured 37.3 % and 65.0 %


def test_trace_blocks_follow_the_lines_and_their_copies(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text('{"timestamp": 0, "input_length": 1000, "output_length": 5, "hash_ids": [7, 9]}\n'
                 '{"timestamp": 10, "input_length": 600, "output_length": 5, "hash_ids": [7, 3]}\n'
                 '{"timestamp": 20, "input_length": 100, "output_length": 5}\n')
    base = ["horizon_s=100", "tenants.chat.arrival.kind=trace", f"tenants.chat.arrival.trace.path={p}",
            "tenants.chat.arrival.trace.format=mooncake", "tenants.chat.output.kind=trace"]
    wl = build_workload(sim.compose(base + ["tenants.chat.input.kind=trace"]))
    segs = [wl.prefixes.segments(i) for i in range(3)]
    k7, k9, k3 = segs[0][0][0], segs[0][0][1], segs[1][0][1]
    assert segs == [((k7, k9), (512, 488)), ((k7, k3), (512, 88)), ((), ())]
    assert len({k7, k9, k3}) == 3 and (wl.prefixes.out_key == -1).all()
    # lengths not replayed: the blocks are cut to the drawn prompt
    wl = build_workload(sim.compose(base + ["tenants.chat.input={kind: fixed, mean: 700}"]))
    assert [wl.prefixes.segments(i)[1] for i in range(3)] == [(512, 188), (512, 88), ()]
    # rate_scale 2: each line twice, with the same blocks
    wl = build_workload(sim.compose(base + ["tenants.chat.input.kind=trace",
                                            "tenants.chat.arrival.trace.rate_scale=2"]))
    got = sorted(wl.prefixes.segments(i) for i in range(len(wl)))
    assert got == sorted(segs * 2)
    # turned off
    wl = build_workload(sim.compose(base + ["tenants.chat.input.kind=trace",
                                            "tenants.chat.arrival.trace.prefixes=false"]))
    assert wl.prefixes is None


def test_one_trace_file_is_one_source_for_two_tenants():
    path = MOONCAKE / "synthetic_trace.jsonl"
    other = (f"tenants.b={{model: llama31-8b, arrival: {{kind: trace, trace: {{path: '{path}', "
             "format: mooncake}}, input: {kind: trace}, output: {kind: trace}}")
    wl = build_workload(sim.compose(REPLAY + [f"tenants.chat.arrival.trace.path={path}", other]))
    first_b, first_chat = (np.flatnonzero(wl.tenant == wl.tenants.index(t))[0] for t in ("b", "chat"))
    assert wl.prefixes.segments(int(first_b)) == wl.prefixes.segments(int(first_chat))


def test_system_prompt_on_every_request_and_the_block_rules():
    wl = build_workload(sim.compose(["horizon_s=60", "tenants.chat.prefix.system_tokens=1000",
                                     "tenants.chat.input={kind: fixed, mean: 100}"]))
    p = wl.prefixes
    assert len(wl) > 100 and (wl.input_tokens == 1100).all()
    assert all(p.segments(i) == ((0,), (1000,)) for i in range(len(wl)))
    # 1000 cached tokens: 3 blocks of 256 (whole blocks only); none of 2048
    assert unbounded_hits(wl, 256).tolist() == [0] + [768] * (len(wl) - 1)
    assert not unbounded_hits(wl, 2048).any()


def test_a_full_hit_leaves_the_last_token_and_answers_are_cached():
    # by hand: A = [x(512)] + answer 100; B = [x(512)]; C = [x, ans(100), y(50)]
    p = Prefixes(np.array([0, 1, 2, 5]), np.array([1, 1, 1, 8, 4]), np.array([512, 512, 512, 100, 50],
                 np.int32), np.array([8, -1, -1]))
    wl = Workload(["t"], ["m"], 10.0, np.zeros(3), np.zeros(3, np.int16), np.zeros(3, np.int16),
                  np.array([512, 512, 700], np.int32), np.array([100, 1, 1], np.int32), prefixes=p)
    # B: 512 matched, but one token is recomputed, so one block of 256, not two; C: 612
    assert unbounded_hits(wl, 256).tolist() == [0, 256, 512]
    assert unbounded_hits(wl, 4).tolist() == [0, 508, 612]


def test_take_concat_empty_truncate():
    p = Prefixes(np.array([0, 2, 2, 3]), np.array([5, 6, 7]), np.array([10, 20, 30], np.int32),
                 np.array([1, -1, 2]))
    q = Prefixes.concat([p, Prefixes.empty(2)]).take([4, 2, 0, 3, 1])
    assert [q.segments(i) for i in range(5)] == [((), ()), ((7,), (30,)), ((5, 6), (10, 20)),
                                                 ((), ()), ((), ())]
    assert q.out_key.tolist() == [-1, 2, 1, -1, -1]
    t = truncate(p, np.array([15, 1, 30]))
    assert [t.segments(i) for i in range(3)] == [((5, 6), (10, 5)), ((), ()), ((7,), (30,))]
    assert t.out_key.tolist() == [-1, -1, 2]  # a cut prompt's answer no longer follows it


def test_rows_are_the_segments_in_blocks():
    # what the run's driver sends: the same tuples as segments(), whatever the block size
    rng = np.random.default_rng(1)
    n = 500
    ptr = np.concatenate([[0], np.cumsum(rng.integers(0, 5, n))])
    p = Prefixes(ptr, rng.integers(0, 10**12, ptr[-1]), rng.integers(1, 600, ptr[-1]).astype(np.int32),
                 rng.integers(-1, 100, n))
    order = rng.permutation(n)[:333]
    for block in (1, 7, 1024):
        segs, out_keys = p.rows(order, block)
        assert list(segs) == [p.segments(i) if p.segments(i)[0] else None for i in order]
        assert out_keys == p.out_key[order].tolist()


def test_rows_share_one_object_per_distinct_prompt_prefix():
    # rows that differ only in a length, only in their count (one a prefix of the other), or
    # in a key of 0 against the padding: each its own object; equal rows one object
    rows = [((5, 6), (10, 20)), ((5, 6), (10, 21)), ((5,), (10,)), ((5, 0), (10, 20)), ((0,), (1,)),
            ((), ())]
    pick = [0, 1, 2, 3, 4, 5, 0, 2, 4, 1, 5, 3, 0]
    count = [len(rows[i][0]) for i in pick]
    p = Prefixes(np.concatenate([[0], np.cumsum(count)]),
                 np.array([k for i in pick for k in rows[i][0]], np.int64),
                 np.array([n for i in pick for n in rows[i][1]], np.int32), np.full(len(pick), -1))
    for block in (4, 1024):
        segs = list(p.rows(np.arange(len(pick)), block)[0])
        assert segs == [rows[i] if rows[i][0] else None for i in pick]
        for a in range(len(pick)):
            for b in range(a):
                same_block = a // block == b // block
                if same_block and segs[a] is not None:
                    assert (segs[a] is segs[b]) == (pick[a] == pick[b])


SESSION = ["horizon_s=120", "tenants.chat.arrival.rate_rps=0.1", "tenants.chat.prefix.system_tokens=7",
           "tenants.chat.prefix.sessions.turns_mean=3", "tenants.chat.prefix.sessions.think_s=10",
           "tenants.chat.input={kind: fixed, mean: 10}", "tenants.chat.output={kind: fixed, mean: 5}"]


def test_sessions_exact_turns_segments_and_answers():
    wl = build_workload(sim.compose(SESSION + ["seed=3"]))
    # the same draws by hand: session starts, turns, think gaps, from the named streams
    starts = arr.poisson(0.1, 120.0, stream(3, "arrivals/chat"))
    turns = stream(3, "sessions/turns/chat").geometric(1 / 3, starts.size)
    gaps = iter(stream(3, "sessions/think/chat").exponential(10.0, int(turns.sum()) - starts.size))
    expect = []  # (time, segment lengths, local ids) per turn, sessions one after another
    g = 0  # kept turns so far
    for s, n in zip(starts, turns):
        t, hist_ids, hist_len = s, [], []
        for k in range(n):
            if k:
                t += next(gaps)
            if t < 120:
                expect.append((t, [7] + hist_len + [10], [0] + hist_ids + [1 + 2 * g], 2 + 2 * g))
                hist_ids += [1 + 2 * g, 2 + 2 * g]
                hist_len += [10, 5]
                g += 1
    assert starts.size >= 5 and max(turns) >= 3 and len(expect) == len(wl)
    expect.sort(key=lambda e: e[0])
    for i, (t, lens, ids, answer) in enumerate(expect):
        keys, got = wl.prefixes.segments(i)
        assert wl.arrival_s[i] == pytest.approx(t, abs=1e-9)
        assert list(got) == lens and list(keys) == ids and wl.prefixes.out_key[i] == answer
        assert wl.input_tokens[i] == sum(lens) and wl.output_tokens[i] == 5
    # a turn's prompt holds its previous turn's answer: the second turns hit all but u2
    hits = unbounded_hits(wl, 1)
    later = [i for i, e in enumerate(expect) if len(e[1]) > 2]
    assert all(hits[i] == wl.input_tokens[i] - 10 for i in later)


def test_session_turn_counts_and_think_gaps():
    m, think, n = 2.5, 30.0, 20_000
    t, session, turn = expand_sessions(np.zeros(n), m, think, math.inf, stream(1, "a"), stream(1, "b"))
    counts = np.bincount(session, minlength=n)
    # geometric on {1, 2, ...} with mean m: sd sqrt(m^2 - m) ~ 1.94, se over 20,000 ~ 0.014
    assert abs(counts.mean() - m) < 3 * math.sqrt(m * m - m) / math.sqrt(n)
    gaps = np.diff(t)[np.diff(session) == 0]
    # exponential gaps: sd = mean, se over ~30,000 ~ 0.17 s
    assert abs(gaps.mean() - think) < 3 * think / math.sqrt(gaps.size)
    assert (turn[np.r_[True, np.diff(session) > 0]] == 0).all()
    # turns after the horizon are not generated
    t2, s2, _ = expand_sessions(np.zeros(n), m, think, 45.0, stream(1, "a"), stream(1, "b"))
    assert t2.max() < 45 and t2.size == np.count_nonzero(t < 45)


LONG = ["horizon_s=100", "tenants.chat.arrival.rate_rps=0.05", "catalog.models.llama31-8b.max_context=300",
        "tenants.chat.prefix.sessions.turns_mean=6", "tenants.chat.prefix.sessions.think_s=0",
        "tenants.chat.input={kind: fixed, mean: 50}", "tenants.chat.output={kind: fixed, mean: 50}"]


def test_long_histories_meet_the_context_policy():
    # think 0: every turn at its session's start; turn k's prompt + output = 100 k tokens
    rej = build_workload(sim.compose(LONG + ["workload.overlength=reject"]))
    k = rej.prefixes.counts() // 2 + 1  # 2k - 1 segments
    assert (rej.input_tokens == 100 * k - 50).all() and rej.over_counts["chat"] == (k >= 4).sum() > 0
    assert (rej.over_context == (k >= 4)).all()
    clip = build_workload(sim.compose(LONG + ["workload.overlength=clip"]))
    assert np.array_equal(clip.arrival_s, rej.arrival_s)
    assert (clip.input_tokens == np.minimum(100 * k - 50, 250)).all()
    assert clip.changed["chat"] == (k >= 4).sum() and clip.over_context is None
    assert (clip.prefixes.covered() == clip.input_tokens).all()
    assert (clip.prefixes.out_key[k >= 4] == -1).all() and (clip.prefixes.out_key[k < 4] >= 0).all()
    with pytest.raises(sim.InputError, match="tenants.chat.input"):
        build_workload(sim.compose(LONG + ["workload.overlength=error"]))


def test_closed_loop_clients_run_sessions_turn_by_turn():
    clients, per, m = 3, 7, 2.5
    wl = build_workload(sim.compose([
        "tenants.chat.arrival.kind=closed", f"tenants.chat.arrival.concurrency={clients}",
        f"tenants.chat.arrival.requests_per_client={per}", "tenants.chat.arrival.think_s=4",
        f"tenants.chat.prefix.sessions.turns_mean={m}", "tenants.chat.prefix.sessions.think_s=9",
        "tenants.chat.prefix.system_tokens=7", "tenants.chat.input={kind: fixed, mean: 10}",
        "tenants.chat.output={kind: fixed, mean: 5}", "seed=2"]))
    assert len(wl) == clients * per and np.isnan(wl.arrival_s).all()  # the budget counts turns
    # by hand: client c's sessions take its row of turn counts until its budget is spent;
    # the run gives client c the requests c, c + clients, ... (sim/simulation/simulate.py)
    drawn = stream(2, "sessions/turns/chat").geometric(1 / m, (clients, per))
    g = 0  # turns so far, clients one after another (local ids 1 + 2g, 2 + 2g)
    turn_of = np.empty(clients * per, int)
    for c in range(clients):
        sent = 0
        for t in drawn[c]:
            hist_ids, hist_len = [], []
            for k in range(min(t, per - sent)):
                i = (sent + k) * clients + c
                keys, lens = wl.prefixes.segments(i)
                assert list(keys) == [0] + hist_ids + [1 + 2 * g] and wl.prefixes.out_key[i] == 2 + 2 * g
                assert list(lens) == [7] + hist_len + [10] and wl.input_tokens[i] == sum(lens)
                hist_ids += [1 + 2 * g, 2 + 2 * g]
                hist_len += [10, 5]
                turn_of[i] = k
                g += 1
            sent += min(t, per - sent)
            if sent == per:
                break
    assert g == clients * per and (turn_of > 0).sum() > 5
    # think times: a later turn waits sessions.think_s, a session's first arrival.think_s
    later = stream(2, "sessions/think/chat").exponential(9.0, (turn_of > 0).sum())
    first = stream(2, "think/chat").exponential(4.0, (turn_of == 0).sum())
    np.testing.assert_array_equal(wl.think_s[turn_of > 0], later)
    np.testing.assert_array_equal(wl.think_s[turn_of == 0], first)


def test_sessions_on_a_trace_start_at_its_requests_with_their_lengths():
    trace = read_mooncake(MOONCAKE / "conversation_trace.jsonl")
    ov = REPLAY + [f"tenants.chat.arrival.trace.path={MOONCAKE / 'conversation_trace.jsonl'}",
                   "horizon_s=300", "tenants.chat.prefix.sessions.turns_mean=3",
                   "tenants.chat.prefix.sessions.think_s=20", "workload.overlength=clip"]
    wl = build_workload(sim.compose(later_wins(ov)))
    turn0 = wl.prefixes.counts() == 1  # a session's first turn has only its own text
    starts = trace.t_s[trace.t_s < 300]
    assert np.array_equal(np.sort(wl.arrival_s[turn0]), starts)
    # the first turn's prompt is its start's recorded input (short ones are not clipped)
    order = np.argsort(wl.arrival_s[turn0], kind="stable")
    rec = trace.input_tokens[trace.t_s < 300]
    fits = rec + trace.output_tokens[trace.t_s < 300] <= 131072
    assert np.array_equal(wl.input_tokens[turn0][order][fits], rec[fits])
    assert (~turn0).sum() > 0.5 * turn0.sum()  # later turns exist (mean 3 turns)


def test_absurd_sessions_are_refused_by_the_budget():
    with pytest.raises(sim.InputError, match=r"tenants\.chat\.prefix\.sessions\.turns_mean"):
        build_workload(sim.compose(["tenants.chat.prefix.sessions.turns_mean=1e7"]))


def test_documents_follow_their_zipf_popularity():
    wl = build_workload(sim.compose(["horizon_s=500", "tenants.chat.arrival.rate_rps=20",
                                     "tenants.chat.prefix.docs={count: 8, tokens: 300, zipf_s: 1.2, per_request: 3}"]))
    p = wl.prefixes
    assert (p.counts() == 3).all() and (p.length == 300).all()
    assert (wl.input_tokens - 900 >= 1).all()
    n = p.key.size  # ~30,000 draws
    freq = np.bincount(p.key - 1, minlength=8)
    expect = n * zipf_pmf(8, 1.2)
    chi2 = float(((freq - expect) ** 2 / expect).sum())
    assert chi2 < 26.1  # chi-square, 7 degrees of freedom: P(> 26.1) = 0.0005
    assert (np.abs(freq - expect) < 3 * np.sqrt(expect)).all()


def test_same_seed_same_prefixes_and_tenants_stay_independent():
    a = ["horizon_s=100", "tenants.chat.prefix.system_tokens=50",
         "tenants.chat.prefix.sessions.turns_mean=2"]
    w1, w2 = build_workload(sim.compose(a)), build_workload(sim.compose(a))
    for col in ("ptr", "key", "length", "out_key"):
        assert np.array_equal(getattr(w1.prefixes, col), getattr(w2.prefixes, col))
    plain = build_workload(sim.compose(["horizon_s=100"]))
    assert plain.prefixes is None
    more = "tenants.other={model: llama31-8b, arrival: {rate_rps: 2}}"
    docs = ("tenants.other={model: llama31-8b, arrival: {rate_rps: 2}, prefix: {docs: {count: 5}, "
            "sessions: {turns_mean: 3}}}")
    for base, wl in ((["horizon_s=100"], plain), (a, w1)):
        w3 = build_workload(sim.compose(base + [more]))
        w4 = build_workload(sim.compose(base + [docs]))
        mine = [np.flatnonzero(w.tenant == w.tenants.index("chat")) for w in (wl, w3, w4)]
        for col in ("arrival_s", "input_tokens", "output_tokens"):
            ref = getattr(wl, col)[mine[0]]
            assert np.array_equal(getattr(w3, col)[mine[1]], ref)
            assert np.array_equal(getattr(w4, col)[mine[2]], ref)
        if wl.prefixes is not None:  # chat's source is numbered first in both
            assert np.array_equal(w4.prefixes.take(mine[2]).key, wl.prefixes.take(mine[0]).key)
    other = np.flatnonzero(w4.tenant == w4.tenants.index("other"))
    assert not np.isin(w4.prefixes.take(other).key, w4.prefixes.take(mine[2]).key).any()
    assert (w4.prefixes.take(other).key >> 40 == 1).all() and source_key(1, 0) == 1 << 40


def test_stage_and_background_requests_have_no_segments():
    solo = "tenants.solo={model: llama31-8b, arrival: {rate_rps: 1}, prefix: {system_tokens: 64}}"
    wl = build_workload(sim.compose(["experiment=compound", "horizon_s=1200", solo]))
    assert len(wl.prefixes) == len(wl) and wl.pipelines is not None
    n = wl.prefixes.counts()
    assert (n[wl.tenant == wl.tenants.index("solo")] == 1).all()
    assert not n[wl.tenant != wl.tenants.index("solo")].any()
    wl = build_workload(sim.compose(["horizon_s=60", "tenants.chat.prefix.system_tokens=64",
                                     "background.synthetic.tenants=2"]))
    n = wl.prefixes.counts()
    assert wl.background_tenants == 2 and not n[~wl.user_mask()].any() and (n[wl.user_mask()] == 1).all()


@pytest.mark.parametrize("hash_ids,match", [
    ('"abc"', "hash_ids must be a list of integers"),
    ("null", "hash_ids must be a list of integers"),
    ("[1, -2]", r"hash_ids must be integers in \[0, 2\*\*63 - 1\], got -2"),
    (f"[1, {2**63}]", r"hash_ids must be integers in \[0, 2\*\*63 - 1\]"),
    ("[1, 2.0]", "hash_ids must be a list of integers"),
    ("[1, true]", "hash_ids must be a list of integers"),
    ("[1]", "hash_ids has 1 blocks of 512 tokens but input_length is 600"),
    ("[1, 2, 3]", "hash_ids has 3 blocks of 512 tokens but input_length is 600"),
])
def test_hostile_hash_ids_name_the_file_and_line(tmp_path, hash_ids, match):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"timestamp": 0, "input_length": 600, "output_length": 3, "hash_ids": [1, 2]}\n'
                 f'{{"timestamp": 1, "input_length": 600, "output_length": 3, "hash_ids": {hash_ids}}}\n')
    with pytest.raises(sim.InputError, match=r"bad\.jsonl:2: " + match):
        read_mooncake(p)


def test_hash_ids_are_optional_per_line(tmp_path):
    p = tmp_path / "ok.jsonl"
    p.write_text('{"timestamp": 0, "input_length": 600, "output_length": 3, "hash_ids": [4, 2]}\n'
                 '{"timestamp": 1, "input_length": 600, "output_length": 3, "hash_ids": []}\n'
                 '{"timestamp": 2, "input_length": 5, "output_length": 3}\n')
    tr = read_mooncake(p)
    assert tr.hash_ptr.tolist() == [0, 2, 2, 2] and tr.hash_ids.tolist() == [4, 2]
    p.write_text('{"timestamp": 0, "input_length": 600, "output_length": 3}\n')
    assert read_mooncake(p).hash_ptr is None


def test_requests_with_the_same_segments_are_grouped_exactly():
    """``_same_rows`` against a plain reading: each request's group holds its own segments,
    and there are as many groups as distinct (keys, lengths) pairs (counts 0 to 3, keys and
    lengths from small sets so that many repeat)."""
    from sim.workload.prefixes import _same_rows
    rng = np.random.default_rng(1)
    for _ in range(300):
        counts = rng.integers(0, 4, size=int(rng.integers(0, 40)))
        ptr = (np.r_[0, np.cumsum(counts)] + 5).astype(np.int64)  # an offset, as a block's
        key = rng.integers(-2, 3, size=int(ptr[-1])).astype(np.int64)
        length = rng.integers(1, 3, size=int(ptr[-1])).astype(np.int32)
        first, inv = _same_rows(ptr, key, length)
        rows = [(tuple(key[a:b]), tuple(length[a:b])) for a, b in zip(ptr[:-1], ptr[1:])]
        assert [rows[first[g]] for g in inv] == rows
        assert len(first) == len(set(rows))


def test_one_long_prompt_among_short_ones_takes_memory_of_its_segments_only():
    """A block of 1,024 requests, one of 20,000 segments: the grouping's tables hold the
    segments, not every request padded to the longest (that was 1,024 x 40,001 int64s, 328
    MB; a Mooncake line of 300,000 hash_ids took 1.8 GB). Bound: 32 MB, 100 times the
    block's 20,000 + 3 x 1,023 segments as keys and lengths."""
    import tracemalloc

    from sim.workload.prefixes import _same_rows
    ptr = np.r_[0, 20_000 + 3 * np.arange(1024)].astype(np.int64)
    key = np.arange(int(ptr[-1]), dtype=np.int64) % 7
    length = np.ones(int(ptr[-1]), np.int32)
    tracemalloc.start()
    try:
        first, inv = _same_rows(ptr, key, length)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32e6 and len(inv) == 1024 and len(first) == len(set(inv))
