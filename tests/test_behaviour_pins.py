"""Behaviour pins: the exact outputs of three reference runs, as sha256 digests.

Taken before the December 2026 re-layout of the package (issue 12) so that moving and
splitting modules provably changes nothing. ``summary.csv`` is pinned byte for byte;
``requests.parquet`` by its content (the table written back as CSV with every float at full
precision), because the Parquet file's own bytes carry the writer library's version.

A change that is meant to move these numbers (a modelling fix) updates the digests in the
same commit and says why in its message; anything else that moves them is a regression.
History: summary.csv gained the ``clipped`` column (hostile-input work); every other byte of
summary.csv and the requests were checked unchanged then. The KV-cache work (issue 13) added
summary columns cached_tokens, cache_hit_rate, preemptions and request columns cached_tokens,
preemptions, preempt_s; every other column of summary.csv, requests.parquet and replicas.csv
was compared value for value against the previous code and found identical. Issue 14
renamed the summary column ``gpu_utilization`` to ``busy_fraction`` (same place, same
values: the three summaries were compared frame against frame after the rename, exactly
equal; requests.parquet unchanged). The same issue made experiments' tenants replace the
base config's instead of merging with them: none of the three pinned runs had inherited a
tenant or a value, and their digests did not move with it.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

import sim

CASES = {
    # the main job: serverless, dedicated and hybrid on the same requests
    "hybrid": (["experiment=hybrid", "seed=0"],
               "0d465ae5a6b0612598be0dbddad31adfde7a64f21a4af2e1cc9752b4c3b192a4",
               "7f51b962159551cba975343b1c3aefe147e5013fec28f14f53ba79d4583add8c"),
    # a serverless run on the bursty Azure code trace (scale to zero, cold starts)
    "serverless": (["experiment=keepalive", "job=simulate", "seed=0"],
                   "e8ebc40472d36b1f7412bd6c4c382f059fe6bf8bd25bbe2a10912c57ba0a560e",
                   "6432cf0c6e9a57aebce0d16642f12a6ea256e464fb694b1be76fb62b583eb5fd"),
    # a compound pipeline on every setup
    "compound": (["experiment=compound", "job=simulate", "setups=[serverless,dedicated,hybrid]",
                  "seed=0"],
                 "9c264936ef2d23b6ae458b48ffd074f7a09b58c8e6032d72f01e96c4aa83a9f6",
                 "7dbdd99093a76e460ea5d06b117e59c068c4d7bb9e30c35deb33df3e59f61035"),
}


def digests(out_dir) -> tuple[str, str]:
    summary = hashlib.sha256((out_dir / "summary.csv").read_bytes()).hexdigest()
    table = pd.read_parquet(out_dir / "requests.parquet")
    content = table.to_csv(index=False, float_format="%.17g").encode()
    return summary, hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_are_pinned(name, tmp_path):
    overrides, summary_sha, requests_sha = CASES[name]
    sim.run(overrides + ["output.plots=false", "output.report=false"], output_dir=tmp_path)
    assert digests(tmp_path) == (summary_sha, requests_sha)
