"""Background tenants: the rest of a shared platform, generated with the workload.

Two sources, both optional (``background.synthetic.tenants`` and
``background.servegen.clients`` / ``client_ids`` are 0 / empty by default):
* **synthetic**: ``tenants`` tenants named ``bg/syn000`` ...; tenant ``k`` (rank k+1) gets
  a share of ``rate_rps`` proportional to ``(k+1)^-tenant_zipf_s`` and calls one model drawn
  with probability proportional to ``rank^-model_zipf_s`` over ``models`` (popularity in
  list order); its arrivals are a Gamma renewal process with coefficient of variation
  ``cv`` (bursty when > 1).
* **servegen**: client windows of the ServeGen characterisation data (Xiang et al., arXiv
  2505.09999): per client and 600 s window, a rate and a fitted Gamma or Weibull
  inter-arrival distribution (scipy shape, scale). Each chosen client is a tenant
  ``bg/sg<id>``; in each of its non-idle windows it is replayed as a renewal process with
  the fitted family and shape, its scale set so that the mean gap is ``1 / (rate x
  rate_scale)`` (the fits' own means do not always match the measured rate; the rate is the
  measured quantity). Each window starts in equilibrium: its first arrival is a uniform
  fraction of a length-biased gap, so its expected count is rate x length however bursty
  the window (a fraction of an ordinary gap adds about cv^2 / 2 arrivals a window).

Every tenant draws from its own named streams (``arrivals/bg/<name>`` ...), disjoint from
the user's, so the user's requests are the same with and without background load.
``background.scale`` thins every background tenant by a per-request uniform mark from its
own stream (kept when mark < scale): the kept set at a lower scale is a subset of the kept
set at a higher one, so load levels are nested.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.config.rules import MAX_MAGNITUDE
from sim.errors import InputError
from sim.filecache import by_content
from sim.paths import resolve
from sim.rng import stream
from sim.textfiles import is_file, read_text, unique_header
from sim.workload import arrivals as arr
from sim.workload.lengths import request_lengths

WINDOW_S = 600.0  # ServeGen's window length
# The smallest inter-arrival shape drawn (assumption): below it a renewal process's gaps are
# almost all zero or astronomically long (a Gamma of shape 1e-300, or a Weibull whose scale
# needs Gamma(1 + 1/shape) beyond float range) and a window cannot be filled in bounded time.
# The ServeGen files in ../shared/traces go down to 0.0067 (Gamma) and 0.15 (Weibull).
MIN_SHAPE = {"Gamma": 1e-3, "Weibull": 0.1}


@dataclass
class BackgroundTenant:
    name: str
    model: str
    arrival_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    over: np.ndarray  # bool: beyond the model's context (rejected on arrival)
    changed: int  # requests whose lengths differ from the draw
    changed_mask: np.ndarray | None = None  # bool per request: those requests
    how: dict | None = None  # what was changed, how often (Lengths.how)


def enabled(cfg) -> bool:
    bg = cfg.background
    return int(bg.synthetic.tenants) > 0 or int(bg.servegen.clients) > 0 or len(bg.servegen.client_ids) > 0


def _tenant(name, model, t, lc, seed, catalog, policy, scale: float = 1.0) -> BackgroundTenant:
    """A background tenant of arrivals ``t``, thinned to ``scale`` by a per-request mark from
    its own stream. Lengths are drawn for every arrival (a kept request's are the same at
    any scale) and their changes counted over the kept ones only: until December 2026 the
    note's breakdown counted the unthinned tenant's (448 prompts cut among 45 changed)."""
    kept = (stream(seed, f"background/thin/{name}").uniform(size=t.size) < scale
            if scale < 1 else None)
    ln = request_lengths(lc.input, lc.output, t.size, stream(seed, f"input/{name}"),
                         stream(seed, f"output/{name}"), catalog.models[model], policy,
                         counted=kept)
    if kept is None:
        return BackgroundTenant(name, model, t, ln.ins, ln.outs, ln.over, ln.changed,
                                ln.changed_mask, ln.how)
    changed = ln.changed_mask[kept]
    return BackgroundTenant(name, model, t[kept], ln.ins[kept], ln.outs[kept], ln.over[kept],
                            int(np.count_nonzero(changed)), changed, ln.how)


def _zipf(n: int, s: float) -> np.ndarray:
    w = np.arange(1, n + 1, dtype=float) ** -float(s)
    return w / w.sum()


def synthetic(cfg, catalog, seed: int, horizon: float, user_models: list[str],
              policy: str = "reject", done=None) -> list:
    sc = cfg.background.synthetic
    n = int(sc.tenants)
    if n <= 0:
        return []
    models = list(sc.models) or list(user_models)
    pick = stream(seed, "background/synthetic/models")
    model_of = pick.choice(len(models), size=n, p=_zipf(len(models), sc.model_zipf_s))
    rates = sc.rate_rps * _zipf(n, sc.tenant_zipf_s)
    curve = (arr.RateCurve.sinusoid(float(sc.period_s), float(sc.peak_to_trough), 0.0, horizon)
             if float(sc.peak_to_trough) > 1.0 else None)
    span = curve.u_at(horizon) if curve is not None else horizon
    out = []
    for k in range(n):
        name = f"bg/syn{k:03d}"
        model = models[int(model_of[k])]
        t = arr.gamma_renewal(float(rates[k]), float(sc.cv), span, stream(seed, f"arrivals/{name}"))
        if curve is not None:
            t = curve.warp(t)
        out.append(_done(done, _tenant(name, model, t, sc, seed, catalog, policy,
                                       float(cfg.background.scale))))
    return out


def _done(done, bt: BackgroundTenant):
    return bt if done is None else done(bt)


def _row_lines(text: str) -> list[int]:
    """The line each row starts on, the header's (1) first, as a CSV reader reads them: a
    quoted field may span lines (until December 2026 each row was taken as one line, so a
    bad row after a quoted line break was named a line early)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, prev = [], 0
    try:
        for _ in reader:
            starts.append(prev + 1)
            prev = reader.line_num
    except csv.Error:  # the rows before it (pandas read the file: not expected here)
        pass
    return starts


def _bad_row(text: str) -> tuple[int | None, str]:
    """The first row pandas cannot read and why: ``(line, reason)``, the line None when no
    row is at fault by itself (until December 2026 every such file was "cannot read ServeGen
    client windows (ParserError)", naming no line)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    prev, width = 0, None
    try:
        for row in reader:
            start, prev = prev + 1, reader.line_num
            if width is None:
                width = len(row)
            elif row and len(row) != width:
                return start, f"{len(row)} fields, the header names {width}"
    except csv.Error as e:
        return prev + 1, f"not a CSV row ({e})"
    return None, ""


def _drop_blank_rows(df: pd.DataFrame, starts: list[int]) -> tuple[pd.DataFrame, np.ndarray]:
    """``df`` without its blank rows (an empty line, spaces only, or a spreadsheet's row of
    empty fields: all missing, or the first field only spaces), and each kept row's line in
    the file (``starts``: :func:`_row_lines`; the header is line 1)."""
    blank = df.iloc[:, 1:].isna().all(axis=1).to_numpy().copy()
    if blank.any():
        at = np.flatnonzero(blank)
        first = df.iloc[at, 0]
        blank[at] = (first.isna() | first.astype(str).str.strip().eq("")).to_numpy()
    rows = (np.asarray(starts[1:]) if len(starts) == len(df) + 1
            else np.arange(len(df)) + 2)  # a reader disagreeing with pandas: one line a row
    return df[~blank].reset_index(drop=True), rows[~blank]


def interval_text(lo: float, hi: float) -> str:
    """``[lo, hi) s`` written so that its two ends read apart: in ``%g`` unless they read alike
    there, then each value's shortest exact form (``%g`` wrote the hour from start_s=1e12 as
    ``[1e+12, 1e+12)``, an interval that looks empty)."""
    a, b = f"{lo:g}", f"{hi:g}"
    if a == b and lo != hi:
        a, b = repr(float(lo)), repr(float(hi))
    return f"[{a}, {b}) s"


def silent_client(cid, wstart, rate, client: int, lo: float, hi: float) -> str | None:
    """Why ``client`` would send no request in ``[lo, hi)`` s (no window of positive rate
    overlaps it), with the span its windows cover, or None when it sends some. A client
    asked for by id and silent over the run made a tenant of no request, unsaid, until
    December 2026."""
    mine = cid == client
    active = mine & (wstart + WINDOW_S > lo) & (wstart < hi) & (rate > 0)
    if active.any():
        return None
    busy = mine & (rate > 0)
    span = (f"its windows with requests span {float(wstart[busy].min()):g} to "
            f"{float(wstart[busy].max()) + WINDOW_S:g} s" if busy.any()
            else "every window of it has rate 0")
    return f"client {client} sends no request in the {hi - lo:g} s from {lo:g} s ({span}): set start_s"


_LEAD = re.compile(r"(?:[ \t]*(?:\r\n|\r|\n))*")  # blank lines before a header

# ids are read as floats: from 2**53 two ids could read as one, from 2**63 they wrap around
MAX_CLIENT_ID = 2**53

@by_content(maxsize=4)
def load_client_windows(path: str):
    if not is_file(path):  # a FIFO would block the open below
        raise InputError("ServeGen client-windows file not found", path=path)
    # gzip told by its bytes, a byte-order mark, bad bytes or UTF-16 said with their line, as
    # every reader here (pandas said "cannot read ServeGen client windows (EOFError)" or
    # "(UnicodeDecodeError)", and "(EmptyDataError)" for blank lines before the header)
    text = read_text(path, "ServeGen client-windows file")
    lead = _LEAD.match(text)
    text, lead = text[lead.end():], len(re.findall(r"\r\n|\r|\n", lead.group()))
    if not text.strip():
        raise InputError("empty file: no header", path=path, line=1)
    try:  # blank lines kept, so that each row's line is known
        df = pd.read_csv(io.StringIO(text), skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        line, why = _bad_row(text)
        if line is None:
            raise InputError(f"cannot read ServeGen client windows ({type(e).__name__})",
                             path=path) from None
        raise InputError(why, path=path, line=line + lead) from None
    # pandas renames a column given twice (rate_rps.1): the header as written
    unique_header(pd.read_csv(io.StringIO(text), header=None, nrows=1, dtype=str).iloc[0]
                  .tolist() if len(df.columns) else [], path, 1 + lead)
    need = ["client_id", "window_start_s", "rate_rps", "family", "shape", "scale"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        head = [str(c).strip() for c in df.columns]
        raw = len(head) == 6 and head[3] in ("Gamma", "Weibull")  # ServeGen's chunk-<i>-trace.csv
        raise InputError(f"missing column(s) {missing}; header is {head}" + (
            " (a row of ServeGen's raw chunk-<i>-trace.csv, which has no header and one client: "
            "join the chunks into one CSV, each row led by its client id, under the header "
            "client_id,window_start_s,rate_rps,iat_cv,family,shape,scale)" if raw else ""),
            path=path, line=1 + lead)
    df, line = _drop_blank_rows(df, _row_lines(text))
    line += lead  # the blank lines before the header
    if df.empty:  # was "no active client in [0, horizon)", naming start_s
        raise InputError("a header but no windows", path=path, line=2 + lead)
    # a column of True/False alone is read as booleans, which to_numeric takes for 1 and 0
    num = df[["client_id", "window_start_s", "rate_rps", "shape", "scale"]].apply(
        lambda c: pd.to_numeric(c, errors="coerce") if c.dtype != bool else c * np.nan).astype(float)
    bad = (~np.isfinite(num).all(axis=1) | (num["rate_rps"] < 0) | (num["shape"] <= 0)
           | (num["scale"] <= 0) | (num["window_start_s"] < 0) | (num["client_id"] < 0))
    bad |= ~df["family"].isin(["Gamma", "Weibull"])
    # a rate of 1e300 was refused by the memory budget, naming horizon_s, not this file
    bad |= (num[["window_start_s", "rate_rps", "shape", "scale"]] > MAX_MAGNITUDE).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"bad row (non-numeric or non-finite value, negative rate, time or id, "
                         f"non-positive shape/scale, a value beyond {MAX_MAGNITUDE:g}, or a family "
                         f"other than Gamma/Weibull)", path=path, line=int(line[i]))
    weibull = (df["family"] == "Weibull").to_numpy()
    low = num["shape"].to_numpy(float) < np.where(weibull, MIN_SHAPE["Weibull"], MIN_SHAPE["Gamma"])
    if low.any():
        i = int(np.flatnonzero(low)[0])
        raise InputError(f"shape {num['shape'].iloc[i]:g} is below {MIN_SHAPE[df['family'].iloc[i]]:g}"
                         f" for {df['family'].iloc[i]}: gaps that skewed cannot be drawn (see "
                         "MIN_SHAPE in sim/workload/background.py)", path=path, line=int(line[i]))
    ids, col = num["client_id"].to_numpy(float), df["client_id"]
    exact = col.to_numpy() if col.dtype.kind in "iu" else ids  # integers as written, if read so
    frac = (ids % 1 != 0) | (exact >= MAX_CLIENT_ID)
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise InputError(f"client_id must be a whole number in [0, 2**53), got "
                         f"{df['client_id'].iloc[i]}", path=path, line=int(line[i]))
    twice = num.duplicated(["client_id", "window_start_s"]).to_numpy()
    if twice.any():
        i = int(np.flatnonzero(twice)[0])
        raise InputError(f"client {int(num['client_id'].iloc[i])}'s window at "
                         f"{num['window_start_s'].iloc[i]:g} s is given twice (its rates would "
                         "add up)", path=path, line=int(line[i]))
    order = num.sort_values(["client_id", "window_start_s"], kind="stable").index.to_numpy()
    ids, starts = num["client_id"].to_numpy()[order], num["window_start_s"].to_numpy()[order]
    near = (ids[1:] == ids[:-1]) & (starts[1:] - starts[:-1] < WINDOW_S)
    if near.any():  # two windows of one client overlap: their rates would add up there
        a, b = order[np.flatnonzero(near)[0]], order[np.flatnonzero(near)[0] + 1]
        raise InputError(f"client {int(ids[np.flatnonzero(near)[0]])}'s windows at "
                         f"{num['window_start_s'].iloc[a]:g} s (line {int(line[a])}) and "
                         f"{num['window_start_s'].iloc[b]:g} s overlap (each lasts {WINDOW_S:g} "
                         "s; their rates would add up)", path=path, line=int(line[b]))
    return (num["client_id"].to_numpy(np.int64), num["window_start_s"].to_numpy(float),
            num["rate_rps"].to_numpy(float), (df["family"] == "Weibull").to_numpy(),
            num["shape"].to_numpy(float))


def _renewal(family_weibull: bool, shape: float, rate: float, span: float, rng) -> np.ndarray:
    """Arrival offsets in [0, span) of a renewal process with the given family and shape,
    scaled to mean gap 1 / rate, started in equilibrium: the first arrival is a uniform
    fraction of a length-biased gap (density x f(x) / mean: Gamma(shape + 1) for a Gamma;
    for a Weibull, scale x G^(1 / shape) with G ~ Gamma(1 + 1 / shape))."""
    if family_weibull:
        scale = 1.0 / (rate * math.gamma(1.0 + 1.0 / shape))
        draw = lambda k: scale * rng.weibull(shape, k)  # noqa: E731
        u = rng.uniform()
        first = u * scale * float(rng.gamma(1.0 + 1.0 / shape)) ** (1.0 / shape)
    else:
        scale = 1.0 / (rate * shape)
        draw = lambda k: rng.gamma(shape, scale, k)  # noqa: E731
        u = rng.uniform()
        first = u * float(rng.gamma(shape + 1.0, scale))
    chunks = [np.array([first])]
    total = first
    expect = int(rate * span * 1.2) + 16
    while total < span:
        c = total + np.cumsum(draw(expect))
        chunks.append(c)
        total = float(c[-1])
    t = np.concatenate(chunks)
    return t[t < span]


def busiest_clients(path: str, start_s: float, horizon: float, n: int) -> list[int]:
    """The ``n`` clients of a client-windows file with the most expected requests over
    ``[start_s, start_s + horizon)`` (rate x overlap of each window), ties by id."""
    cid, wstart, rate, _, _ = load_client_windows(path)
    lo, hi = float(start_s), float(start_s) + horizon
    sel = np.flatnonzero((wstart + WINDOW_S > lo) & (wstart < hi) & (rate > 0))
    ids, inv = np.unique(cid[sel], return_inverse=True)
    lo_c = np.maximum(wstart[sel], lo)
    hi_c = np.minimum(wstart[sel] + WINDOW_S, hi)
    load = np.bincount(inv, weights=rate[sel] * (hi_c - lo_c), minlength=ids.size)
    order = np.lexsort((ids, -load))
    return ids[order[: int(n)]].tolist()


def client_arrivals(path: str, client: int, start_s: float, rate_scale: float, horizon: float,
                    rng) -> np.ndarray:
    """One client's arrivals over ``[0, horizon)``: its windows in ``[start_s, start_s +
    horizon)`` in order, each a renewal process (:func:`_renewal`) at ``rate x rate_scale``."""
    cid, wstart, rate, weib, shape = load_client_windows(path)
    lo, hi = float(start_s), float(start_s) + horizon
    rows = np.flatnonzero((cid == client) & (wstart + WINDOW_S > lo) & (wstart < hi) & (rate > 0))
    rows = rows[np.argsort(wstart[rows], kind="stable")]
    parts = []
    for r in rows.tolist():
        a = max(wstart[r], lo)
        b = min(wstart[r] + WINDOW_S, hi)
        off = _renewal(bool(weib[r]), float(shape[r]), float(rate[r]) * rate_scale, b - a, rng)
        parts.append(off + (a - lo))
    return np.concatenate(parts) if parts else np.empty(0)


def servegen(cfg, catalog, seed: int, horizon: float, user_models: list[str],
             policy: str = "reject", done=None) -> list:
    sg = cfg.background.servegen
    want_ids = [int(c) for c in sg.client_ids]
    if int(sg.clients) <= 0 and not want_ids:
        return []
    models = list(sg.models) or list(user_models)
    path = resolve(str(sg.path))
    chosen = want_ids or busiest_clients(path, float(sg.start_s), horizon, int(sg.clients))
    out = []
    for j, c in enumerate(chosen):
        name = f"bg/sg{c}"
        model = models[j % len(models)]
        t = client_arrivals(path, c, float(sg.start_s), sg.rate_scale, horizon,
                            stream(seed, f"arrivals/{name}"))
        out.append(_done(done, _tenant(name, model, t, sg, seed, catalog, policy,
                                       float(cfg.background.scale))))
    return out


def models_past_clients(cfg) -> str | None:
    """Why ``background.servegen.models`` is not read whole: the chosen clients take its
    models in turn, so entries past the clients' count call none (until December 2026
    unsaid); None when every entry is taken (or the count is not known before the run:
    the busiest clients may be fewer than ``clients``, a shortfall not said here)."""
    sg = cfg.background.servegen
    n = len(sg.client_ids) or int(sg.clients)
    models = list(sg.models)
    if not n or len(models) <= n:
        return None
    extra = models[n:]
    return (f"only its first {n} entr{'y is' if n == 1 else 'ies are'} read, one per client "
            f"chosen ({n}): {', '.join(map(str, extra))} take{'s' * (len(extra) == 1)} no client")


def user_models_notes(cfg, made) -> list[str]:
    """A line per background source whose empty ``models`` gave its tenants the user's models
    (``made``: the background's ``(tenant, model)`` pairs; until December 2026 unsaid)."""
    out = []
    for key, prefix in (("synthetic", "bg/syn"), ("servegen", "bg/sg")):
        took = [m for name, m in made if name.startswith(prefix)]
        if took and not list(getattr(cfg.background, key).models):
            out.append(f"background.{key}.models is empty, which means the user tenants' models: "
                       f"its {len(took):,} tenant(s) call {', '.join(dict.fromkeys(took))}")
    return out


def generate(cfg, catalog, seed: int, horizon: float, user_models: list[str],
             policy: str = "reject", keep=None) -> list:
    """Every background tenant, thinned to ``background.scale``; each passed to ``keep`` as
    it is made (what it returns is listed: e.g. the tenant with its columns written away)."""
    if not enabled(cfg):
        return []
    tenants = synthetic(cfg, catalog, seed, horizon, user_models, policy, keep)
    tenants += servegen(cfg, catalog, seed, horizon, user_models, policy, keep)
    return tenants
