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
    "azure_2024_week": ([f"{T}.format=azure", f"{T}.duplicates=keep"],
                        lambda: _rows("azure_2024_week.csv", *AZ)),
    "azure_2025_multimodal": ([f"{T}.format=azure", f"{T}.duplicates=keep"],
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
    exceed = re.search(r"(\d+) requests? exceeds? their model's context", notes)
    assert (int(exceed.group(1)) if exceed else 0) == over, res.notes
