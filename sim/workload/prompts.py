"""One tenant's requests as prompts built from shared parts: their lengths and prefix segments.

A prompt is, in order, ``[system prompt][documents][history][user text]``
(``tenants.<t>.prefix``, see :class:`sim.config.PrefixConfig`):

* **system prompt**: one segment of ``system_tokens``, the same on every request;
* **documents** (RAG): ``docs.per_request`` documents of ``docs.tokens`` drawn, each
  independently, from a pool of ``docs.count`` with Zipf popularity (stream
  ``prefix/docs/<tenant>``); a session draws its documents once, for all its turns;
* **sessions**: a session has a geometric number of turns with mean
  ``sessions.turns_mean`` (stream ``sessions/turns/<tenant>``). With an open arrival
  process (synthetic or a trace), arrivals are session starts, and turn k+1 arrives an
  exponential think time (``sessions/think/<tenant>``) after turn k *arrived* (open loop:
  every setup sees the same arrivals; if turn k has not finished by then, its answer is
  just not cached yet); turns after the horizon are not generated. With closed-loop
  clients (``arrival.kind: closed``), each client runs sessions one after another: turn
  k+1 is sent that think time after turn k *ends*, a new session ``arrival.think_s``
  after the previous one's last turn ends; ``requests_per_client`` counts turns, so a
  client's last session is cut at its budget (:func:`closed_sessions`). Turn k's prompt
  carries ``u1 a1 ... u(k-1) a(k-1) uk``: each user text u and answer a is a segment, a's
  length being that turn's output; a turn's ``out_key`` is its answer's key.
* **trace blocks**: a replayed Mooncake request's ``hash_ids`` (512-token blocks, the last
  partial), after the system prompt and documents. When its input length is not replayed
  (``input.kind`` other than ``trace``) or was changed, its blocks are cut to the length.

The length config ``input`` draws the user text (``input/<tenant>``, per request or turn);
the prompt's length is the sum of the parts, and the context policy
(``workload.overlength``) applies to that final length; a clipped prompt keeps its leading
segments. A tenant without any of these draws exactly what :func:`request_lengths` did
before, and has no segments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from sim.rng import stream
from sim.workload.lengths import (
    Lengths,
    answer_lengths,
    draw_lengths,
    fit_context,
    request_lengths,
)
from sim.workload.prefixes import Prefixes, Sources, ranges, source_key, truncate
from sim.workload.traces import MAX_TOKENS, MOONCAKE_BLOCK


@dataclass
class TenantRequests:
    """One tenant's requests in its own order (per request, or sessions one after another)."""

    times: np.ndarray  # arrival times (NaN: closed loop)
    lengths: Lengths
    prefixes: Prefixes | None  # None: no segments
    # closed-loop sessions: each request's delay after its client's previous one ends
    # (None: the caller draws the tenant's think times, if any)
    think: np.ndarray | None = None


def sessions_on(tc) -> bool:
    return float(tc.prefix.sessions.turns_mean) > 1


def generated(tc) -> bool:
    """Whether the tenant's prompts have a generated shared part."""
    pc = tc.prefix
    return int(pc.system_tokens) > 0 or int(pc.docs.count) > 0 or sessions_on(tc)


def trace_prefix_note(name: str, tc, rows: int, requests: int, blocks: int = 0) -> list[str]:
    """What a trace tenant's ``prefix`` adds to the rows it replays (tokens on every prompt,
    sessions' further turns): said, as the recorded lengths and row count no longer hold;
    ``blocks``: how many of the rows carry prompt blocks (``hash_ids``), which sessions
    replace by their own history (until December 2026 unsaid: a Mooncake replay with sessions cached nothing
    of the blocks its rows share)."""
    if str(tc.arrival.kind) != "trace" or not generated(tc):
        return []
    pc, what = tc.prefix, []
    parts = [f"a {int(pc.system_tokens):,}-token system prompt (prefix.system_tokens)"] * (
        int(pc.system_tokens) > 0)
    if int(pc.docs.count) > 0:
        parts.append(f"{int(pc.docs.per_request)} shared document(s) of {int(pc.docs.tokens):,} "
                     "tokens (prefix.docs)")
    if parts:
        side = "recorded" if str(tc.input.kind) == "trace" else "drawn"
        what.append(f"each prompt is its {side} length plus {' and '.join(parts)}")
    if sessions_on(tc):
        what.append(f"each replayed row starts a session (prefix.sessions, mean "
                    f"{float(pc.sessions.turns_mean):g} turns, a turn's prompt the conversation so "
                    f"far): {requests:,} requests from {rows:,} rows")
        if blocks:
            what.append(f"the prompt blocks (hash_ids) of {blocks:,} of those rows are not used: "
                        "a session's prompts share its own history, not the trace's blocks "
                        "(arrival.trace.prefixes: false reads none)")
    return [f"tenant {name}: " + "; ".join(what)]


def blocks_replayed(tc, trace_rows) -> int:
    """How many replayed rows carry prompt blocks the tenant would take (0: none)."""
    b = trace_blocks(tc, trace_rows)
    if b is None:
        return 0
    trace, rows = b
    return int(np.count_nonzero(trace.hash_ptr[rows + 1] > trace.hash_ptr[rows]))


def trace_blocks(tc, trace_rows):
    """(trace, replayed rows) when the tenant's requests take the trace's prompt blocks."""
    if trace_rows is None or not tc.arrival.trace.prefixes:
        return None
    trace, rows = trace_rows
    return None if trace.hash_ptr is None else (trace, rows)


def tenant_requests(name: str, tc, times: np.ndarray, trace_rows, seed: int, model, policy: str,
                    sources: Sources, horizon: float, in_col=None, out_col=None) -> TenantRequests:
    """Tenant ``name``'s requests at ``times`` (session starts, with sessions); ``trace_rows``:
    (trace, row per request) when replaying a trace; ``in_col``/``out_col``: recorded lengths
    a ``trace`` or column-``empirical`` length config draws from."""
    rng_in, rng_out = stream(seed, f"input/{name}"), stream(seed, f"output/{name}")
    blocks = trace_blocks(tc, trace_rows)
    if not generated(tc) and blocks is None:
        return TenantRequests(times, request_lengths(tc.input, tc.output, times.size, rng_in,
                                                     rng_out, model, policy, in_col, out_col), None)
    pc = tc.prefix
    session = turn = order = think = None
    units = times.size  # what draws documents: requests, or sessions
    if sessions_on(tc):
        sc = pc.sessions
        a = tc.arrival
        if a.kind == "closed":
            session, turn, order = closed_sessions(
                int(a.concurrency), int(a.requests_per_client), float(sc.turns_mean),
                stream(seed, f"sessions/turns/{name}"))
            think = closed_think(turn[order], float(sc.think_s), float(a.think_s),
                                 stream(seed, f"sessions/think/{name}"), stream(seed, f"think/{name}"))
            units = int(session[-1]) + 1
        else:
            times, session, turn = expand_sessions(
                times, float(sc.turns_mean), float(sc.think_s), horizon,
                stream(seed, f"sessions/turns/{name}"), stream(seed, f"sessions/think/{name}"))
        # replayed lengths (``kind: trace``) are per session start: every turn of a session
        # takes its start's recorded lengths as its own text and answer
        if tc.input.kind == "trace" and in_col is not None:
            in_col = in_col[session]
        if tc.output.kind == "trace" and out_col is not None:
            out_col = out_col[session]
        blocks = None  # a session's prompts are its history, not the trace's blocks
    n = times.size
    user, outs, changed, how = draw_lengths(tc.input, tc.output, n, rng_in, rng_out, model, in_col,
                                            out_col)
    user = user.astype(np.int64)
    own = sources(f"tenant:{name}") if generated(tc) else -1
    fkey, flen = fixed_part(name, pc, own, n, units, session, seed)
    if session is not None:
        answer = answer_lengths(outs, model, policy).astype(np.int64)
        vptr, vkey, vlen, history = session_part(own, 1 + int(pc.docs.count), session, turn,
                                                 user, answer)
        out_key = source_key(own, 1 + int(pc.docs.count) + 2 * np.arange(n) + 1)
    else:
        vptr, vkey, vlen = (np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        if blocks is not None:
            vptr, vkey, vlen = block_part(*blocks, sources)
        history = np.zeros(n, np.int64)
        out_key = np.full(n, -1, np.int64)
    ins = flen.sum(axis=1, dtype=np.int64) + history + user
    # beyond the request log's 32-bit columns (no model's context is near): cut, and counted
    changed = changed | (ins > MAX_TOKENS)
    if (ins > MAX_TOKENS).any():
        how[f"prompts above {MAX_TOKENS:,} tokens cut to it"] = int(np.count_nonzero(ins > MAX_TOKENS))
    ln = fit_context(np.minimum(ins, MAX_TOKENS), outs, changed, model, policy, how)
    p = truncate(join(fkey, flen, vptr, vkey, vlen, out_key), ln.ins)
    if order is not None:  # closed-loop sessions: from sessions one after another to clients' order
        ln = Lengths(ln.ins[order], ln.outs[order], ln.over[order], ln.changed,
                     ln.changed_mask[order], ln.how)
        p = p.take(order)
    return TenantRequests(times, ln, p, think)


def expand_sessions(starts: np.ndarray, turns_mean: float, think_s: float, horizon: float,
                    rng_turns, rng_think) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every turn before the horizon of sessions starting at ``starts``: (arrival time,
    session index, turn index from 0), sessions one after another."""
    s = starts.size
    turns = rng_turns.geometric(1.0 / turns_mean, s).astype(np.int64)
    first = np.cumsum(turns) - turns
    session = np.repeat(np.arange(s), turns)
    turn = np.arange(session.size) - first[session]
    gaps = np.zeros(session.size)
    gaps[turn > 0] = rng_think.exponential(think_s, session.size - s)
    cum = np.cumsum(gaps)
    t = starts[session] + (cum - cum[first][session])
    keep = t < horizon  # a session's turns come in order: a kept turn's earlier ones are kept
    return t[keep], session[keep], turn[keep]


def closed_sessions(clients: int, per_client: int, turns_mean: float,
                    rng_turns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sessions of ``clients`` closed-loop clients sending ``per_client`` requests each:
    client c runs sessions one after another, the last cut where its budget ends. Returns
    (session index, turn index from 0) of every request with sessions one after another
    (client 0's first), and ``order``: the request to put at each position of the tenant's
    requests, client c's j-th request at position ``j * clients + c``, the order in which
    the run hands a closed tenant's requests to its clients (sim/simulation/simulate.py)."""
    drawn = rng_turns.geometric(1.0 / turns_mean, (clients, per_client)).astype(np.int64)
    start = np.cumsum(drawn, axis=1) - drawn  # turns of the client's earlier sessions
    kept = start < per_client  # enough sessions to fill the budget (each has a turn or more)
    turns = np.minimum(drawn, per_client - start)[kept]  # row-major: client by client
    first = np.cumsum(turns) - turns
    session = np.repeat(np.arange(turns.size), turns)
    turn = np.arange(session.size) - first[session]
    order = np.arange(clients * per_client).reshape(clients, per_client).T.ravel()
    return session, turn, order


def closed_think(turn: np.ndarray, turn_think_s: float, session_think_s: float, rng_turn,
                 rng_session) -> np.ndarray | None:
    """Each closed-loop request's delay after its client's previous request ends: a later
    turn's an exponential ``turn_think_s`` (``sessions.think_s``), a session's first turn's
    an exponential ``session_think_s`` (``arrival.think_s``; 0: none); None when both are 0."""
    if turn_think_s <= 0 and session_think_s <= 0:
        return None
    think = np.zeros(turn.size)
    if session_think_s > 0:
        think[turn == 0] = rng_session.exponential(session_think_s, int(np.count_nonzero(turn == 0)))
    if turn_think_s > 0:
        think[turn > 0] = rng_turn.exponential(turn_think_s, int(np.count_nonzero(turn > 0)))
    return think


def zipf_pmf(count: int, s: float) -> np.ndarray:
    w = np.arange(1, count + 1, dtype=float) ** -float(s)
    return w / w.sum()


def fixed_part(name: str, pc, own: int, n: int, units: int, session,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The system prompt and documents of ``n`` requests: (keys, lengths), one row each;
    documents are drawn per request or, with sessions, per session (``units`` of them).
    Local ids: 0 the system prompt, 1 + d document d."""
    keys, lens = [], []
    if int(pc.system_tokens) > 0:
        keys.append(np.zeros((n, 1), np.int64))
        lens.append(np.full((n, 1), int(pc.system_tokens), np.int64))
    d = pc.docs
    if int(d.count) > 0:
        drawn = stream(seed, f"prefix/docs/{name}").choice(
            int(d.count), size=(units, int(d.per_request)), p=zipf_pmf(int(d.count), d.zipf_s))
        keys.append(1 + (drawn if session is None else drawn[session]))
        lens.append(np.full((n, int(d.per_request)), int(d.tokens), np.int64))
    if not keys:
        return np.zeros((n, 0), np.int64), np.zeros((n, 0), np.int64)
    return source_key(own, np.hstack(keys)), np.hstack(lens)


def session_part(own: int, base: int, session: np.ndarray, turn: np.ndarray, user: np.ndarray,
                 answer: np.ndarray):
    """Each turn's history and own text: turn k (from 0) of a session carries the 2k + 1
    segments ``u0 a0 ... uk``; turn g's (sessions one after another) user text has local id
    ``base + 2g``, its answer ``base + 2g + 1``. Returns the CSR (ptr, keys, lengths) and
    the tokens of each turn's history."""
    n = session.size
    key = source_key(own, base + np.arange(2 * n))
    length = np.empty(2 * n, np.int64)
    length[0::2], length[1::2] = user, answer
    first = np.arange(n) - turn  # each turn's session's first turn
    ptr, src = ranges(2 * first, 2 * turn + 1)
    both = user + answer
    cum = np.concatenate([[0], np.cumsum(both)])
    history = cum[np.arange(n)] - cum[first]
    return ptr, key[src], length[src], history


def block_part(trace, rows: np.ndarray, sources: Sources):
    """The trace's prompt blocks of the replayed ``rows`` (copies and loops share ids): full
    blocks of 512 tokens, the last one what is left of the recorded input length (read for
    the blocks even when the tenant draws its prompts' lengths)."""
    src_index = sources(f"trace:{os.path.realpath(trace.path)}")  # the file, however named
    _, dense = np.unique(trace.hash_ids, return_inverse=True)  # ids as small local ids
    counts = trace.hash_ptr[rows + 1] - trace.hash_ptr[rows]
    ptr, src = ranges(trace.hash_ptr[rows], counts)
    length = np.full(src.size, MOONCAKE_BLOCK, np.int64)
    last = ptr[1:][counts > 0] - 1
    length[last] = trace.last_block[rows[counts > 0]]
    return ptr, source_key(src_index, dense[src]), length


def join(fkey: np.ndarray, flen: np.ndarray, vptr: np.ndarray, vkey: np.ndarray, vlen: np.ndarray,
         out_key: np.ndarray) -> Prefixes:
    """Each request's fixed segments (a row of ``fkey``) followed by its variable ones."""
    n, fixed = fkey.shape
    vcount = np.diff(vptr)
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(fixed + vcount, out=ptr[1:])
    key = np.empty(int(ptr[-1]), np.int64)
    length = np.empty(int(ptr[-1]), np.int32)
    if fixed:
        pos = (ptr[:-1, None] + np.arange(fixed)).ravel()
        key[pos], length[pos] = fkey.ravel(), flen.ravel()
    vpos = np.repeat(ptr[:-1] + fixed - vptr[:-1], vcount) + np.arange(int(vptr[-1]), dtype=np.int64)
    key[vpos], length[vpos] = vkey, vlen
    return Prefixes(ptr, key, length, out_key)
