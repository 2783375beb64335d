"""Every trace format reads a length column (field) only for a tenant's ``input`` /
``output`` of ``kind: trace``, as ``format: csv`` did alone before December 2026: the Azure,
BurstGPT and Mooncake readers read, needed and checked both length columns whatever the
tenant's length kind, so a file of arrival times only (or with a bad length field) was
refused for lengths the tenant drew; a tenant reading lengths the file lacks is refused
naming its ``input.kind`` / ``output.kind`` and the file."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.workload.trace_lengths import column_lengths
from sim.workload.traces import load_trace

T = "tenants.chat"
# three rows in each format at 0, 0.25 s and 1.5 s from the first (Azure's 7 fraction digits)
AZ = ["2023-11-16 18:17:03.1000000", "2023-11-16 18:17:03.3500000", "2023-11-16 18:17:04.6000000"]
FILES = {  # format -> (header or None, rows) for: lengths filled, lengths bad, no lengths
    "azure": {
        "full": "TIMESTAMP,ContextTokens,GeneratedTokens\n" + "".join(
            f"{t},{100 + i},{10 + i}\n" for i, t in enumerate(AZ)),
        "bad": "TIMESTAMP,ContextTokens,GeneratedTokens\n" + "".join(f"{t},,x\n" for t in AZ),
        "none": "TIMESTAMP\n" + "".join(f"{t}\n" for t in AZ),
    },
    "burstgpt": {
        "full": "Timestamp,Model,Request tokens,Response tokens\n"
                "7,ChatGPT,100,10\n7.25,ChatGPT,101,11\n8.5,GPT-4,102,12\n",
        "bad": "Timestamp,Model,Request tokens,Response tokens\n"
               "7,ChatGPT,-1,\n7.25,ChatGPT,1e99,0.5\n8.5,GPT-4,,\n",
        "none": "Timestamp,Model\n7,ChatGPT\n7.25,ChatGPT\n8.5,GPT-4\n",
    },
    "mooncake": {
        "full": '{"timestamp": 40, "input_length": 100, "output_length": 10}\n'
                '{"timestamp": 290, "input_length": 101, "output_length": 11}\n'
                '{"timestamp": 1540, "input_length": 102, "output_length": 12}\n',
        "bad": '{"timestamp": 40, "input_length": null, "output_length": "x"}\n'
               '{"timestamp": 290, "input_length": -3}\n'
               '{"timestamp": 1540, "output_length": 1.5}\n',
        "none": '{"timestamp": 40}\n{"timestamp": 290}\n{"timestamp": 1540}\n',
    },
}
WANT_T = [0.0, 0.25, 1.5]
SUFFIX = {"azure": "csv", "burstgpt": "csv", "mooncake": "jsonl"}


def _file(tmp_path, fmt: str, form: str):
    p = tmp_path / f"{fmt}_{form}.{SUFFIX[fmt]}"
    p.write_text(FILES[fmt][form])
    return p


def _run(p, fmt: str, lengths: list[str], out=None):
    return sim.run(["horizon_s=10", "setups=[dedicated]", "output.plots=false",
                    f"{T}.arrival={{kind: trace, trace: {{path: {p}, format: {fmt}}}}}", *lengths],
                   output_dir=out)


def _workloads(paths, fmt: str, lengths: list[str], **trace) -> list:
    """The workload alone (no simulation: a run's requests are these) over each file of
    ``paths``, then with each ``arrival.trace`` key of ``trace`` set; composed once (composing
    costs ten times what building does)."""
    from sim.simulation.build import build_workload

    cfg = sim.compose(["horizon_s=10", f"{T}.arrival={{kind: trace, trace: "
                       f"{{path: {paths[0]}, format: {fmt}}}}}", *lengths])
    out = []
    for p in paths:
        cfg.tenants.chat.arrival.trace.path = str(p)
        out.append(build_workload(cfg))
    for k, v in trace.items():
        cfg.tenants.chat.arrival.trace[k] = v
        out.append(build_workload(cfg))
    return out


def _workload(p, fmt: str, lengths: list[str]):
    return _workloads([p], fmt, lengths)[0]


@pytest.mark.parametrize("fmt", ["azure", "burstgpt", "mooncake"])
def test_drawn_lengths_replay_a_file_whatever_its_length_columns_hold(tmp_path, fmt):
    drawn = [f"{T}.input={{kind: lognormal, mean: 300, cv: 1.0}}", f"{T}.output.kind=geometric"]
    got = {}
    forms = ("full", "bad", "none")
    for form, wl in zip(forms, _workloads([_file(tmp_path, fmt, f) for f in forms], fmt, drawn)):
        assert np.abs(wl.arrival_s - WANT_T).max() < 1e-9
        got[form] = (wl.arrival_s.tobytes(), wl.input_tokens.tobytes(), wl.output_tokens.tobytes())
    # the same draws, bit for bit, from filled, bad and absent length columns
    assert got["bad"] == got["full"] and got["none"] == got["full"]
    assert len(set(wl.input_tokens.tolist())) == 3  # drawn (lognormal), not the file's 100, 101, 102


@pytest.mark.parametrize("fmt", ["azure", "burstgpt", "mooncake"])
def test_one_side_replayed_reads_that_side_alone(tmp_path, fmt):
    # the output column missing or bad ("bad" rows' inputs too): only the input is read, so
    # the filled file's recorded inputs replay; outputs fixed at 7
    one = [f"{T}.input.kind=trace", f"{T}.input.max=null", f"{T}.output={{kind: fixed, mean: 7}}"]
    q = tmp_path / "out_bad.txt"
    q.write_text(FILES[fmt]["full"].replace(",10\n", ",\n").replace('"output_length": 11', '"x": 0'))
    wl, bad = _workloads([_file(tmp_path, fmt, "full"), q], fmt, one)
    assert wl.input_tokens.tolist() == [100, 101, 102]
    assert wl.output_tokens.tolist() == [7, 7, 7]
    assert bad.input_tokens.tolist() == [100, 101, 102]


@pytest.mark.parametrize("fmt, side, why, line", [
    ("azure", "input", "which has no column ContextTokens", 1),
    ("azure", "output", "which has no column GeneratedTokens", 1),
    ("burstgpt", "output", "which has no column Response tokens", 1),
    ("mooncake", "input", "which has no field input_length on this line", 1),
])
def test_replaying_lengths_a_file_lacks_is_refused_naming_the_key_and_file(tmp_path, fmt, side,
                                                                           why, line):
    p = _file(tmp_path, fmt, "none")
    with pytest.raises(sim.InputError) as e:
        _run(p, fmt, [f"{T}.{side}.kind=trace"])
    assert e.value.key == f"{T}.{side}.kind" and e.value.path == str(p) and e.value.line == line
    assert why in e.value.message and "or draw the lengths" in e.value.message or (
        fmt == "mooncake" and why + ": draw the lengths" in e.value.message)


def test_a_mooncake_line_without_the_replayed_field_is_named_by_its_line(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text('{"timestamp": 0, "input_length": 5, "output_length": 1}\n\n'
                 '{"timestamp": 9, "input_length": 6}\n')
    with pytest.raises(sim.InputError) as e:
        _run(p, "mooncake", [f"{T}.output.kind=trace"])
    assert (e.value.key, e.value.line) == (f"{T}.output.kind", 3)
    assert e.value.message.startswith("missing field 'output_length'")


def test_mooncake_blocks_take_their_last_length_from_input_length_when_lengths_are_drawn(tmp_path):
    p = tmp_path / "m.jsonl"
    # 600 tokens in 2 blocks: the last holds 600 - 512 = 88; 1,024 in 2 full blocks; no blocks
    p.write_text('{"timestamp": 0, "input_length": 600, "hash_ids": [4, 5]}\n'
                 '{"timestamp": 1, "input_length": 1024, "hash_ids": [4, 6]}\n'
                 '{"timestamp": 2}\n')
    tr = load_trace(str(p), "mooncake", "default", (), (), True, ())
    assert tr.input_tokens is None and tr.output_tokens is None
    assert tr.last_block.tolist() == [88, 512, 0]
    assert tr.hash_ptr.tolist() == [0, 2, 4, 4] and tr.hash_ids.tolist() == [4, 5, 4, 6]
    # a line whose blocks are read needs input_length, even when the prompts are drawn
    q = tmp_path / "q.jsonl"
    q.write_text('{"timestamp": 0, "input_length": 600, "hash_ids": [4, 5]}\n'
                 '{"timestamp": 1, "hash_ids": [4]}\n')
    with pytest.raises(sim.InputError, match=r"q.jsonl:2: missing field 'input_length', which the "
                       r"last of the line's hash_ids blocks .*prefixes: false reads no hash_ids"):
        load_trace(str(q), "mooncake", "default", (), (), True, ())
    assert load_trace(str(q), "mooncake", "default", (), (), False, ()).hash_ptr is None


def test_a_column_resampled_reads_that_column_alone(tmp_path):
    # kind: empirical with column input_tokens over a BurstGPT file whose Response tokens has
    # an empty field (a row the log did not measure): refused before December 2026
    p = tmp_path / "b.csv"
    p.write_text("Timestamp,Model,Request tokens,Response tokens\n0,ChatGPT,30,\n1,ChatGPT,40,2\n")
    assert column_lengths(str(p), "input_tokens", f"{T}.input").tolist() == [30, 40]
    with pytest.raises(sim.InputError) as e:
        column_lengths(str(p), "output_tokens", f"{T}.output")
    assert (e.value.key, e.value.line) == (f"{T}.output.path", 2)


@pytest.mark.parametrize("fmt, form, said", [
    ("azure", "none", "the log records none (no column ContextTokens, no column GeneratedTokens)"),
    ("burstgpt", "none", "the log records none (no column Request tokens, no column Response tokens)"),
    ("mooncake", "bad", "the log does not record them all (no field input_length on 1 of its 3 "
                        "lines, no field output_length on 1 of its 3 lines)"),
    ("mooncake", "none", "the log records none (no field input_length, no field output_length)"),
    ("azure", "full", "not the lengths the trace records (set tenants.chat.input.kind=trace and "
                      "output.kind=trace to replay those)"),
])
def test_the_drawn_lengths_note_offers_kind_trace_only_for_lengths_the_file_records(
        tmp_path, fmt, form, said):
    # a file without length columns replays with drawn lengths (since December 2026): the note
    # said "not the lengths the trace records (set ... kind=trace ...)", offering what is refused
    wl = _workload(_file(tmp_path, fmt, form), fmt, [])
    note = next(x for x in wl.replay_notes if "the trace gives the arrival times only" in x)
    assert note.endswith(said)
    if form != "full":
        assert "kind=trace" not in note


def test_drawn_prompts_over_mooncake_blocks_are_said_to_keep_them(tmp_path):
    # prompts drawn (fixed 300 tokens) over rows listing hash_ids: each prompt keeps its row's
    # blocks cut at 300 tokens (a 512-token block cut to 300, the second row's sharing the
    # first's block 4): said since December 2026 (it changes what the cache finds, unsaid before)
    p = tmp_path / "m.jsonl"
    p.write_text('{"timestamp": 0, "input_length": 600, "hash_ids": [4, 5]}\n'
                 '{"timestamp": 1000, "input_length": 700, "hash_ids": [4, 6]}\n'
                 '{"timestamp": 2000, "input_length": 9}\n')
    fixed = [f"{T}.input={{kind: fixed, mean: 300}}", f"{T}.output={{kind: fixed, mean: 5}}"]
    wl, off = _workloads([p], "mooncake", fixed, prefixes=False)
    assert ("tenant chat: its drawn prompts keep the prompt blocks (hash_ids) of the rows "
            "replayed, cut at the drawn length (2 requests; a prompt longer than its row's blocks "
            "is its own text past them); tenants.chat.arrival.trace.prefixes: false reads none"
            ) in wl.replay_notes
    assert wl.prefixes.length.tolist() == [300, 300] and wl.input_tokens.tolist() == [300] * 3
    assert wl.prefixes.key[0] == wl.prefixes.key[1]  # block 4, shared
    assert not any("prompt blocks" in n for n in off.replay_notes)
    # recorded lengths: nothing cut, nothing said
    rec = _workload(p, "mooncake", [f"{T}.input={{kind: trace, max: null}}", fixed[1]])
    assert not any("drawn prompts" in n for n in rec.replay_notes)
