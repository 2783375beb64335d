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
Issue 14 (warm starts, warm-up windows, storage links): summary.csv gains the columns
``window``, ``warmup_s`` and ``start`` in all three runs. Per-node storage links with a
backend total (max-min fair) replaced the single shared link: no value of the three pinned
runs moved (compared column by column: their concurrent remote loads never bind a node
link), so the keepalive and compound digests moved by the new columns alone and their
requests digests are unchanged. The main job (experiment=hybrid) now sets
``serverless.start: warm``: its dedicated rows and requests are identical; on the pool, chat's
34 cold-started requests at t=0 are gone (serverless chat p50 72 -> 72 ms, p99 461 -> 425 ms,
SLO 99.8 -> 100 %), the user tenants' cold starts go 120 -> 86 (serverless; the long tail's 86
are unchanged: its on/off tenants are off at t=0), the background's 33 -> 23 (serverless) and
62 -> 23 (hybrid), background p99 TTFT 9.38 -> 1.64 s (serverless) and 26.8 -> 1.67 s (hybrid);
the hybrid's chat (p50 118 ms, p99 1.125 s), every bill and every dedicated value unchanged.
The two were merged on 2026-12-03 and the digests recomputed; each change had been checked
against the code before it on its own. The load-figures work (also issue 14) merged after them:
Issue 14
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
files is byte-identical to the previous run's. Merged onto the billing and warm-start work,
the three summaries were compared once more against that code: only the rename, the four
load columns and the model rows differ; requests.parquet is identical.
Then (issue 14, readable at scale) the hybrid run's hybrid setup gained two rows,
``__tier__:dedicated`` and ``__tier__:serverless`` (its user requests went to both tiers);
the diff of summary.csv against the previous code is those two added lines and nothing else;
the keepalive and compound digests (one tier per setup) and every requests digest did not move.
Issue 18 (tensor-parallel scaling, a modelling fix): an all-reduce now costs a latency that
grows with the group (6 us + 2(p - 1) x 0.8 us on NVLink) and moves at 0.82 of the line rate
(sim.perf.allreduce_time), instead of a flat 10 us at the full rate. Only the main job has a
TP>1 replica (the 70B on 2 H100s): its summary and requests moved; the keepalive and
compound runs (all TP1) are byte-identical. On seed 0, chat's TTFT p50 / p99: serverless 72
-> 74 ms / 425 -> 448 ms; dedicated 131 -> 136 ms / 9.86 -> 11.16 s (SLO 87.3 -> 86.2 %);
hybrid 118 -> 121 ms / 1.125 -> 1.134 s (SLO 98.4 -> 98.3 %, spilled 127 -> 154 requests);
background p99 1.64 -> 1.67 s (serverless) and 1.67 -> 1.68 s (hybrid); bills moved by under
0.3 % (hybrid $5.34 -> $5.36 the hour). Decode iterations of the TP2 replica barely move
(chat's TPOT p50 on dedicated 38.9 -> 39.1 ms): the prefill-heavy iterations carry most of
the extra transfer time.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

import sim

CASES = {
    # the main job: serverless, dedicated and hybrid on the same requests
    "hybrid": (["experiment=hybrid", "seed=0"],
               "d8655c36e053afb649646046cf3d268b4be7a3753818a51c30486e5f8d7aad23",
               "93096abf20636ab839d6c607ad62d22bc8dfbc32950e1a68bacd9129248b9001"),
    # a serverless run on the bursty Azure code trace (scale to zero, cold starts)
    "serverless": (["experiment=keepalive", "job=simulate", "seed=0"],
                   "84594a468dfebe4425cce6f47df1ed5a1f9cd1b8c59c10f07d332a29aa172721",
                   "6432cf0c6e9a57aebce0d16642f12a6ea256e464fb694b1be76fb62b583eb5fd"),
    # a compound pipeline on every setup
    "compound": (["experiment=compound", "job=simulate", "setups=[serverless,dedicated,hybrid]",
                  "seed=0"],
                 "b3793c1191c27bd05f736fc3cb542504b0302f4431590b958059bf4cdeff7dad",
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
