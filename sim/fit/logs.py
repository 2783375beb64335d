"""Per-request benchmark logs read into one shape: lengths, TTFT, TPOT and how requests arrived.

Formats (``fmt``; ``auto`` decides by the file's suffix and content):

``csv``
    One request a line, a header naming the columns: ``input_tokens``, ``output_tokens``,
    ``ttft_s`` and either ``tpot_s`` (mean seconds per output token after the first) or
    ``e2e_s`` (seconds from sending to the last token); optional ``arrival_s`` (when the
    request was sent, seconds >= 0 from any origin at or before the first send: the replay
    starts at the earliest; a negative one is refused). Without ``arrival_s`` every request is taken
    to arrive at once unless the command line gives a rate or a concurrency.
``vllm``
    The JSON of vLLM's ``benchmarks/benchmark_serving.py --save-result --save-detailed``
    (and ``vllm bench serve``; with ``--append-result`` one object a line): per-request lists
    ``input_lens``, ``output_lens``, ``ttfts`` (s), ``itls`` (s, one list per request),
    ``errors``; newer versions add ``latencies`` (s, send to last token) and ``start_times``
    (``time.perf_counter()`` at sending); the run's ``request_rate`` ("inf" or requests/s),
    ``burstiness`` (Infinity: evenly spaced), ``max_concurrency`` and a ramp-up's
    ``ramp_up_strategy``, ``ramp_up_start_rps`` and ``ramp_up_end_rps``.
``sglang``
    The JSONL of SGLang's ``python -m sglang.bench_serving --output-file F --output-details``:
    one line per benchmark run (runs are appended), the same per-request lists (``input_lens``,
    ``output_lens``, ``ttfts``, ``itls``, ``errors``; at the top level or under ``details``),
    ``request_rate`` (a number, Infinity, or "trace": the dataset's own timestamps, not
    recorded) and ``max_concurrency``; no send times.

``run`` picks the line of a file of several runs (default: the last). A ``.gz`` after the
suffix is looked through when telling the format; a failed request's entries are not read.

TPOT is (last token - first token) / (output tokens - 1), as both tools define it: from
``latencies`` or ``e2e_s`` less TTFT when recorded, else the sum of the request's ITLs. Two
fields giving one decode time (``tpot_s`` and ``e2e_s``; ``latencies`` and ``ttfts`` + ITLs)
must agree within 1 % or 1 ms of it (a CSV's: plus the rounding its values show).
Failed requests (a non-empty error, or no token) are dropped and counted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.textfiles import csv_rows, parse_json, read_text, require_file, text_lines

MAX_TOKENS = 10_000_000  # assumption: no request of a benchmark log is this long
MAX_SECONDS = 86_400.0  # assumption: no benchmark request waits a day
# assumption: no benchmark client sends fewer than one request a day on average; below it
# the replayed send times reach 1e300 s and lose every digit of the requests' latencies (a
# rate of 1e-300 fitted to 99 % TPOT error, one of 1e-320 gave an infinite first gap)
MIN_RATE_RPS = 1.0 / MAX_SECONDS


@dataclass(frozen=True)
class RequestLog:
    """Successful requests of one benchmark run, in the order the client sent them."""

    path: str
    fmt: str
    n_in: np.ndarray
    n_out: np.ndarray
    ttft_s: np.ndarray
    tpot_s: np.ndarray  # NaN for one-token answers
    arrival_s: np.ndarray | None  # None: not recorded
    rate_rps: float = math.inf  # the client's rate when arrivals are not recorded
    burstiness: float = 1.0  # vLLM: gamma-distributed gaps of this shape (1: Poisson)
    max_concurrency: int | None = None
    dropped: int = 0
    notes: list = field(default_factory=list)
    lines: tuple = ()  # per request: the file line it came from
    labels: tuple = ()  # per request: what names it on that line ("" or "requests[j]")
    sent: tuple = ()  # JSON logs, per request: its place in the client's sending order
    ramp: str = ""  # vLLM ramp-up: how the client's rate rose ("linear ramp from 1 to 10 ...")
    ramp_rps: np.ndarray | None = None  # ... and its rate as each request was sent, failed too
    unrecorded: str = ""  # why the log's arrivals cannot be replayed from its settings
    no_decode: int = 0  # requests of 2+ tokens logging no ITL nor latency: TPOT not read (NaN)
    runs: int = 1  # the runs (lines) of the file

    def where(self, i: int) -> tuple[int | None, str]:
        """(line, label) of request ``i`` for an error message."""
        return (self.lines[i] if self.lines else None, self.labels[i] if self.labels else "")

    def __len__(self) -> int:
        return int(self.n_in.size)


def _num(value, what: str, path: str, line: int | None, integer: bool = False,
         limit: float = MAX_SECONDS, unit: str = "tokens") -> float:
    if isinstance(value, bool):  # JSON true/false: Python would take them for 1 and 0
        raise InputError(f"{what}: not a number ({_json_word(value)})", path=path, line=line)
    try:  # Python's float() takes "1_000" and any script's digits too, which no benchmark writes
        bad = isinstance(value, str) and (not value.isascii() or "_" in value)
        v = float("?" if bad else value)
    except (TypeError, ValueError):
        raise InputError(f"{what}: not a number ({value!r})", path=path, line=line) from None
    except OverflowError:  # an integer of hundreds of digits (was a traceback)
        raise InputError(f"{what}: must be finite, >= 0 and <= {limit:g} (an integer of "
                         f"{len(str(value).lstrip('-'))} digits)", path=path, line=line) from None
    if not math.isfinite(v) or v < 0 or v > limit:
        raise InputError(f"{what}: must be finite, >= 0 and <= {limit:g} ({value!r})",
                         path=path, line=line)
    if integer and v != int(v):  # a count (of tokens, or of requests in flight)
        raise InputError(f"{what}: must be a whole number of {unit} ({value!r})", path=path,
                         line=line)
    return v


def _jnum(value, what: str, path: str, line: int | None, integer: bool = False,
          limit: float = MAX_SECONDS, unit: str = "tokens") -> float:
    """A number of a JSON log: the benchmarks write numbers, so a string ("0.05") is refused
    as true is (it was read as the number it spells)."""
    if isinstance(value, str):
        raise InputError(f"{what}: not a number (the string {value[:40]!r})", path=path, line=line)
    return _num(value, what, path, line, integer, limit, unit)


def _json_word(value: bool) -> str:
    return "true" if value else "false"


def _tpot(n_out: float, ttft: float, e2e: float | None, itl_sum: float | None) -> float:
    if n_out < 2:
        return math.nan
    decode = (e2e - ttft) if e2e is not None else itl_sum
    return max(decode, 0.0) / (n_out - 1)


def _agree(what: str, decode: float, other: float, path: str, line: int,
           rounding: float = 0.0) -> None:
    """Two fields telling one request's decode time (last token - first) must agree within
    1 % or 1 ms of it (an assumption: timer noise) plus the ``rounding`` their values as
    written carry; the fit would read one alone. ``what`` names them with their values."""
    if not math.isclose(decode, other, rel_tol=0.01, abs_tol=1e-3 + rounding):
        more = f" plus {rounding:.3g} s of rounding" if rounding >= 1e-6 else ""
        raise InputError(f"{what} disagree: they give decode times (last token - first) of "
                         f"{decode:g} s and {other:g} s, more than 1 % or 1 ms{more} apart; give "
                         "one, or the two as logged", path=path, line=line)


def _half_step(header, rows) -> float:
    """Half the resolution the CSV's latencies are written to: the finest step any ttft_s,
    tpot_s or e2e_s value shows (0.0005 s when all are written to the millisecond)."""
    cols = [header.index(c) for c in ("ttft_s", "tpot_s", "e2e_s") if c in header]
    places = [Decimal(v[c].strip()).as_tuple().exponent for v in rows for c in cols
              if re.fullmatch(r"\s*\d+(\.\d*)?([eE][-+]?\d+)?\s*", v[c], re.ASCII)]
    return 0.5 * 10.0 ** min(places, default=0)


def read_csv(path: str) -> RequestLog:
    need = {"input_tokens", "output_tokens", "ttft_s"}
    cols: dict[str, list] = {"n_in": [], "n_out": [], "ttft": [], "tpot": [], "arr": [],
                             "line": []}
    # csv_rows: quoting, any line ends, blank rows (spaces, or a spreadsheet's row of empty
    # fields) skipped with their lines still counted, a row of another length refused
    header, lines, rows = csv_rows(read_text(path, "log file"), path)
    if header[0].startswith(("{", "[")):  # was "column(s) ['0.008', ...] appear more than once"
        raise InputError("a JSON document, not a CSV header: for a vLLM JSON or an SGLang JSONL "
                         "log pass --format vllm or --format sglang", path=path, line=header.line)
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise InputError(f"column(s) {twice} appear more than once in the header", path=path,
                         line=header.line)
    names = set(header)
    if not need <= names or not ({"tpot_s", "e2e_s"} & names):
        raise InputError(f"needs columns {sorted(need)} and tpot_s or e2e_s, has "
                         f"{sorted(names)}", path=path, line=header.line)
    has_arrival = "arrival_s" in names
    half = _half_step(header, rows)
    for i, values in zip(lines, rows):
        row = dict(zip(header, values))
        n_in = _num(row["input_tokens"], "input_tokens", path, i, True, MAX_TOKENS)
        n_out = _num(row["output_tokens"], "output_tokens", path, i, True, MAX_TOKENS)
        if n_in < 1 or n_out < 1:
            raise InputError("input_tokens and output_tokens must be >= 1", path=path, line=i)
        ttft = _num(row["ttft_s"], "ttft_s", path, i)
        tpot = e2e = None
        if row.get("e2e_s") not in (None, ""):  # checked even where tpot_s is given
            e2e = _num(row["e2e_s"], "e2e_s", path, i)
            if e2e < ttft:
                raise InputError(f"e2e_s ({e2e:g}) is below ttft_s ({ttft:g})", path=path,
                                 line=i)
        if row.get("tpot_s") not in (None, ""):  # checked even where unused (one token)
            tpot = _num(row["tpot_s"], "tpot_s", path, i)
            tpot = tpot if n_out > 1 else math.nan
            if e2e is not None and n_out > 1:  # until December 2026 within 1 ms a token
                _agree(f"tpot_s ({tpot:g}) and e2e_s", tpot * (n_out - 1), e2e - ttft, path, i,
                       half * (n_out + 1))  # tpot_s's (tokens - 1) times, ttft_s's, e2e_s's
        elif e2e is None:
            if n_out > 1:
                raise InputError("needs tpot_s or e2e_s", path=path, line=i)
            tpot = math.nan
        else:
            tpot = _tpot(n_out, ttft, e2e, None)
        cols["line"].append(i)
        cols["n_in"].append(n_in)
        cols["n_out"].append(n_out)
        cols["ttft"].append(ttft)
        cols["tpot"].append(tpot)
        if has_arrival:
            cols["arr"].append(_num(row["arrival_s"], "arrival_s", path, i, limit=1e12))
    if not cols["n_in"]:
        raise InputError("no requests", path=path)
    arr = np.array(cols["arr"]) if has_arrival else None
    return RequestLog(path, "csv", np.array(cols["n_in"], dtype=np.int64),
                      np.array(cols["n_out"], dtype=np.int64), np.array(cols["ttft"]),
                      np.array(cols["tpot"]), None if arr is None else arr - arr.min(),
                      lines=tuple(cols["line"]), labels=("",) * len(cols["line"]))


def _rate(doc: dict, fmt: str, path: str, line: int) -> tuple[float, str]:
    """The client's request rate, and why its arrivals cannot be replayed ("" if they can)."""
    value = doc.get("request_rate")
    if isinstance(value, str) and value.strip().lower() == "trace":  # --use-trace-timestamps
        return math.inf, ('the client sent at its dataset\'s own timestamps (request_rate '
                          '"trace"), which the log does not record')
    if fmt == "sglang" and doc.get("dataset_name") == "mooncake" and doc.get("backend") == "sglang":
        return math.inf, ("SGLang replays a mooncake dataset at its own timestamps, ignoring the "
                          "request_rate it writes, and the log does not record them")
    # vLLM writes "inf"; SGLang's json.dumps writes Infinity, which Python reads as inf
    if value is None or (isinstance(value, str) and value.strip().lower() in ("inf", "infinity")) \
            or (isinstance(value, float) and value == math.inf):
        return math.inf, ""
    v = _num(value, "request_rate", path, line, limit=math.inf)
    if v < MIN_RATE_RPS:
        raise InputError(f"request_rate must be at least {MIN_RATE_RPS:.3g} requests/s (one a "
                         f"day), got {value!r}", path=path, line=line)
    return v, ""


def _ramp(doc: dict, n: int, path: str, line: int) -> tuple[str, np.ndarray | None]:
    """vLLM's ``--ramp-up-strategy``: the rate as request j of the n sent was, which rose from
    ``ramp_up_start_rps`` to ``ramp_up_end_rps`` linearly or geometrically in j / (n - 1)."""
    kind = doc.get("ramp_up_strategy")
    if kind is None:
        return "", None
    if kind not in ("linear", "exponential"):
        raise InputError(f"ramp_up_strategy must be linear or exponential, got {kind!r}",
                         path=path, line=line)
    lo = _num(doc.get("ramp_up_start_rps"), "ramp_up_start_rps", path, line, limit=1e9)
    hi = _num(doc.get("ramp_up_end_rps"), "ramp_up_end_rps", path, line, limit=1e9)
    if not MIN_RATE_RPS <= lo <= hi:  # vLLM refuses a rate of 0 (it never sends) and a fall
        raise InputError(f"the ramp must rise from a rate of at least {MIN_RATE_RPS:.3g} "
                         f"requests/s (one a day): ramp_up_start_rps {lo:g}, ramp_up_end_rps "
                         f"{hi:g}", path=path, line=line)
    x = np.arange(n, dtype=float) / max(n - 1, 1)
    rps = lo + (hi - lo) * x if kind == "linear" else lo * (hi / lo) ** x
    return f"{kind} ramp from {lo:g} to {hi:g} requests/s", rps


def from_result(doc: dict, path: str, line: int, fmt: str) -> RequestLog:
    """A vLLM or SGLang result object (``line``: where it starts in the file)."""
    need = ["input_lens", "output_lens", "ttfts", "itls"]
    if isinstance(doc.get("details"), dict) and not isinstance(doc.get("input_lens"), list):
        doc = {**doc, **doc["details"]}  # SGLang's sglang.benchmark writes them under "details"
    missing = [k for k in need if not isinstance(doc.get(k), list)]
    if missing:
        raise InputError(f"no per-request lists {missing}: run the benchmark with "
                         + ("--save-result --save-detailed" if fmt == "vllm" else
                            "--output-details"), path=path, line=line)
    n = len(doc["input_lens"])
    for k in ("errors", "latencies", "start_times"):  # given, but not a per-request list: it
        if doc.get(k) is not None and not isinstance(doc[k], list):  # was not read, unsaid
            raise InputError(f"{k} must be a list of one entry per request, got "
                             f"{type(doc[k]).__name__} {str(doc[k])[:40]!r}", path=path, line=line)
    optional = [k for k in ("errors", "latencies", "start_times") if isinstance(doc.get(k), list)]
    for k in need + optional:
        if len(doc[k]) != n:
            raise InputError(f"{k} has {len(doc[k])} entries, input_lens {n}", path=path, line=line)
    keep, n_in, n_out, ttft, tpot, start = [], [], [], [], [], []
    streamed = 0  # requests whose decode time the log tells
    blind = 0  # ... and those of two or more tokens whose decode time it does not
    for j in range(n):
        if "errors" in optional and doc["errors"][j]:
            continue  # a failed request: its other entries (0, [] or null) are not read
        o = _jnum(doc["output_lens"][j], f"output_lens[{j}]", path, line, True, MAX_TOKENS)
        if o < 1:  # failed without a reason (vLLM writes "" when the server gave none)
            continue
        t = _jnum(doc["ttfts"][j], f"ttfts[{j}]", path, line)
        itls = doc["itls"][j]
        if not isinstance(itls, list):
            raise InputError(f"itls[{j}]: not a list", path=path, line=line)
        itl_sum = sum(_jnum(x, f"itls[{j}]", path, line) for x in itls)
        e2e = _jnum(doc["latencies"][j], f"latencies[{j}]", path, line) if "latencies" in optional \
            else None
        if e2e is not None and e2e < t:  # as a CSV's e2e_s below its ttft_s
            raise InputError(f"latencies[{j}] ({e2e:g}) is below ttfts[{j}] ({t:g})", path=path,
                             line=line)
        if e2e is not None and itls:  # unchecked until December 2026 (50 % apart passed)
            _agree(f"latencies[{j}] ({e2e:g}) and ttfts[{j}] + sum(itls[{j}]) ({t + itl_sum:g})",
                   e2e - t, itl_sum, path, line)
        keep.append(j)
        i_len = _jnum(doc["input_lens"][j], f"input_lens[{j}]", path, line, True, MAX_TOKENS)
        if i_len < 1:  # as a CSV's input_tokens: a prompt has a token
            raise InputError(f"input_lens[{j}] must be >= 1, got {doc['input_lens'][j]!r}",
                             path=path, line=line)
        n_in.append(i_len)
        n_out.append(o)
        ttft.append(t)
        told = bool(itls) or e2e is not None or o < 2
        # a request of 2+ tokens with ``itls: []`` and no latency tells no decode time: its
        # TPOT is not read (NaN, counted in ``no_decode``; was read as 0 and floored unsaid)
        tpot.append(_tpot(o, t, e2e, itl_sum) if told else math.nan)
        streamed += told
        blind += not told
        if "start_times" in optional:
            start.append(_jnum(doc["start_times"][j], f"start_times[{j}]", path, line, limit=1e12))
    if not keep:
        raise InputError("no successful request in the log", path=path, line=line)
    if not streamed:  # SGLang --disable-stream: TTFT the whole latency, every TPOT read as 0
        raise InputError("itls: no inter-token times for any request of two or more tokens (a "
                         "run with --disable-stream?): the log does not tell decode time; "
                         "benchmark with streaming", path=path, line=line)
    conc = doc.get("max_concurrency")
    conc = None if conc is None else int(_jnum(conc, "max_concurrency", path, line, True, 1e9,
                                                 "requests in flight"))
    if conc is not None and conc < 1:  # was taken for "no cap"
        raise InputError(f"max_concurrency must be at least 1 (or null for no cap), got {conc}",
                         path=path, line=line)
    burst = doc.get("burstiness")
    if not (isinstance(burst, float) and burst == math.inf):  # vLLM: evenly spaced sends
        burst = 1.0 if burst is None else _jnum(burst, "burstiness", path, line, limit=1e6)
    if burst <= 0:  # the benchmarks refuse it (a gamma shape); was read as 1 (Poisson)
        raise InputError(f"burstiness must be > 0, got {doc.get('burstiness')!r}", path=path,
                         line=line)
    arr = np.array(start) - min(start) if start else None
    notes = [] if len(keep) == n else [f"{n - len(keep)} failed requests dropped"]
    rate, unrecorded = _rate(doc, fmt, path, line)
    ramp, ramp_rps = _ramp(doc, n, path, line)
    return RequestLog(path, fmt, np.array(n_in, dtype=np.int64), np.array(n_out, dtype=np.int64),
                      np.array(ttft), np.array(tpot), arr, rate, burst, conc if conc else None,
                      n - len(keep), notes, lines=(line,) * len(keep),
                      labels=tuple(f"request {j}: " for j in keep), sent=tuple(keep), ramp=ramp,
                      ramp_rps=ramp_rps, unrecorded=unrecorded, no_decode=blind)


def read_json(path: str, fmt: str, run: int = -1) -> RequestLog:
    """vLLM's JSON (one object; with ``--append-result`` one a line) or SGLang's JSONL (one
    object a line); ``run``: which one."""
    text = read_text(path, "log file")
    if fmt == "vllm":
        try:
            doc = parse_json(text, path, 1)
        except InputError as e:  # --append-result: an object, a line break, the next object
            if "Extra data" not in str(e):
                raise
        else:
            if not isinstance(doc, dict):
                raise InputError("expected one JSON object", path=path, line=1)
            if run not in (0, -1):
                raise InputError(f"run {run}: the file holds 1 run", path=path)
            return from_result(doc, path, 1, fmt)
    runs = [(i, parse_json(ln, path, i)) for i, ln in enumerate(text_lines(text), 1) if ln.strip()]
    if not runs:
        raise InputError("no benchmark runs", path=path)
    for i, doc in runs:
        if not isinstance(doc, dict):
            raise InputError("expected one JSON object a line", path=path, line=i)
    if not -len(runs) <= run < len(runs):
        raise InputError(f"run {run}: the file holds {len(runs)} runs (lines)", path=path)
    i, doc = runs[run]
    return replace(from_result(doc, path, i, fmt), runs=len(runs))


FORMATS = ("auto", "csv", "vllm", "sglang")


def log_format(path: str) -> str:
    """The format ``auto`` reads ``path`` as, by its suffix (a ``.gz`` after it looked through):
    ``csv``, ``vllm`` (``.json``) or ``sglang`` (``.jsonl``); "" if none."""
    name = Path(path).name.lower().removesuffix(".gz")
    return {".csv": "csv", ".jsonl": "sglang", ".json": "vllm"}.get(Path(name).suffix, "")


def read_log(path: str, fmt: str = "auto", run: int = -1) -> RequestLog:
    require_file(path, "log file")
    if fmt == "auto":
        fmt = log_format(path)
        if not fmt:
            raise InputError("cannot tell the format from the suffix (.csv, .json for vLLM, "
                             ".jsonl for SGLang, each may end .gz): pass --format", path=path)
    log = read_csv(path) if fmt == "csv" else read_json(path, fmt, run)
    if np.isnan(log.tpot_s).all() and log.no_decode:
        raise InputError(f"itls: {log.no_decode} request(s) of two or more tokens log no "
                         "inter-token times (nor latencies) and the rest one token each: the log "
                         "tells no decode time (TPOT) to fit", path=path, line=log.lines[0])
    if np.isnan(log.tpot_s).all():  # the fit moved the factors on TTFT alone, unsaid
        field = "output_tokens" if fmt == "csv" else "output_lens"
        raise InputError(f"every request has one output token ({field}): the log tells no "
                         "decode time (TPOT) to fit; log answers of two or more tokens",
                         path=path, line=None if fmt == "csv" else log.lines[0])
    return log
