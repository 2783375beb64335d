"""The replicas and events tables of a long run are built when read and written a block of
rows at a time (``sim.metrics.events.LedgerRows`` / ``EventRows``): the files must hold the
same bytes as the whole frames' CSVs, and a reader must get the same frames as before."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import sim.io
from sim.io import FLOAT_FORMAT, write_table_csv
from sim.metrics.events import EVENT_COLUMNS, LEDGER_COLUMNS, EventRows, LedgerRows
from sim.records import EventLog, Result, Tables, UsageRow


def _run(setup, ledger=(), events=None):
    return SimpleNamespace(setup=setup, ledger=list(ledger), extra={"events": events})


def _row(start, end, model="m", served=0):
    u = UsageRow(model, "H100", 1, "serverless", start, end, busy_s=0.0, billing="per_token",
                 usd_per_gpu_hour=2.5)
    u.kv.served, u.kv.served_in, u.kv.served_out = served, 100 * served, 10 * served
    return u


def _whole_csv(frame, path):
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT)
    return path.read_bytes()


def test_a_column_int_in_one_block_and_float_in_another_is_written_as_the_whole_column(
        tmp_path, monkeypatch):
    # start_s holds Python ints >= 1e9 in the first run (an int64 column alone: "1234567890")
    # and floats in the second: the whole column is float64 ("1.23456789e+09"); a block
    # typed on its own would write the first rows differently
    first = [_row(1_234_567_890 + k, 1_234_567_990 + k, served=k % 3) for k in range(5)]
    second = [_row(0.5 + k, 10.25 + k, model="n", served=1) for k in range(4)]
    rows = LedgerRows([_run("a", first), _run("b", second)])
    monkeypatch.setattr(sim.io, "CSV_BLOCK", 3)
    whole = rows.frame()
    assert whole["start_s"].dtype == np.float64 and len(whole) == 9
    assert list(whole.columns) == LEDGER_COLUMNS
    assert list(whole["row"]) == [0, 1, 2, 3, 4, 0, 1, 2, 3]
    write_table_csv(rows, tmp_path / "blocks.csv")
    assert (tmp_path / "blocks.csv").read_bytes() == _whole_csv(whole, tmp_path / "whole.csv")
    assert b"1.23456789e+09" in (tmp_path / "blocks.csv").read_bytes()
    blocks = list(rows.blocks(4))
    assert [len(b) for b in blocks] == [4, 4, 1]
    pd.testing.assert_frame_equal(pd.concat(blocks, ignore_index=True), whole)


def test_events_in_blocks_across_setups_are_the_whole_frame(tmp_path, monkeypatch):
    a, b = EventLog(), EventLog()
    for k in range(7):
        a.add(0.5 * k, "scale_up" if k % 2 else "evict", f"m{k % 3}", replica=k, value=k / 3)
    b.add(9.0, "fail", "z")
    rows = EventRows([_run("s1", events=a), _run("empty", events=EventLog()),
                      _run("s2", events=b)])
    assert len(rows) == 8
    whole = rows.frame()
    assert list(whole.columns) == EVENT_COLUMNS
    assert list(whole["setup"]) == ["s1"] * 7 + ["s2"]
    assert list(whole["kind"]) == a.kind + ["fail"]
    assert list(whole["model"]) == a.model + ["z"]
    assert list(whole["replica"]) == list(range(7)) + [-1]
    monkeypatch.setattr(sim.io, "CSV_BLOCK", 2)
    write_table_csv(rows, tmp_path / "blocks.csv")
    assert (tmp_path / "blocks.csv").read_bytes() == _whole_csv(whole, tmp_path / "whole.csv")


def test_an_event_log_extended_by_another_recodes_its_names():
    a, b = EventLog(), EventLog()
    a.add(1.0, "evict", "m1")
    b.add(2.0, "fail", "m2", replica=4, value=0.5)
    b.add(3.0, "evict", "m1")
    a.extend(b)
    assert a.kind == ["evict", "fail", "evict"] and a.model == ["m1", "m2", "m1"]
    assert list(a.replica) == [-1, 4, -1] and list(a.t_s) == [1.0, 2.0, 3.0]


def test_an_unbuilt_table_is_counted_without_building_and_built_once_when_read():
    built = []

    class Rows(LedgerRows):
        def frame(self):
            built.append(1)
            return super().frame()

    res = Result(summary=pd.DataFrame(), requests=pd.DataFrame(), tables={"small": pd.DataFrame({"x": [1]})})
    assert isinstance(res.tables, Tables)
    res.tables["replicas"] = Rows([_run("a", [_row(0.0, 5.0)])])
    assert res.tables.rows("replicas") == 1 and res.tables.unbuilt("replicas") is not None
    assert built == []
    assert set(res.tables) == {"small", "replicas"} and "replicas" in res.tables
    frame = res.tables["replicas"]
    assert isinstance(frame, pd.DataFrame) and len(frame) == 1 and built == [1]
    assert res.tables["replicas"] is frame and res.tables.unbuilt("replicas") is None
    assert dict(res.tables.items())["replicas"] is frame and built == [1]
    assert res.tables.unbuilt("small") is None and res.tables.rows("small") == 1


@pytest.mark.parametrize("n", [0, 1])
def test_an_empty_or_one_row_table_writes_its_header(tmp_path, n):
    rows = LedgerRows([_run("a", [_row(0.0, 5.0)][:n])])
    write_table_csv(rows, tmp_path / "t.csv")
    text = (tmp_path / "t.csv").read_text().splitlines()
    assert text[0].split(",") == LEDGER_COLUMNS and len(text) == 1 + n
