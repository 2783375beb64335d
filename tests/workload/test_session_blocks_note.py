"""A trace tenant with sessions takes its rows' arrival times and lengths, but its prompts are
each session's own history: the rows' prompt blocks (Mooncake ``hash_ids``) are not used.
Until December 2026 this went unsaid: a replay whose rows share a 512-token block cached
nothing of it once sessions were on."""

from __future__ import annotations

import sim

ROWS = 6


def _run(tmp_path, *extra):
    p = tmp_path / "t.jsonl"
    # every row's first block is the same (id 7): a shared 512-token prefix
    p.write_text("".join(f'{{"timestamp": {i * 500}, "input_length": 1000, "output_length": 20, '
                         f'"hash_ids": [7, {10 + i}]}}\n' for i in range(ROWS)))
    return sim.run(["horizon_s=10", "setups=[dedicated]",
                    "tenants={chat: {model: llama31-8b, input: {kind: trace}, output: {kind: trace}, "
                    f"arrival: {{kind: trace, trace: {{path: {p}, format: mooncake}}}}}}}}", *extra])


def _said(res):
    return [n for n in res.notes if "hash_ids" in n]


def test_blocks_are_used_without_sessions(tmp_path):
    res = _run(tmp_path)
    cached = res.requests.sort_values("request_id")["cached_tokens"].tolist()
    assert cached[0] == 0 and all(c == 512 for c in cached[1:])  # the shared block, from the file
    assert _said(res) == []


def test_sessions_say_the_blocks_they_do_not_use(tmp_path):
    res = _run(tmp_path, "tenants.chat.prefix.sessions.turns_mean=2")
    first = res.requests[res.requests["input_tokens"] == 1000]  # each session's first turn
    assert len(first) == ROWS and (first["cached_tokens"] == 0).all()  # the blocks: unused
    (note,) = _said(res)
    assert note.startswith("tenant chat: each replayed row starts a session")
    assert note.endswith(f"the prompt blocks (hash_ids) of {ROWS} of those rows are not used: a "
                         "session's prompts share its own history, not the trace's blocks "
                         "(arrival.trace.prefixes: false reads none)")


def test_no_blocks_read_nothing_said(tmp_path):
    res = _run(tmp_path, "tenants.chat.prefix.sessions.turns_mean=2",
               "tenants.chat.arrival.trace.prefixes=false")
    assert _said(res) == []
