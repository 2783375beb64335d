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
was compared value for value against the previous code and found identical.
Issue 14 (tenant costs) added cost_per_mtok_total_usd and made a tenant row's period_s its
own billing period (horizon + its own drain, sim/metrics/billing.py): in the serverless and
compound runs only the new column is new; in the hybrid run the tenants' period_s,
throughput_tok_s and monthly_* columns moved (their own periods), and on dedicated and
hybrid the GPU-time cost columns of tenants moved (GPU time after a tenant's period goes to
those still draining); every __all__ and __background__ value and the requests are unchanged.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

import sim

CASES = {
    # the main job: serverless, dedicated and hybrid on the same requests
    "hybrid": (["experiment=hybrid", "seed=0"],
               "d7f2090f06f336f1b81e283acbd76b1af9eee3c822f5ab7a89248b71593c717f",
               "7f51b962159551cba975343b1c3aefe147e5013fec28f14f53ba79d4583add8c"),
    # a serverless run on the bursty Azure code trace (scale to zero, cold starts)
    "serverless": (["experiment=keepalive", "job=simulate", "seed=0"],
                   "dc0364ed30bc9cc8944382a086205d431b2bd7540967c6315c72538a1ae8188a",
                   "6432cf0c6e9a57aebce0d16642f12a6ea256e464fb694b1be76fb62b583eb5fd"),
    # a compound pipeline on every setup
    "compound": (["experiment=compound", "job=simulate", "setups=[serverless,dedicated,hybrid]",
                  "seed=0"],
                 "8b93d61d2f8b06673c379d496d3b5b9d997afdb6a373bc98a77f61627a85c39b",
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
