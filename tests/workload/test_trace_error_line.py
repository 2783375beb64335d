"""The line an error in a large CSV trace names is found without keeping the file's rows.

Arrow reads a trace's columns; only when a check fails does the reader look for the file
line of the row at fault. It used to build every row as Python lists for that (about 700
bytes a row: 2.2 GB of peak memory to say a 3-million-row trace had a duplicate time); it
now streams the rows up to the one asked for (:func:`sim.textfiles.csv_row_line`).
"""

import tracemalloc

import pytest

from sim.errors import InputError
from sim.textfiles import csv_row_line, csv_rows
from sim.workload.traces import read_azure


def test_row_lines_match_the_full_reader(tmp_path):
    # blank lines, a quoted field over two lines, CRLF and CR line ends, spaces-only rows
    text = ('TIMESTAMP,ContextTokens,GeneratedTokens\r\n\r\n'
            '2023-11-16 18:15:46.6805900,374,44\n'
            '"2023-11-16 18:15:47.0000000",1,"2\n3"\r'
            '  ,  , \n'
            '2023-11-16 18:15:48.0000000,5,6\n\n\n'
            '2023-11-16 18:15:49.0000000,7,8')
    _, lines, _ = csv_rows(text, "t.csv")
    assert lines == [3, 5, 7, 10]
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode())
    assert [csv_row_line(path, i) for i in range(len(lines))] == lines
    assert csv_row_line(path, len(lines)) is None


def test_a_late_duplicate_is_named_without_the_rows_in_memory(tmp_path):
    n = 200_000
    rows = [f"2023-11-16 18:15:{i // 10_000:02d}.{i % 10_000:04d}000,{i % 97 + 1},{i % 13 + 1}"
            for i in range(n)]
    rows.append(rows[-1])  # the last row repeats the time of the one before
    path = tmp_path / "big.csv"
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "\n".join(rows) + "\n")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as e:
            read_azure(path, "error")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert f"{path}:{n + 2}:" in str(e.value) and "duplicate timestamp" in str(e.value)
    # Python-side memory: the file's bytes and Arrow's columns' views, not its rows as lists
    # (before: 64 MB here, about 300 bytes a row over a 36-byte row)
    assert peak < 4 * size, (peak, size)
