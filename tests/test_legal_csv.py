"""Every CSV reader takes a legal CSV file as users' tools write it (RFC 4180 and what
spreadsheets add): quoted fields and a quoted header, CRLF or lone-CR line ends, a UTF-8
byte-order mark, blank lines (empty, spaces only, or a row of empty fields as a spreadsheet
saves an emptied row) between and after the rows. Each variant must read the same values as
the plain file; a bad row after blank lines is named at its own line.

Before December 2026 the sim.fit CSV log and the perf table refused a trailing row of empty
fields or of spaces ("input_tokens: not a number ('')", "non-numeric value"), and the
ServeGen client-windows reader refused it too and named a bad row one line early for every
blank line above it (pandas skips blank lines and the reader counted rows, not lines); a
sweep job's ``summary.csv`` gained a row of NaN for it, and one with lone-CR line ends was
refused as "cut short".
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from sim.errors import InputError
from sim.fit.logs import read_log
from sim.perf import TablePerf
from sim.platform.dedicated.spot import read_preemption_trace
from sim.sweep.jobfiles import read_summary
from sim.workload import read_curve_points
from sim.workload.background import load_client_windows
from sim.workload.lengths import load_pmf


def _fit(p):
    log = read_log(p)
    return [log.n_in, log.n_out, log.ttft_s, log.tpot_s]


def _perf(p):
    t = TablePerf(p, 1000)
    return [[t.step_time(d, q, 0.0, 0.0) for d in (1, 2) for q in (0, 100)]]


def _spot(p):
    return [[(e.time_s, e.model, e.replica) for e in read_preemption_trace(p)]]


def _servegen(p):
    load_client_windows.cache_clear()
    return list(load_client_windows(p))


def _summary(p):
    df = read_summary(Path(p))
    return [df[c].tolist() for c in df.columns]


def _pmf(p):
    load_pmf.cache_clear()
    return list(load_pmf(p))


# reader -> (how it reads, header and rows, a bad row that follows them)
READERS = {
    "fit log": (_fit, [["input_tokens", "output_tokens", "ttft_s", "tpot_s"],
                       ["10", "5", "0.1", "0.01"], ["20", "6", "0.2", "0.02"]],
                ["10", "5", "x", "0.01"]),
    "perf table": (_perf, [["decode_seqs", "prefill_tokens", "step_time_s"], ["1", "0", "0.01"],
                           ["1", "100", "0.02"], ["2", "0", "0.011"], ["2", "100", "0.021"]],
                   ["x", "0", "0.01"]),
    "length PMF": (_pmf, [["tokens", "probability"], ["10", "0.5"], ["20", "0.5"]], ["x", "0.5"]),
    "rate curve": (lambda p: list(read_curve_points(p)),
                   [["time_s", "rate"], ["0", "1"], ["10", "2"]], ["20", "x"]),
    "spot trace": (_spot, [["time_s", "model", "replica"], ["10", "llama31-8b", "0"],
                           ["20", "llama31-8b", "1"]], ["x", "llama31-8b", "0"]),
    "ServeGen windows": (_servegen, [["client_id", "window_start_s", "rate_rps", "family", "shape",
                                      "scale"], ["1", "0", "0.5", "Gamma", "1.0", "2.0"],
                                     ["1", "600", "0.5", "Weibull", "1.0", "2.0"]],
                         ["1", "1200", "x", "Gamma", "1.0", "2.0"]),
    # a job's summary.csv opened and saved again in a spreadsheet; not checked value by value
    "sweep summary": (_summary, [["setup", "tenant", "requests", "ttft_p50_s"],
                                 ["dedicated", "chat", "10", "0.1"],
                                 ["dedicated", "__all__", "10", "0.1"]], None),
}


def _render(rows, quote=False, eol="\n"):
    return eol.join(",".join(f'"{c}"' if quote else c for c in r) for r in rows) + eol


def _variants(rows):
    k = len(rows[0])
    empty = "," * (k - 1)
    yield "quoted", _render(rows, quote=True).encode()
    yield "CRLF", _render(rows, eol="\r\n").encode()
    yield "lone CR", _render(rows, eol="\r").encode()
    yield "BOM", b"\xef\xbb\xbf" + _render(rows).encode()
    yield "blank lines after", (_render(rows) + "\n\n").encode()
    yield "spaces after", (_render(rows) + "   \n").encode()
    yield "spreadsheet's emptied rows after", (_render(rows, eol="\r\n") + (empty + "\r\n") * 2).encode()
    yield "blank lines between", (_render(rows[:2]) + "\n" + empty + "\n  \n" + _render(rows[2:])).encode()
    yield "all at once", b"\xef\xbb\xbf" + (_render(rows[:2], True, "\r\n") + empty + "\r\n"
                                          + _render(rows[2:], True, "\r\n") + "\r\n").encode()


CASES = [(name, v, data) for name, (_, rows, _) in READERS.items() for v, data in _variants(rows)]


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        x, y = np.asarray(x), np.asarray(y)
        if x.dtype.kind in "fc" or y.dtype.kind in "fc":
            assert x.dtype == y.dtype
            np.testing.assert_allclose(x.astype(float), y.astype(float), equal_nan=True)
        else:
            assert x.tolist() == y.tolist()


@pytest.mark.parametrize("reader, variant, data", CASES, ids=[f"{r}: {v}" for r, v, _ in CASES])
def test_a_legal_csv_reads_as_the_plain_file(tmp_path, reader, variant, data):
    read, rows, _ = READERS[reader]
    plain, legal = tmp_path / "plain.csv", tmp_path / "legal.csv"
    plain.write_text(_render(rows))
    legal.write_bytes(data)
    _same(read(str(legal)), read(str(plain)))


@pytest.mark.parametrize("reader", [r for r, (_, _, bad) in READERS.items() if bad])
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_a_bad_row_after_blank_lines_is_named_at_its_line(tmp_path, reader, eol):
    read, rows, bad = READERS[reader]
    empty = "," * (len(rows[0]) - 1)
    text = eol.join([",".join(rows[0]), ",".join(rows[1]), "", empty, "   "]
                    + [",".join(r) for r in rows[2:]] + [",".join(bad)]) + eol
    p = Path(tmp_path / "f.csv")
    p.write_bytes(text.encode())
    with pytest.raises(InputError) as e:
        read(str(p))
    assert e.value.line == len(rows) + 4, str(e.value)


@pytest.mark.parametrize("name, zipped", [("w.csv.gz", True), ("w.csv", True), ("w.csv.gz", False),
                                          ("w.CSV.GZ", True)])
def test_servegen_windows_are_gzip_by_their_bytes_not_their_name(tmp_path, name, zipped):
    """ServeGen ships ``*_client_windows.csv.gz``; one decompressed but not renamed, or
    compressed under another name, was "cannot read ServeGen client windows" (pandas goes by
    the name)."""
    _, rows, _ = READERS["ServeGen windows"]
    data = _render(rows).encode()
    (tmp_path / "plain.csv").write_bytes(data)
    (tmp_path / name).write_bytes(gzip.compress(data, mtime=0) if zipped else data)
    _same(_servegen(str(tmp_path / name)), _servegen(str(tmp_path / "plain.csv")))
