"""Token-length distributions for prompts and outputs (integers, clipped to [min, max]).

* ``fixed``: always ``mean``;
* ``lognormal``: given mean and coefficient of variation (sigma^2 = ln(1 + cv^2));
* ``geometric``: on 1, 2, ... with the given mean;
* ``empirical``: drawn from a PMF file (``value,probability``, e.g. ServeGen's token PMFs)
  or, with ``column``, resampled from a trace's recorded lengths;
* ``trace``: the lengths recorded with each replayed trace request (handled by the
  workload builder, since they follow the arrivals).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.filecache import by_content
from sim.paths import resolve
from sim.textfiles import csv_rows, read_text
from sim.workload.traces import MAX_TOKENS

PMF_SUM_TOLERANCE = 1e-3  # rounding of the published values, not a different distribution


@by_content(maxsize=16)
def load_pmf(path: str) -> tuple[np.ndarray, np.ndarray]:
    header, lines, rows = csv_rows(read_text(path, "PMF file"), path)
    df = pd.DataFrame(rows, columns=header, dtype=str)
    if df.shape[1] != 2 or "probability" not in df.columns:
        raise InputError(f"expected two columns <value>,probability; found {list(df.columns)}",
                         path=path, line=header.line)
    vcol = [c for c in df.columns if c != "probability"][0]
    v = pd.to_numeric(df[vcol].str.strip(), errors="coerce").astype(float)
    pr = pd.to_numeric(df["probability"].str.strip(), errors="coerce").astype(float)
    bad = (~np.isfinite(v) | ~np.isfinite(pr) | (pr < 0) | (v < 0) | (v != np.floor(v))
           | (v > MAX_TOKENS))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{vcol} must be an integer in [0, {MAX_TOKENS}] and probability a "
                         f"finite number >= 0", path=path, line=lines[i])
    twice = v.duplicated().to_numpy()
    if twice.any():  # drawing would add the two rows' probabilities: refused, not merged
        i = int(np.flatnonzero(twice)[0])
        first = int(np.flatnonzero((v == v.iloc[i]).to_numpy())[0])
        raise InputError(f"token count {int(v.iloc[i])} given twice (first at line "
                         f"{lines[first]})", path=path, line=lines[i])
    prob = pr.to_numpy(float)
    total = float(prob.sum())
    if abs(total - 1.0) > PMF_SUM_TOLERANCE:
        rows_at = f" over lines {lines[0]}-{lines[-1]}" if lines else " (no rows)"
        raise InputError(f"probabilities sum to {total:.6g}{rows_at}, not 1 (within "
                         f"{PMF_SUM_TOLERANCE:g})", path=path)
    # the rounding left in a published PMF (ServeGen's sum to 1 + 2e-7) is spread evenly
    return v.to_numpy().astype(np.int64), prob / total


def _draw(cfg, n: int, rng: np.random.Generator, trace_column: np.ndarray | None) -> np.ndarray:
    kind = str(cfg.kind)
    if kind == "fixed":
        return np.full(n, float(cfg.mean))
    if kind == "lognormal":
        s2 = np.log1p(cfg.cv ** 2)
        return rng.lognormal(np.log(cfg.mean) - s2 / 2.0, np.sqrt(s2), n)
    if kind == "geometric":
        return rng.geometric(1.0 / cfg.mean, n).astype(float)
    if kind == "empirical" and trace_column is not None:
        return rng.choice(trace_column, n).astype(float)
    if kind == "empirical":
        values, prob = load_pmf(resolve(str(cfg.path)))
        return rng.choice(values, n, p=prob).astype(float)
    return trace_column.astype(float)  # trace


def bounds(cfg) -> tuple[int, int]:
    """``[min, max]`` of a length config (no ``max``: no cap below the type's limit)."""
    return int(cfg.min), int(cfg.max) if cfg.max is not None else MAX_TOKENS


def sample_lengths(cfg, n: int, rng: np.random.Generator,
                   trace_column: np.ndarray | None = None) -> np.ndarray:
    """``n`` lengths from the (checked) length config ``cfg``, rounded and kept within its
    ``[min, max]``; ``trace_column``: the recorded lengths a ``trace`` or column-``empirical``
    distribution takes."""
    lo, hi = bounds(cfg)
    return np.clip(np.rint(_draw(cfg, n, rng, trace_column)), lo, hi).astype(np.int32)


@dataclass
class Lengths:
    """One tenant's (or stage's) prompt and output lengths, as they will be served."""

    ins: np.ndarray  # int32
    outs: np.ndarray  # int32
    over: np.ndarray  # bool: prompt + output beyond the model's context (kept whole: rejected)
    changed: int  # requests whose lengths differ from the draw (bounds, one token, context)
    changed_mask: np.ndarray | None = None  # bool per request: those requests
    # what was changed, how often: "prompts above max 16,000 cut to it" -> 96 (the note's words)
    how: dict | None = None


CHUNK = 1 << 16  # requests bounded and fitted at a time by request_lengths (memory only)


def request_lengths(input_cfg, output_cfg, n: int, rng_in, rng_out, model, policy: str,
                    in_col: np.ndarray | None = None, out_col: np.ndarray | None = None,
                    chunk: int = CHUNK, counted: np.ndarray | None = None) -> Lengths:
    """Prompt and output lengths of ``n`` requests to ``model``: :func:`draw_lengths`, then
    :func:`fit_context`. Each side is drawn whole (one call to its generator: the same
    numbers whatever the chunk) and then bounded and fitted ``chunk`` requests at a time
    into the int32 columns, so a large tenant (2.6 million requests in a week of the
    platform benchmark) holds its two draws and the columns, not float copies of both.
    ``counted`` (bool per request): only those requests' changes are counted in ``how``
    (a thinned background tenant's kept requests)."""
    raw_in, raw_out = _draws(input_cfg, output_cfg, n, rng_in, rng_out, model, in_col, out_col)
    ins, outs = np.empty(n, np.int32), np.empty(n, np.int32)
    over, changed = np.empty(n, bool), np.empty(n, bool)
    how: dict = {}
    for a in range(0, n, chunk):
        s = slice(a, a + chunk)
        mine = None if counted is None else counted[s]
        i, o, c = _bounded_lengths(raw_in[s], None if raw_out is None else raw_out[s],
                                   input_cfg, output_cfg, None if out_col is None else out_col[s],
                                   how, mine)
        part = fit_context(i, o, c, model, policy, how, mine)
        ins[s], outs[s], over[s], changed[s], how = part.ins, part.outs, part.over, \
            part.changed_mask, part.how
    return Lengths(ins, outs, over, int(np.count_nonzero(changed)), changed, _said(how))


def _draws(input_cfg, output_cfg, n: int, rng_in, rng_out, model, in_col, out_col):
    """The raw prompt and output draws (no output for a model that produces none)."""
    raw_out = None if model.prefill_only else _draw(output_cfg, n, rng_out, out_col)
    return _draw(input_cfg, n, rng_in, in_col), raw_out


def _said(how: dict) -> dict:
    """The changes made, without those counted zero times (each kind is entered when first
    checked, so the order is the checks' order whatever the chunks)."""
    return {w: k for w, k in how.items() if k}


def _count(mask: np.ndarray, counted: np.ndarray | None) -> int:
    """How many of ``mask`` are set, among ``counted`` if given."""
    return int(np.count_nonzero(mask if counted is None else mask & counted))


def _bounded(raw: np.ndarray, cfg, side: str, how: dict, counted=None) -> np.ndarray:
    """``raw`` brought within ``cfg``'s ``[min, max]`` and to at least one token, each change
    added in ``how`` to the count under the words a note gives it."""
    lo, hi = bounds(cfg)
    out = np.clip(raw, lo, hi)
    np.maximum(out, 1, out=out)
    key = "input" if side == "prompt" else "output"
    above = f"{side}s above {key}.max {hi:,} cut to it"
    low = (f"{side}s of 0 tokens raised to one" if max(lo, 1) == 1
           else f"{side}s below {key}.min {lo:,} raised to it")
    how[above] = how.get(above, 0) + _count(raw > hi, counted)
    how[low] = how.get(low, 0) + _count(raw < max(lo, 1), counted)
    return out


def draw_lengths(input_cfg, output_cfg, n: int, rng_in, rng_out, model,
                 in_col: np.ndarray | None = None, out_col: np.ndarray | None = None):
    """Drawn prompt and output lengths (float arrays) and which were changed. A length
    outside its config's ``[min, max]`` is brought inside it; a prompt needs a token and an
    LLM's output one too (embeddings and rerankers produce none)."""
    how: dict = {}
    raw_in, raw_out = _draws(input_cfg, output_cfg, n, rng_in, rng_out, model, in_col, out_col)
    ins, outs, changed = _bounded_lengths(raw_in, raw_out, input_cfg, output_cfg, out_col, how)
    return ins, outs, changed, _said(how)


def _bounded_lengths(raw_in, raw_out, input_cfg, output_cfg, out_col, how: dict, counted=None):
    """Rounded and bounded prompt and output lengths, and which changed (``raw_out`` None:
    the model produces no tokens; a trace's recorded outputs are then counted as not
    served)."""
    r = np.rint(raw_in)
    ins = _bounded(r, input_cfg, "prompt", how, counted)
    changed = ins != r
    if raw_out is None:
        outs = np.zeros(r.size)
        if str(output_cfg.kind) == "trace" and out_col is not None:  # recorded, not served
            dropped = np.asarray(out_col) > 0
            changed |= dropped
            w = "recorded outputs not served (the model produces no tokens)"
            how[w] = how.get(w, 0) + _count(dropped, counted)
        return ins, outs, changed
    r = np.rint(raw_out)
    outs = _bounded(r, output_cfg, "output", how, counted)
    changed |= outs != r
    return ins, outs, changed


def fit_context(ins: np.ndarray, outs: np.ndarray, changed: np.ndarray, model,
                policy: str, how: dict | None = None, counted=None) -> Lengths:
    """The lengths as served: a request beyond the model's context is kept whole
    (``policy`` ``reject`` or ``error``: the run rejects it, or the build layer refuses the
    config) or cut to fit (``clip``: the output to the context less one token, then the
    prompt to what is left, see :func:`answer_lengths`). Every change is counted (added to
    ``how``'s count, in a copy)."""
    n = ins.size
    ctx = model.max_context
    over = ins + outs > ctx
    if policy == "clip" and over.any():
        outs = np.where(over, np.minimum(outs, ctx - 1), outs)
        ins = np.where(over, np.minimum(ins, ctx - outs), ins)
        changed = changed | over
        how = dict(how or {})
        w = f"requests cut to the context {ctx:,}"
        how[w] = how.get(w, 0) + _count(over, counted)
        over = np.zeros(n, bool)
    return Lengths(ins.astype(np.int32), outs.astype(np.int32), over,
                   int(np.count_nonzero(changed)), np.asarray(changed, bool), how)


def answer_lengths(outs: np.ndarray, model, policy: str) -> np.ndarray:
    """The output lengths :func:`fit_context` will serve, whatever the prompt: ``clip`` cuts
    an output to the context less one token (it is then over the context with any prompt),
    and otherwise outputs are kept."""
    if policy == "clip":
        return np.minimum(outs, model.max_context - 1)
    return outs


def changed_over_context(changed: np.ndarray | None, over: np.ndarray) -> int:
    """Requests whose lengths were changed (``changed``) and that still exceed the context
    (``over``), so are rejected: the length note counts them."""
    return 0 if changed is None else int(np.count_nonzero(changed & over))
