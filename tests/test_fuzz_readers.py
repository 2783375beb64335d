"""A fuzzer for the file readers: one field of one line of a good file replaced by a hostile
value (non-finite, negative, huge, tiny, fractional, not a number, empty).

Each read either stops with an ``InputError`` naming the file (and, when it names a line,
the line that was changed), or returns values that are all finite and within the reader's
documented ranges. The default suite draws a fixed set of examples; ``pytest -m fuzz``
(with ``SERVESIM_FUZZ_EXAMPLES``) draws more.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import InputError
from sim.perf import TablePerf
from sim.workload import read_rate_curve
from sim.workload.background import load_client_windows
from sim.workload.lengths import load_pmf
from sim.workload.traces import MAX_TOKENS, read_azure, read_mooncake

HOSTILE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e308", "-1", "0", "2147483648",
           "9223372036854775808", "1e-300", "0.5", "abc", ""]
DEEP = int(os.environ.get("SERVESIM_FUZZ_EXAMPLES", "0"))


def _azure(rows):
    return "TIMESTAMP,ContextTokens,GeneratedTokens\n" + "".join(
        f"2023-11-16 18:17:0{i}.0000000,{a},{b}\n" for i, (a, b) in enumerate(rows))


# reader name -> (file name, header line or None, data lines as field lists, joiner, reader)
def _csv(header, rows):
    return header, [list(map(str, r)) for r in rows]


FILES = {
    "azure": ("a.csv", *_csv("TIMESTAMP,ContextTokens,GeneratedTokens",
                             [("2023-11-16 18:17:00.0000000", 100, 20),
                              ("2023-11-16 18:17:01.0000000", 120, 22),
                              ("2023-11-16 18:17:02.0000000", 90, 30)])),
    "mooncake": ("m.jsonl", None, [["0", "100", "20"], ["1000", "120", "22"], ["2000", "90", "30"]]),
    "pmf": ("p.csv", *_csv("tokens,probability", [(10, 0.25), (20, 0.5), (40, 0.25)])),
    "curve": ("c.csv", *_csv("time_s,rate", [(0, 1.0), (60, 2.0), (120, 0.5)])),
    "table": ("t.csv", *_csv("decode_seqs,prefill_tokens,step_time_s",
                             [(0, 0, 0.002), (0, 8192, 0.3), (256, 0, 0.02), (256, 8192, 0.35)])),
    "servegen": ("s.csv", *_csv("client_id,window_start_s,rate_rps,family,shape,scale",
                                [(7, 0, 0.5, "Gamma", 0.5, 4.0), (7, 600, 0.5, "Weibull", 0.8, 2.0)])),
}
NUMERIC_FIELDS = {"azure": [1, 2], "mooncake": [0, 1, 2], "pmf": [0, 1], "curve": [0, 1],
                  "table": [0, 1, 2], "servegen": [0, 1, 2, 4, 5]}


def _text(kind, rows):
    name, header, _ = FILES[kind]
    if kind == "mooncake":
        return "".join('{"timestamp": %s, "input_length": %s, "output_length": %s}\n'
                       % tuple(r) for r in rows)
    return header + "\n" + "".join(",".join(r) + "\n" for r in rows)


def _read(kind, path):
    """Read ``path``; return the arrays a run would use."""
    if kind == "azure":
        t = read_azure(path)
        return [t.t_s, t.input_tokens, t.output_tokens]
    if kind == "mooncake":
        t = read_mooncake(path)
        return [t.t_s, t.input_tokens, t.output_tokens]
    if kind == "pmf":
        return list(load_pmf(str(path)))
    if kind == "curve":
        c = read_rate_curve(str(path), 600.0)
        return [c.s, c.u]
    if kind == "table":
        p = TablePerf(path, kv_capacity_tokens=200_000)
        return [np.asarray([p.step_time(d, q, 0.0, 0.0) for d in (0, 1, 64, 256, 1024)
                            for q in (0, 512, 8192, 20000)])]
    load_client_windows.cache_clear()
    return list(load_client_windows(str(path))[1:4])


def check_one(tmp, kind: str, row: int, col: int, value: str) -> None:
    name, _, rows = FILES[kind]
    rows = [list(r) for r in rows]
    rows[row][col] = value
    text = _text(kind, rows)
    if kind == "mooncake" and value in ("", "abc"):  # not JSON at all: the line is wrong
        text = text.replace(": ,", ": abc,").replace(": }", ": abc}")
    path = tmp / name
    path.write_text(text)
    line = row + (1 if kind == "mooncake" else 2)
    try:
        out = _read(kind, path)
    except InputError as e:
        assert e.path is not None and str(path) in str(e.path), f"{kind}: {e}"
        # an order between two lines (times must increase) may be named at the later one; in
        # a perf table's grid that is the next line along an axis, with this one in the text
        named = e.line in (None, line, line + 1) or f"(line {line})" in str(e)
        assert named, f"{kind} row {row} col {col} = {value!r}: {e}"
        return
    for a in out:
        a = np.asarray(a, dtype=float)
        assert np.isfinite(a).all(), f"{kind} {value!r} accepted: {a}"
        assert (a >= 0).all(), f"{kind} {value!r} accepted: {a}"
    if kind in ("azure", "mooncake"):
        assert (out[1] <= MAX_TOKENS).all() and (out[2] <= MAX_TOKENS).all()


CASES = [(k, r, c) for k, (_, _, rows) in FILES.items() for r in range(len(rows))
         for c in NUMERIC_FIELDS[k]]


@settings(derandomize=True, max_examples=DEEP or 120, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.sampled_from(CASES), st.sampled_from(HOSTILE))
def test_a_hostile_field_in_any_reader_file_is_named_or_harmless(tmp_path_factory, case, value):
    check_one(tmp_path_factory.mktemp("f"), *case, value)


@pytest.mark.fuzz
@pytest.mark.parametrize("kind,row,col", CASES)
def test_every_field_of_every_reader_with_every_hostile_value(tmp_path, kind, row, col):
    for v in HOSTILE:
        check_one(tmp_path, kind, row, col, v)


def test_the_good_files_read():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        for kind, (name, _, rows) in FILES.items():
            p = Path(d) / name
            p.write_text(_text(kind, rows))
            assert all(np.isfinite(np.asarray(a, float)).all() for a in _read(kind, p)), kind
    assert not math.isnan(0.0)


def test_a_perf_table_falling_along_an_axis_names_both_lines(tmp_path):
    """Found by the deep pass: the grid neighbour of a changed line is not the next line."""
    name, header, rows = FILES["table"]
    rows = [list(r) for r in rows]
    rows[0][2] = "0.5"  # (0, 0) now slower than (256, 0), three lines below it
    path = tmp_path / name
    path.write_text(_text("table", rows))
    with pytest.raises(InputError) as e:
        _read("table", path)
    assert e.value.line == 4 and "decode_seqs=256" in str(e.value) and "(line 2)" in str(e.value)

