"""The Azure reader takes any legal CSV and both Azure releases' timestamp forms; every
refusal names the file's line, counted as the file counts them (blank lines included)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

import sim
from sim.workload.traces import (
    load_trace,
    read_azure,
    read_burstgpt,
    read_mooncake,
    trace_format,
)

HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens"
ROWS_2023 = [("2023-11-16 18:17:03.9799600", 4808, 10), ("2023-11-16 18:17:04.0319600", 3180, 8),
             ("2023-11-16 18:17:05.0000000", 12, 0)]


def _write(tmp_path, name, text, **kw):
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode(), **kw)
    return p


def _plain(rows, header=HEADER, sep="\n"):
    return header + sep + "".join(f"{a},{b},{c}{sep}" for a, b, c in rows)


def _same(a, b):
    assert a.t_s.tobytes() == b.t_s.tobytes()
    assert np.array_equal(a.input_tokens, b.input_tokens)
    assert np.array_equal(a.output_tokens, b.output_tokens)


def test_the_2024_week_traces_timestamps_with_a_utc_offset(tmp_path):
    # as the 2024 files write them: microseconds, +00:00, and no fraction when it is zero
    p = _write(tmp_path, "w.csv", _plain([("2024-05-10 00:00:00.009930+00:00", 2162, 5),
                                          ("2024-05-10 00:00:01+00:00", 2399, 14),
                                          ("2024-05-10T00:00:02.5Z", 239, 1)]))
    t = read_azure(p)
    assert t.t_s == pytest.approx([0.0, 0.99007, 2.49007], abs=1e-12)
    assert t.input_tokens.tolist() == [2162, 2399, 239]


def test_rows_in_other_zones_are_read_as_instants(tmp_path):
    # 02:00:01 at +02:00 is 00:00:01 UTC: one second after the first row, not two hours
    p = _write(tmp_path, "z.csv", _plain([("2024-05-10 00:00:00+00:00", 10, 1),
                                          ("2024-05-10 02:00:01+02:00", 10, 1)]))
    assert read_azure(p).t_s.tolist() == [0.0, 1.0]


def test_a_trace_mixing_zoned_and_local_times_is_refused_at_the_row(tmp_path):
    p = _write(tmp_path, "m.csv", _plain([("2024-05-10 00:00:00+00:00", 10, 1),
                                          ("2024-05-10 00:00:01+00:00", 10, 1),
                                          ("2024-05-10 00:00:02", 10, 1)]))
    with pytest.raises(sim.InputError, match=r"m.csv:4: TIMESTAMP '2024-05-10 00:00:02' lacks a UTC offset"):
        read_azure(p)


@pytest.mark.parametrize("form", ["quoted", "crlf", "bom", "blank lines", "gzip", "extra column"])
def test_any_legal_csv_reads_as_the_plain_file(tmp_path, form):
    plain = read_azure(_write(tmp_path, "plain.csv", _plain(ROWS_2023)))
    text = {
        "quoted": '"TIMESTAMP","ContextTokens","GeneratedTokens"\n'
                  + "".join(f'"{a}","{b}","{c}"\n' for a, b, c in ROWS_2023),
        "crlf": _plain(ROWS_2023, sep="\r\n"),
        "bom": "\ufeff" + _plain(ROWS_2023),
        "blank lines": "\n" + _plain(ROWS_2023).replace("\n", "\n\n") + "\n\n",
        "gzip": gzip.compress(_plain(ROWS_2023).encode()),
        "extra column": "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n"
                        + "".join(f"{a},2,{b},{c}\n" for a, b, c in ROWS_2023),
    }[form]
    _same(read_azure(_write(tmp_path, "f.csv", text)), plain)


@pytest.mark.parametrize("text, match", [
    # blank lines before the bad row still count: the message names the file's own line
    (HEADER + "\n2023-11-16 18:17:03.9799600,10,5\n\n\n2023-11-16 18:17:04.0000000,x,5\n",
     r"b.csv:5: ContextTokens must be an integer"),
    (HEADER + "\n2023-11-16 18:17:03.9799600,10,5\n\n2023-11-16 18:17:02.0000000,10,5\n",
     r"b.csv:4: timestamps go backwards"),
    (HEADER + '\n"2023-11-16 18:17:03.9799600",10,5\n"2023-13-16 18:17:04",10,5\n',
     r"b.csv:3: bad TIMESTAMP '2023-13-16 18:17:04'"),
    (HEADER + "\n2023-11-16 18:17:03.9799600,10,5\n2023-11-16 18:17:04.0,10\n",
     r"b.csv:3: 2 fields, the header names 3"),
    (HEADER + "\n2023-11-16 18:17:03.9799600,10,-1\n", r"b.csv:2: GeneratedTokens must be an integer"),
    (HEADER + "\n", r"b.csv:2: trace has a header but no requests"),
])
def test_refusals_name_the_files_line(tmp_path, text, match):
    with pytest.raises(sim.InputError, match=match):
        read_azure(_write(tmp_path, "b.csv", text))


def test_a_damaged_gzip_file_is_one_line(tmp_path):
    p = _write(tmp_path, "d.csv.gz", gzip.compress(_plain(ROWS_2023).encode())[:30])
    with pytest.raises(sim.InputError, match=r"d.csv.gz: a damaged gzip file"):
        read_azure(p)


def test_a_bad_row_far_into_a_long_file_is_found(tmp_path):
    # the first row Arrow cannot read is found block by block (blocks of 65,536 rows)
    n = 70_000
    t = 1_700_000_000 + np.arange(n) * 0.001
    rows = [f"{np.datetime64(int(x * 1e6), 'us')},10,1" for x in t]
    rows[66_000] = "2023-11-16 99:00:00,10,1"
    p = _write(tmp_path, "long.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(sim.InputError, match=r"long.csv:66002: bad TIMESTAMP '2023-11-16 99:00:00'"):
        read_azure(p)


def test_mooncake_lines_count_blank_lines(tmp_path):
    p = _write(tmp_path, "m.jsonl", '{"timestamp": 5, "input_length": 5, "output_length": 3}\n\n'
               '{"timestamp": 1, "input_length": 5, "output_length": 3}\n')
    with pytest.raises(sim.InputError, match=r"m.jsonl:3: timestamps go backwards"):
        read_mooncake(p)


BURST = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"


def test_a_burstgpt_trace_reads_its_seconds_and_lengths(tmp_path):
    # as BurstGPT_1.csv writes it: whole seconds, a failed request's 0 response tokens and a
    # row of 0 request tokens kept as recorded (the length config raises and counts them)
    p = _write(tmp_path, "b.csv", BURST + "5,ChatGPT,472,18,490,Conversation log\n"
               "45,ChatGPT,0,230,230,Conversation log\n118,GPT-4,417,0,417,API log\n")
    t = read_burstgpt(p)
    assert t.t_s.tolist() == [0.0, 40.0, 113.0]
    assert t.input_tokens.tolist() == [472, 0, 417] and t.output_tokens.tolist() == [18, 230, 0]
    assert t.ties is None


def test_burstgpt_equal_seconds_are_spread_over_the_second_by_default(tmp_path):
    p = _write(tmp_path, "b.csv", BURST + "".join(f"{s},ChatGPT,10,5,15,Conversation log\n"
                                                  for s in (3, 3, 3, 3, 4, 6, 6)))
    t = load_trace(str(p), "burstgpt", "default")
    assert t.t_s.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 3.0, 3.5]
    assert t.ties.tolist() == [False, True, True, True, False, False, True]
    with pytest.raises(sim.InputError, match=r"b.csv:3: duplicate timestamp \(4 row\(s\) in all share"):
        read_burstgpt(p, "error")


@pytest.mark.parametrize("text, match", [
    (BURST + "5,ChatGPT,10,5,15,x\nsoon,ChatGPT,10,5,15,x\n", r"b.csv:3: Timestamp must be a number of seconds, got 'soon'"),
    (BURST + "5,ChatGPT,10,5,15,x\ninf,ChatGPT,10,5,15,x\n", r"b.csv:3: Timestamp must be a finite time"),
    (BURST + "5,ChatGPT,10,-5,5,x\n", r"b.csv:2: Response tokens must be an integer in \[0,"),
    (HEADER + "\n2023-11-16 18:17:03.9799600,10,5\n", r"b.csv:1: missing column.*\(the columns of a azure trace: set the tenant.s arrival.trace.format: azure\)"),
])
def test_burstgpt_refusals_name_the_line(tmp_path, text, match):
    with pytest.raises(sim.InputError, match=match):
        read_burstgpt(_write(tmp_path, "b.csv", text))


def test_a_burstgpt_file_read_as_azure_says_which_format_to_set(tmp_path):
    p = _write(tmp_path, "b.csv", BURST + "5,ChatGPT,10,5,15,x\n")
    with pytest.raises(sim.InputError, match=r"b.csv:1: missing column.*format: burstgpt"):
        read_azure(p)


def test_lengths_from_a_burstgpt_column_are_read_by_its_header(tmp_path):
    p = _write(tmp_path, "lengths.csv", BURST + "5,ChatGPT,472,18,490,x\n7,GPT-4,9,3,12,x\n")
    assert trace_format(str(p)) == "burstgpt"
    assert trace_format(str(_write(tmp_path, "a.csv", _plain(ROWS_2023)))) == "azure"
    assert trace_format(str(tmp_path / "m.jsonl.gz")) == "mooncake"


@pytest.mark.parametrize("unit, scale", [("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)])
def test_a_users_own_csv_with_named_columns_and_unit(tmp_path, unit, scale):
    p = _write(tmp_path, "own.csv", "ts,user,prompt,completion\n"
               "1000,a,120,30\n1500,b,0,12\n4000,a,64,0\n")
    t = load_trace(str(p), "csv", "default", ("ts", "prompt", "completion", unit))
    assert t.t_s == pytest.approx([0.0, 500 * scale, 3000 * scale], rel=1e-12)
    assert t.input_tokens.tolist() == [120, 0, 64] and t.output_tokens.tolist() == [30, 12, 0]


def test_a_users_own_csv_with_iso_times_and_its_refusals(tmp_path):
    p = _write(tmp_path, "own.csv", "when,in,out\n2026-01-02T03:04:05Z,10,1\n"
               "2026-01-02T03:04:06.5Z,10,1\n")
    assert load_trace(str(p), "csv", "default", ("when", "in", "out", "iso")).t_s.tolist() == [0.0, 1.5]
    with pytest.raises(sim.InputError, match=r"own.csv:1: missing column\(s\) \['prompt'\]"):
        load_trace(str(p), "csv", "default", ("when", "prompt", "out", "iso"))
    with pytest.raises(sim.InputError, match=r"own.csv:2: when must be a number of seconds"):
        load_trace(str(p), "csv", "default", ("when", "in", "out", "s"))
    q = _write(tmp_path, "dup.csv", "t,in,out\n1,10,1\n1,10,1\n")
    with pytest.raises(sim.InputError, match=r"dup.csv:3: duplicate timestamp"):
        load_trace(str(q), "csv", "default", ("t", "in", "out", "s"))


@pytest.mark.parametrize("row", ["2,,5", "2, ,5", '2,"",5', "2,10,"])
def test_an_empty_token_count_in_a_users_own_log_is_named_as_empty(tmp_path, row):
    """A log that did not record a row's count (an empty field, as request logs have) said
    "must be an integer in [0, 2147483647], got ''", which reads as a format problem; it
    names the field as empty and what to do (December 2026, a user's own log)."""
    p = _write(tmp_path, "own.csv", f"t,in,out\n1,10,5\n{row}\n")
    col = "out" if row.endswith(",") else "in"
    with pytest.raises(sim.InputError, match=rf"own.csv:3: {col} is empty: every replayed row "
                       "needs the token counts read.*leave the row out"):
        load_trace(str(p), "csv", "default", ("t", "in", "out", "s"))


def test_a_run_replays_a_users_own_csv(tmp_path):
    p = _write(tmp_path, "own.csv", "t_ms,prompt,completion\n" + "".join(
        f"{i * 250},{100 + i},{10 + i}\n" for i in range(40)))
    res = sim.run(["horizon_s=20", "setups=[dedicated]",
                   f"tenants.chat.arrival={{kind: trace, trace: {{path: {p}, format: csv, "
                   "csv: {time: t_ms, input: prompt, output: completion, time_unit: ms}}}",
                   "tenants.chat.input={kind: trace}", "tenants.chat.output={kind: trace}"])
    r = res.requests.sort_values("arrival_s")
    assert r["arrival_s"].tolist() == pytest.approx([i * 0.25 for i in range(40)])
    assert r["input_tokens"].tolist() == [100 + i for i in range(40)]
    assert r["output_tokens"].tolist() == [10 + i for i in range(40)]
    with pytest.raises(sim.InputError, match=r"tenants.chat.arrival.trace.csv"):
        sim.run(["horizon_s=20", "setups=[dedicated]",
                 f"tenants.chat.arrival={{kind: trace, trace: {{path: {p}, format: csv, "
                 "csv: {time: t_ms, input: t_ms, output: completion}}}"])


def test_gzip_members_padding_and_a_bomb(tmp_path, monkeypatch):
    import sim.textfiles as tf

    two = gzip.compress(_plain(ROWS_2023[:1]).encode()) + gzip.compress(
        "".join(f"{a},{b},{c}\n" for a, b, c in ROWS_2023[1:]).encode()) + b"\0" * 8
    _same(read_azure(_write(tmp_path, "two.csv.gz", two)),
          read_azure(_write(tmp_path, "plain.csv", _plain(ROWS_2023))))
    monkeypatch.setattr(tf, "MAX_TEXT_BYTES", 10_000)  # a small file that decompresses past it
    with pytest.raises(sim.InputError, match=r"bomb.csv.gz: more than .* GiB once decompressed"):
        read_azure(_write(tmp_path, "bomb.csv.gz", gzip.compress(b"x" * 10_001)))


def test_a_duplicate_time_deep_in_a_long_file_is_named_without_reading_every_row(
        tmp_path, monkeypatch):
    # The 2024 week-long files hold 16.8 M and 27.3 M rows with microsecond times, so equal
    # times are to be expected; refusing one (the Azure default) read every row of the file
    # into Python lists to name its line: a 27.3 M-row file went past 14 GB and minutes.
    # Now the line is found by reading up to that row only: the reader of every row must not
    # be called, and the line is the file's own (blank lines and the header counted).
    n, dup = 5_000, 3_000
    rows = [f'"2024-05-12 00:00:{k // 1000:02d}.{k % 1000:03d}000+00:00",10,1' for k in range(n)]
    rows[dup] = rows[dup - 1]
    text = HEADER + "\n\n" + "\n".join(rows[:100]) + "\n\n\n" + "\n".join(rows[100:]) + "\n"
    p = _write(tmp_path, "week.csv", text)
    line = 1 + 1 + dup + 1 + 2  # header, a blank line, rows up to the duplicate, two more blanks

    def every_row(*a, **k):
        raise AssertionError("read every row of the file to name one line")
    monkeypatch.setattr("sim.workload.traces.csv_rows", every_row)
    with pytest.raises(sim.InputError, match=rf"week.csv:{line}: duplicate timestamp \(1 row"):
        read_azure(p, "error")


def test_equal_azure_times_replay_as_recorded_by_default_and_are_said(tmp_path):
    # the 2024 week-long files' microsecond times (591 equal pairs in the 27.3 M-row week) and
    # the 2025 multimodal file's milliseconds repeat: concurrent requests as recorded. The
    # Azure default refused them until December 2026, so a published file did not replay
    # without `duplicates: keep`; now it does, and a note counts them. `error` still refuses,
    # naming the key to set.
    p = _write(tmp_path, "week.csv", HEADER + "\n2024-05-12 00:00:00.000001+00:00,10,1\n"
               "2024-05-12 00:00:00.000001+00:00,20,2\n2024-05-12 00:00:01+00:00,30,3\n")
    base = ["tenants.chat.arrival.kind=trace", f"tenants.chat.arrival.trace.path={p}",
            "tenants.chat.input.kind=trace", "tenants.chat.output.kind=trace", "horizon_s=10",
            "output.requests=full"]
    with pytest.raises(sim.InputError, match=r"week.csv:3, config key "
                       r"'tenants.chat.arrival.trace.duplicates': duplicate timestamp"):
        sim.run(base + ["tenants.chat.arrival.trace.duplicates=error"])
    for dup in ([], ["tenants.chat.arrival.trace.duplicates=keep"]):
        res = sim.run(base + dup)
        assert res.requests["arrival_s"].tolist() == [0.0, 0.0, 1.0 - 1e-6]
        notes = [n for n in res.notes if "share their recorded time" in n]
        assert notes == ["tenant chat: 1 of its 3 replayed trace requests share their recorded "
                         "time with the row before and were replayed at that time "
                         "(arrival.trace.duplicates: keep; `spread` spreads them up to the next "
                         "recorded time)"], res.notes
    spread = sim.run(base + ["tenants.chat.arrival.trace.duplicates=spread"])
    assert spread.requests["arrival_s"].round(9).tolist() == [0.0, 0.4999995, 1.0 - 1e-6]
    assert res.requests["input_tokens"].tolist() == [10, 20, 30]
