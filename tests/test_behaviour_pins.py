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
tenant or a value, and their digests did not move with it. Then summary.csv gained the
load columns capacity_fraction, kv_occupancy_mean, kv_occupancy_p99 and bandwidth_fraction
(sim/metrics/load.py); every other column of summary.csv and all of requests.parquet were
compared exactly against the previous run and are identical. Then summary.csv gained one
``__model__:<m>`` row per model for setups whose user tenants call several models (hybrid:
4 models, compound: 4 including the pipeline's tool stage; the single-model keepalive run
has none, and its digest did not move); every pre-existing line of the three summary.csv
files is byte-identical to the previous run's.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

import sim

CASES = {
    # the main job: serverless, dedicated and hybrid on the same requests
    "hybrid": (["experiment=hybrid", "seed=0"],
               "24d19b7ebcff3f3bcfc2a22baf4858ceed7787672618928f80d06b1191937150",
               "7f51b962159551cba975343b1c3aefe147e5013fec28f14f53ba79d4583add8c"),
    # a serverless run on the bursty Azure code trace (scale to zero, cold starts)
    "serverless": (["experiment=keepalive", "job=simulate", "seed=0"],
                   "d7c05d7b20975f118411abe3530c3ec41dc1abfe8f17c43e0c99ee23560318c0",
                   "6432cf0c6e9a57aebce0d16642f12a6ea256e464fb694b1be76fb62b583eb5fd"),
    # a compound pipeline on every setup
    "compound": (["experiment=compound", "job=simulate", "setups=[serverless,dedicated,hybrid]",
                  "seed=0"],
                 "86ac0fd35c9b737e22285a63d1be9344551a12b7c8cec94f1ecdee368953c9a5",
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
