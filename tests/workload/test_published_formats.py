"""Small files in the forms the published traces take (tests/workload/published/, made to the
schemas of Azure/AzurePublicDataset, HPMLL/BurstGPT, kvcache-ai/Mooncake, alibaba/ServeGen,
splitwise-sim and Vidur, with the edge rows the real files hold: equal times, a whole second
written without its fraction, 0 output tokens, a prompt beyond the model's context, empty
fields in unread columns), replayed on the three setups with the keys the README gives, and
checked against the files read here with ``csv``, ``json`` and ``datetime``."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import sim

DIR = Path(__file__).parent / "published"
T = "tenants.chat.arrival.trace"


def _rows(name, time, inp, out, parse):
    with open(DIR / name, newline="") as f:
        rows = [(parse(r[time]), int(r[inp]), int(r[out])) for r in csv.DictReader(f)]
    return [(t - rows[0][0], i, o) for t, i, o in rows]


def _iso(text):  # datetime reads 6 fractional digits and a Z or +00:00 offset
    return datetime.fromisoformat(text).timestamp()


def _jsonl(name):
    recs = [json.loads(ln) for ln in open(DIR / name) if ln.strip()]
    return [((r["timestamp"] - recs[0]["timestamp"]) / 1000, r["input_length"], r["output_length"])
            for r in recs]


AZ = ("TIMESTAMP", "ContextTokens", "GeneratedTokens", _iso)
BG = ("Timestamp", "Request tokens", "Response tokens", float)
CASES = {
    # Azure's files replay their equal times as recorded by default (duplicates: keep)
    "azure_2024_week": ([f"{T}.format=azure"],
                        lambda: _rows("azure_2024_week.csv", *AZ)),
    "azure_2025_multimodal": ([f"{T}.format=azure"],
                              lambda: _rows("azure_2025_multimodal.csv", *AZ)),
    "burstgpt_1": ([f"{T}.format=burstgpt", f"{T}.duplicates=keep"],
                   lambda: _rows("burstgpt_1.csv", *BG)),
    "burstgpt_3": ([f"{T}.format=burstgpt", f"{T}.duplicates=keep"],
                   lambda: _rows("burstgpt_3.csv", *BG)),
    "mooncake_toolagent": ([f"{T}.format=mooncake", f"{T}.duplicates=keep"],
                           lambda: _jsonl("mooncake_toolagent.jsonl")),
    "splitwise_sim": ([f"{T}.format=csv", f"{T}.csv={{time: arrival_timestamp, input: prompt_size, "
                       "output: token_size}"],
                      lambda: _rows("splitwise_sim.csv", "arrival_timestamp", "prompt_size",
                                    "token_size", float)),
    "vidur_processed": ([f"{T}.format=csv", f"{T}.csv={{time: arrived_at, input: "
                         "num_prefill_tokens, output: num_decode_tokens}"],
                        lambda: _rows("vidur_processed.csv", "arrived_at", "num_prefill_tokens",
                                      "num_decode_tokens", float)),
}
FILES = {"azure_2024_week": "azure_2024_week.csv", "azure_2025_multimodal": "azure_2025_multimodal.csv",
         "burstgpt_1": "burstgpt_1.csv", "burstgpt_3": "burstgpt_3.csv",
         "mooncake_toolagent": "mooncake_toolagent.jsonl", "splitwise_sim": "splitwise_sim.csv",
         "vidur_processed": "vidur_processed.csv"}
CONTEXT = 131072  # llama31-8b's


@pytest.mark.parametrize("name", list(CASES))
def test_each_published_form_replays_row_for_row_on_every_setup(name):
    keys, expected = CASES[name]
    rows = expected()
    res = sim.run([f"{T[:-6]}.kind=trace", f"{T}.path={DIR / FILES[name]}", *keys,
                   "tenants.chat.input={kind: trace, max: null}",
                   "tenants.chat.output={kind: trace, max: null}",
                   f"horizon_s={rows[-1][0] + 1:.6f}", "setups=[serverless,dedicated,hybrid]",
                   "output.requests=full"])
    t = np.array([r[0] for r in rows])
    # a 0-token side is served as one token, and counted in a note
    inp = np.maximum([r[1] for r in rows], 1)
    out = np.maximum([r[2] for r in rows], 1)
    raised = int(sum(r[1] == 0 or r[2] == 0 for r in rows))
    over = int(sum(i + o > CONTEXT for i, o in zip(inp, out)))
    for setup, r in res.requests.groupby("setup", observed=True):
        r = r.sort_values("request_id")
        assert len(r) == len(rows), setup
        np.testing.assert_allclose(r["arrival_s"], t, rtol=0, atol=1e-6)
        assert r["input_tokens"].tolist() == inp.tolist(), setup
        assert r["output_tokens"].tolist() == out.tolist(), setup
        assert int((r["outcome"] == "rejected").sum()) == over, setup
    notes = " ".join(res.notes)
    changed = re.search(r"(\d+) requests?'?s? lengths? (?:was|were) changed", notes)
    assert (int(changed.group(1)) if changed else 0) == raised, res.notes
    exceed = re.search(r"(\d+) requests? exceeds? (?:their|its) model's context", notes)
    assert (int(exceed.group(1)) if exceed else 0) == over, res.notes


def _lengths(path, column, side="input"):
    return f"tenants.chat.{side}={{kind: empirical, path: '{path}', column: {column}, max: null}}"


def _drawn(overrides):
    res = sim.run(["horizon_s=60", "tenants.chat.arrival.rate_rps=5", "output.requests=full",
                   *overrides])
    return res.requests


def test_lengths_resampled_from_json_lines_without_times():
    # ServeGen's offline traces (alibaba/ServeGen data/offline/trace_d-f) are JSON lines with
    # input_length and output_length but no timestamp (a batch job's requests): read for the
    # lengths alone; before, they were read as a Mooncake replay ("missing field 'timestamp'")
    p = DIR / "servegen_offline_stat.jsonl"
    recs = [json.loads(ln) for ln in open(p)]
    r = _drawn([_lengths(p, "input_tokens"), _lengths(p, "output_tokens", "output")])
    assert len(r) > 100
    assert set(r["input_tokens"]) <= {x["input_length"] for x in recs}
    assert set(r["output_tokens"]) <= {x["output_length"] for x in recs}
    assert len(set(r["output_tokens"])) > len(recs) // 2  # resampled, not one value


def test_json_lines_are_told_by_their_content_not_their_suffix(tmp_path):
    # the same Mooncake records saved as .json: read as an Azure CSV before, refused with
    # "set the tenant's arrival.trace.format: mooncake", a key that lengths do not read
    src = DIR / "mooncake_toolagent.jsonl"
    as_json = tmp_path / "toolagent.json"
    as_json.write_bytes(src.read_bytes())
    a = _drawn([_lengths(src, "input_tokens")])
    b = _drawn([_lengths(as_json, "input_tokens")])
    assert a["input_tokens"].tolist() == b["input_tokens"].tolist()
    assert set(a["input_tokens"]) <= {json.loads(ln)["input_length"] for ln in open(src)}


def test_a_record_without_the_column_and_a_csv_of_other_columns_name_the_key(tmp_path):
    # ServeGen's content-hash traces (trace_a-c) record no output_length; their hash_ids count
    # 16-token blocks, which the lengths never read
    p = tmp_path / "trace_a.jsonl"
    p.write_text('{"request_id": 0, "type": "text", "input_length": 40, "hash_ids": [0, 1, 2]}\n'
                 '{"request_id": 1, "type": "text", "input_length": 20, "hash_ids": [0, 3]}\n')
    assert set(_drawn([_lengths(p, "input_tokens")])["input_tokens"]) == {20, 40}
    with pytest.raises(sim.InputError, match=r"trace_a.jsonl:1, config key "
                       r"'tenants.chat.output.path': missing field 'output_length'"):
        _drawn([_lengths(p, "output_tokens", "output")])
    # a CSV of other columns (Vidur's processed traces): said with the key and what is read
    with pytest.raises(sim.InputError, match=r"vidur_processed.csv:1, config key "
                       r"'tenants.chat.input.path': missing column.*num_prefill_tokens.*"
                       r"input_tokens and output_tokens are read from JSON lines.*by its own name"):
        _drawn([_lengths(DIR / "vidur_processed.csv", "input_tokens")])


def test_servegens_raw_chunk_files_are_refused_saying_how_to_join_them(tmp_path):
    # alibaba/ServeGen data/language/<model>/chunk-<i>-trace.csv: one client's windows, no
    # header (window start, rate, cv, family, shape, scale); its first row was quoted as the
    # header with no word on what the reader wants instead
    p = tmp_path / "chunk-1-trace.csv"
    p.write_text("0,6.0,0.9,Gamma,2.0,0.05\n600,5.5,0.95,Gamma,2.1,0.05\n")
    with pytest.raises(sim.InputError, match=r"chunk-1-trace.csv:1: missing column.*raw "
                       r"chunk-<i>-trace.csv.*client_id,window_start_s,rate_rps,iat_cv,family"):
        sim.run(["tenants.chat.arrival.kind=servegen", f"tenants.chat.arrival.servegen.path={p}",
                 "tenants.chat.arrival.servegen.client_id=1", "horizon_s=10"])
    q = tmp_path / "other.csv"
    q.write_text("client,start,rate\n1,0,6.0\n")
    with pytest.raises(sim.InputError, match=r"other.csv:1: missing column") as e:
        sim.run(["tenants.chat.arrival.kind=servegen", f"tenants.chat.arrival.servegen.path={q}",
                 "tenants.chat.arrival.servegen.client_id=1", "horizon_s=10"])
    assert "chunk-<i>" not in str(e.value)


def test_a_mooncake_style_trace_with_blocks_of_another_size_replays_without_them(tmp_path):
    # tools that write Mooncake-style traces (Dynamo's data generator, aiperf, guidellm) take
    # the block size as an option; a file of 16-token blocks was refused even with
    # arrival.trace.prefixes: false, which reads no block
    p = tmp_path / "blocks16.jsonl"
    p.write_text('{"timestamp": 0, "input_length": 40, "output_length": 7, "hash_ids": [0, 1, 2]}\n'
                 '{"timestamp": 250, "input_length": 20, "output_length": 3, "hash_ids": [0, 3]}\n')
    base = [f"{T[:-6]}.kind=trace", f"{T}.path={p}", f"{T}.format=mooncake", "horizon_s=5",
            "tenants.chat.input.kind=trace", "tenants.chat.output.kind=trace",
            "output.requests=full"]
    with pytest.raises(sim.InputError, match=r"blocks16.jsonl:1: hash_ids has 3 blocks of 512 "
                       r"tokens but input_length is 40 .*arrival.trace.prefixes: false"):
        sim.run(base)
    r = sim.run(base + [f"{T}.prefixes=false"]).requests
    assert r["arrival_s"].tolist() == [0.0, 0.25]
    assert r["input_tokens"].tolist() == [40, 20] and r["output_tokens"].tolist() == [7, 3]
    assert r["cached_tokens"].sum() == 0


@pytest.mark.parametrize("name", ["splitwise_sim.csv", "vidur_processed.csv"])
def test_a_log_of_other_columns_read_as_azure_says_how_to_name_them(name):
    # format left at its default (azure): the refusal listed the missing Azure columns only
    with pytest.raises(sim.InputError, match=rf"{name}:1: missing column.*header is .*"
                       r"tenants.chat.arrival.trace.format: csv and "
                       r"tenants.chat.arrival.trace.csv: \{time, input, output\}"):
        sim.run([f"{T[:-6]}.kind=trace", f"{T}.path={DIR / name}", "horizon_s=5"])


def test_lengths_from_a_column_named_as_the_file_names_it(tmp_path):
    # Vidur's lengths-only files (data/processed_traces/arxiv_summarization_stats_*.csv) and
    # any trace's own column: `column` takes the file's name for it; a user's own log with
    # format csv's default names (input_tokens) reads too. Before, only Azure's and BurstGPT's
    # columns were read ("column must be input_tokens or output_tokens", or missing columns)
    p = tmp_path / "arxiv_summarization_stats.csv"
    p.write_text("num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n"
                 "3772,54,3826,69.85\n2015,156,2171,12.91\n\n900,0,900,inf\n")
    r = _drawn([_lengths(p, "num_prefill_tokens"), _lengths(p, "num_decode_tokens", "output")])
    assert set(r["input_tokens"]) == {3772, 2015, 900}
    assert set(r["output_tokens"]) == {54, 156, 1}  # the 0 served as one token, counted
    own = tmp_path / "log.csv"
    own.write_text("timestamp,input_tokens,output_tokens\n0,11,5\n1,22,6\n")
    assert set(_drawn([_lengths(own, "input_tokens")])["input_tokens"]) == {11, 22}
    assert set(_drawn([_lengths(DIR / "splitwise_sim.csv", "prompt_size")])["input_tokens"]) <= {
        int(r["prompt_size"]) for r in csv.DictReader(open(DIR / "splitwise_sim.csv"))}
    with pytest.raises(sim.InputError, match=r"arxiv_summarization_stats.csv:1, config key "
                       r"'tenants.chat.input.column': missing column\(s\) \['prompt_len'\]"):
        _drawn([_lengths(p, "prompt_len")])
    with pytest.raises(sim.InputError, match=r"arxiv_summarization_stats.csv:2, config key "
                       r"'tenants.chat.input.path': pd_ratio must be an integer.*69.85"):
        _drawn([_lengths(p, "pd_ratio")])
