"""Multi-turn sessions sent by closed-loop clients: each client sends a session's turns one
after another, the next a think time after the previous one ends, its prompt the whole
conversation so far; then its next session. Checked on the run's request log."""

import pytest
from helpers import later_wins

import sim
from sim.rng import stream
from sim.simulation.build import build_workload

BASE = [
    "setups=[dedicated]", "tenants.chat.model=llama31-8b", "tenants.chat.arrival.kind=closed",
    "tenants.chat.input={kind: fixed, mean: 300, max: 300}",
    "tenants.chat.output={kind: fixed, mean: 40, max: 40}",
    "dedicated.replicas.llama31-8b=1", "drain_s=100000", "horizon_s=1", "seed=5",
    "output.plots=false", "output.report=false",
]
BLOCK = 16  # deployments' default block_size (sim/config/deployments.py)


def test_one_client_one_two_turn_session_exactly():
    m, think = 1000.0, 12.0
    # the session's turn count drawn as the workload draws it: at least the 2 turns sent
    assert stream(5, "sessions/turns/chat").geometric(1 / m, (1, 2))[0, 0] >= 2
    res = sim.run(BASE + ["tenants.chat.arrival.concurrency=1",
                          "tenants.chat.arrival.requests_per_client=2",
                          f"tenants.chat.prefix.sessions.turns_mean={m}",
                          f"tenants.chat.prefix.sessions.think_s={think}"])
    r = res.requests.sort_values("request_id")
    assert len(r) == 2 and (r["outcome"] == "completed").all()
    first, second = r.iloc[0], r.iloc[1]
    assert first["arrival_s"] == 0.0 and first["input_tokens"] == 300
    # turn 2's prompt: turn 1's prompt, its answer, then the new text
    assert second["input_tokens"] == 300 + 40 + 300
    # sent exactly one think time (the tenant's only later-turn draw) after turn 1 ended
    gap = stream(5, "sessions/think/chat").exponential(think, 1)[0]
    assert second["arrival_s"] - first["finish_s"] == pytest.approx(gap, abs=1e-9)
    # the history is cached: its whole blocks (the answer's last token, never fed back, has
    # no KV: 339 tokens cached, 21 blocks of 16, as the 340-token history's whole blocks)
    assert first["cached_tokens"] == 0
    assert second["cached_tokens"] == (300 + 40) // BLOCK * BLOCK == (300 + 40 - 1) // BLOCK * BLOCK


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_clients_never_interleave_a_sessions_turns(engine):
    clients, per = 4, 9
    ov = later_wins(BASE, [f"engine={engine}", f"tenants.chat.arrival.concurrency={clients}",
                 f"tenants.chat.arrival.requests_per_client={per}",
                 "tenants.chat.prefix.sessions.turns_mean=3", "tenants.chat.prefix.sessions.think_s=0",
                 "tenants.chat.prefix.system_tokens=50",
                 "tenants.chat.input={kind: lognormal, mean: 200, cv: 1.0, max: 2000}"])
    wl = build_workload(sim.compose(ov))
    res = sim.run(ov)
    r = res.requests.sort_values("request_id")
    # every request ends exactly once, completed
    assert len(r) == clients * per and r["request_id"].tolist() == list(range(clients * per))
    assert (r["outcome"] == "completed").all()
    arrival, finish = r["arrival_s"].to_numpy(), r["finish_s"].to_numpy()
    p = wl.prefixes
    answer_of = {int(k): i for i, k in enumerate(p.out_key.tolist()) if k >= 0}
    later = 0
    for j in range(len(wl)):
        keys, lens = p.segments(j)
        prev = [answer_of[k] for k in keys if k in answer_of]
        if not prev:
            continue  # a session's first turn
        i = prev[-1]  # the previous turn: the last answer its prompt carries
        later += 1
        # the same client, its request just before: nobody else's turn came in between
        assert j - i == clients
        # its prompt is the previous turn's prompt, its answer and new text
        assert keys[:-1] == p.segments(i)[0] + (p.out_key[i],)
        assert lens[:-1] == p.segments(i)[1] + (wl.output_tokens[i],)
        assert wl.input_tokens[j] == wl.input_tokens[i] + wl.output_tokens[i] + lens[-1]
        # sent when the previous turn ended (no think time), never before
        assert arrival[j] == finish[i]
        # with the previous turn's prompt and answer cached, its hit is their whole blocks
        assert r["cached_tokens"].iloc[j] == (wl.input_tokens[i] + wl.output_tokens[i] - 1) // BLOCK * BLOCK
    assert later > clients * per / 3
