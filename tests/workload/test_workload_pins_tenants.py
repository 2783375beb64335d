"""Workload pins from a hand mutation audit (README, Reliability), second part: background
tenants (synthetic Zipf populations, ServeGen client windows), sessions, shared documents
and pipeline tool latencies. Expected values are worked out here; statistical checks use
fixed seeds and four standard errors, stated next to each."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

import sim
from sim.rng import stream
from sim.simulation.build import build_workload
from sim.workload.background import _renewal, busiest_clients, client_arrivals
from sim.workload.pipelines import _latency
from sim.workload.prefixes import SOURCE_SHIFT
from sim.workload.prompts import closed_sessions, closed_think, expand_sessions

BG = ["background.synthetic.models=[llama31-8b]", "background.synthetic.cv=1"]


def bg_times(wl):
    return {name: wl.arrival_s[wl.tenant == i] for i, name in enumerate(wl.tenants)
            if name.startswith("bg/")}


def test_synthetic_tenants_share_the_rate_by_zipf_with_their_own_streams():
    """Three tenants, total 30/s, tenant_zipf_s 1 (model_zipf_s 0 is not theirs): rates
    30 x (1, 1/2, 1/3) / (11/6) = 16.4, 8.2, 5.5 /s; Poisson-like (cv 1) counts over 1,000 s
    have sd sqrt(count). With Zipf 0 the tenants have equal rates but their own streams, so
    different times."""
    wl = build_workload(sim.compose(["horizon_s=1000", "background.synthetic.tenants=3",
                                     "background.synthetic.rate_rps=30",
                                     "background.synthetic.tenant_zipf_s=1",
                                     "background.synthetic.model_zipf_s=0", *BG]))
    got = [t.size for t in bg_times(wl).values()]
    want = [30 * 1000 * w / (11 / 6) for w in (1, 1 / 2, 1 / 3)]
    assert all(abs(g - w) < 4 * math.sqrt(w) for g, w in zip(got, want)), (got, want)
    flat = build_workload(sim.compose(["horizon_s=100", "background.synthetic.tenants=2",
                                       "background.synthetic.tenant_zipf_s=0", *BG]))
    a, b = bg_times(flat).values()
    assert a.size and b.size and not np.array_equal(a[:5], b[:5])


def test_background_scale_thins_nested_subsets():
    """background.scale keeps a request when its own mark is below the scale: the kept set at
    0.3 is inside the one at 0.6, and each keeps about that share (Binomial sd < 0.5 % of
    ~10,000 requests)."""
    base = ["horizon_s=1000", "background.synthetic.tenants=1", "background.synthetic.rate_rps=10", *BG]
    full, hi, lo = (bg_times(build_workload(sim.compose(base + [f"background.scale={s}"])))["bg/syn000"]
                    for s in (1.0, 0.6, 0.3))
    assert set(lo) <= set(hi) <= set(full)
    for part, s in ((hi, 0.6), (lo, 0.3)):
        assert abs(part.size - s * full.size) < 4 * math.sqrt(full.size * s * (1 - s))


def forward_mean_and_sd(m1, m2, m3):
    """Mean and sd of the forward recurrence time of gaps with moments m1, m2, m3."""
    mean = m2 / (2 * m1)
    return mean, math.sqrt(m3 / (3 * m1) - mean ** 2)


def test_servegen_renewals_keep_their_rate_and_start_in_equilibrium():
    """Rate 1/s. Gamma shape 0.25 (scale 4): gap moments k s, k (k + 1) s^2, k (k + 1)(k + 2)
    s^3. Weibull shape 0.5, scale 1 / Gamma(3) = 0.5: moments scale^n Gamma(1 + 2n). The
    first arrival of 4,000 windows has the forward recurrence mean within 4 SE; a 100,000 s
    window holds rate x span arrivals within 4 sd (sd of a renewal count ~ cv sqrt(n))."""
    k, s = 0.25, 4.0
    gamma = (k * s, k * (k + 1) * s ** 2, k * (k + 1) * (k + 2) * s ** 3)
    w = 1.0 / math.gamma(3.0)
    weib = tuple(w ** n * math.gamma(1 + 2 * n) for n in (1, 2, 3))
    for weibull, shape, m in ((False, 0.25, gamma), (True, 0.5, weib)):
        rng = stream(21, f"w{weibull}")
        first = np.array([_renewal(weibull, shape, 1.0, 200.0, rng)[0] for _ in range(4000)])
        mean, sd = forward_mean_and_sd(*m)
        assert abs(first.mean() - mean) < 4 * sd / math.sqrt(4000), (weibull, first.mean(), mean)
        n = _renewal(weibull, shape, 1.0, 100_000.0, rng).size
        cv = math.sqrt(m[1] / m[0] ** 2 - 1)
        assert abs(n - 100_000) < 4 * cv * math.sqrt(100_000), (weibull, n)


def windows(tmp_path, rows):
    p = tmp_path / "w.csv"
    p.write_text("client_id,window_start_s,rate_rps,iat_cv,family,shape,scale\n"
                 + "".join(f"{c},{t},{r},1,Gamma,1,1\n" for c, t, r in rows))
    return str(p)


def test_client_windows_from_start_s_and_the_busiest_clients(tmp_path):
    """Client 1 at 2/s in [0, 600) and 10/s in [600, 1200), replayed from start_s 300 over
    600 s: 300 s of each, at [0, 300) and [300, 600) (Poisson: sd sqrt(600) and sqrt(3000)),
    nothing from the window's part past the horizon. Busiest over [0, 600): clients 7 and 9
    (3/s, tied: by id), then 1 (2/s), then 5 (1/s)."""
    p = windows(tmp_path, [(1, 0, 2), (1, 600, 10), (5, 0, 1), (7, 0, 3), (9, 0, 3)])
    t = client_arrivals(p, 1, 300.0, 1.0, 600.0, stream(4, "c"))
    assert t.min() >= 0 and t.max() < 600.0
    a, b = np.count_nonzero(t < 300), np.count_nonzero(t >= 300)
    assert abs(a - 600) < 4 * math.sqrt(600) and abs(b - 3000) < 4 * math.sqrt(3000)
    assert busiest_clients(p, 0.0, 600.0, 4) == [7, 9, 1, 5]


def test_sessions_have_their_mean_turns_and_think_time():
    """20,000 sessions at t=0, a geometric number of turns with mean 3 (sd sqrt(6) = 2.45:
    SE 0.017), 10 s think times (40,000 gaps: SE 0.05 s); no horizon cut."""
    starts = np.zeros(20_000)
    t, session, turn = expand_sessions(starts, 3.0, 10.0, math.inf, stream(5, "t"), stream(5, "k"))
    turns = np.bincount(session)
    assert abs(turns.mean() - 3.0) < 4 * math.sqrt(6) / math.sqrt(20_000)
    gaps = np.diff(t)[np.diff(session) == 0]
    assert abs(gaps.mean() - 10.0) < 4 * 10.0 / math.sqrt(gaps.size)
    starts = np.flatnonzero(np.diff(session, prepend=-1))
    assert np.all(turn[starts] == 0) and np.all(np.diff(turn)[np.diff(session) == 0] == 1)


def test_closed_clients_fill_their_budget_with_whole_numbered_sessions():
    """50 clients of 5 turns each, sessions of mean 2 turns: each client's sessions are cut
    to its budget of 5 (so 250 requests), numbered 0, 1, ... with no empty session between
    them (a client whose sessions end exactly at its budget starts no further one: an empty
    one would shift every later session's documents), turns counting from 0 in each."""
    session, turn, order = closed_sessions(50, 5, 2.0, stream(7, "cs"))
    assert session.size == 250 and sorted(order.tolist()) == list(range(250))
    assert np.array_equal(np.unique(session), np.arange(session[-1] + 1))
    starts = np.flatnonzero(np.diff(session, prepend=-1))
    assert np.all(turn[starts] == 0) and np.all(np.diff(turn)[np.diff(session) == 0] == 1)
    # client c's requests are positions c * 5 .. c * 5 + 4 of the sessions-in-order layout
    assert np.all(turn[::5] == 0)
    assert order[:3].tolist() == [0, 5, 10]


def test_closed_think_times_come_from_their_own_streams():
    """A session's first turn waits arrival.think_s, drawn from the tenant's ``think/<name>``
    stream as a closed tenant without sessions does; later turns wait sessions.think_s from
    ``sessions/think/<name>``: each the stream's own first draws, in order."""
    turn = np.array([0, 1, 2, 0, 0, 1])
    got = closed_think(turn, 5.0, 2.0, stream(8, "sessions/think/c"), stream(8, "think/c"))
    np.testing.assert_array_equal(got[turn == 0], stream(8, "think/c").exponential(2.0, 3))
    np.testing.assert_array_equal(got[turn > 0], stream(8, "sessions/think/c").exponential(5.0, 3))
    assert closed_think(turn, 0.0, 0.0, None, None) is None


def doc_ids(wl, name):
    p = wl.prefixes.take(np.flatnonzero(wl.tenant == wl.tenants.index(name)))
    return p.key & ((1 << SOURCE_SHIFT) - 1)


def test_documents_follow_zipf_per_tenant():
    """Three documents, zipf_s 1: drawn 6/11, 3/11, 2/11 of the time (local ids 1-3; no system
    prompt), each share within 4 binomial SE of ~6,000 draws. Two tenants with the same
    config draw from their own streams: different documents."""
    cfg = ["horizon_s=1000", "tenants.chat.arrival.rate_rps=6", "tenants.chat.prefix.docs.count=3",
           "tenants.chat.prefix.docs.zipf_s=1", "tenants.chat.prefix.docs.tokens=10",
           "tenants.chat.prefix.system_tokens=0"]
    wl = build_workload(sim.compose(cfg + ["tenants.other={model: llama31-8b}"] + [
        c.replace("tenants.chat.", "tenants.other.") for c in cfg[1:]]))
    ids = doc_ids(wl, "chat")
    for d, p in zip((1, 2, 3), (6 / 11, 3 / 11, 2 / 11)):
        assert abs(np.mean(ids == d) - p) < 4 * math.sqrt(p * (1 - p) / ids.size), d
    other = doc_ids(wl, "other")
    m = min(ids.size, other.size)
    assert not np.array_equal(ids[:m], other[:m])


def test_a_lognormal_tool_latency_has_its_mean_and_cv():
    """Mean 1 s, cv 2: ln X ~ N(-s2 / 2, s2), s2 = ln 5; the sample mean and sd of ln X of
    200,000 draws (SE sigma / sqrt(n) and sigma / sqrt(2 n)) within 4 SE."""
    x = np.log(_latency(SimpleNamespace(kind="lognormal", mean_s=1.0, cv=2.0), 200_000,
                        stream(6, "lat")))
    s2 = math.log(5.0)
    assert abs(x.mean() + s2 / 2) < 4 * math.sqrt(s2 / 200_000)
    assert abs(x.std() - math.sqrt(s2)) < 4 * math.sqrt(s2 / 400_000)


def test_a_background_tenants_note_says_what_was_done_to_its_lengths():
    """A synthetic tenant's prompts capped at 300 tokens (lognormal mean 1,024, CV 1: about
    95 % above): the note counts those cut, in the words a user tenant's note uses, not the
    list of everything that could have been done (until December 2026 a background tenant
    got that list)."""
    wl = build_workload(sim.compose(["horizon_s=100", "background.synthetic.tenants=1",
                                     "background.synthetic.rate_rps=5",
                                     "background.synthetic.input.max=300", *BG]))
    cut = int(wl.changed["bg/syn000"])
    assert cut > 0 and wl.changed_how["bg/syn000"] == {"prompts above input.max 300 cut to it": cut}
    said = [n for n in wl.length_notes("reject") if n.startswith("tenant bg/syn000")]
    assert said and "prompts above input.max 300 cut to it" in said[0], said
    assert "raised to one token" not in said[0]
