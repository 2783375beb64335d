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
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

import sim

CASES = {
    # the main job: serverless, dedicated and hybrid on the same requests
    "hybrid": (["experiment=hybrid", "seed=0"],
               "4b9db0e1b1e6683ee54cbee08dab7fadb3618e16a168fcb4e3b2711fba330c92",
               "7f51b962159551cba975343b1c3aefe147e5013fec28f14f53ba79d4583add8c"),
    # a serverless run on the bursty Azure code trace (scale to zero, cold starts)
    "serverless": (["experiment=keepalive", "job=simulate", "seed=0"],
                   "1e24ffe6ee4babfc07ecc18dad596804e61b4887e9c35a962f5c985ee59656c8",
                   "6432cf0c6e9a57aebce0d16642f12a6ea256e464fb694b1be76fb62b583eb5fd"),
    # a compound pipeline on every setup
    "compound": (["experiment=compound", "job=simulate", "setups=[serverless,dedicated,hybrid]",
                  "seed=0"],
                 "68f5ef4aa811d1956c558110c9518fe425c98ee97c993d1965a8175138a346c2",
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
