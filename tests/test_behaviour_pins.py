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
Issue 18 (physical factors, a modelling fix): the linear layers and attention of an iteration
now sit on rooflines of their own and add up (one roofline over the summed bytes and FLOPs
hid the GEMM time of large decode batches), and the refit keeps every memory efficiency in
0.85-0.92 (new factors and overheads in conf/catalog/default.yaml). Every run moved. Main
job, seed 0, chat's TTFT p50 / p99: serverless 74 -> 67 ms / 448 -> 384 ms; dedicated 136 ->
124 ms / 11.16 -> 9.62 s (SLO 86.2 -> 87.6 %); hybrid 121 -> 113 ms / 1.134 -> 1.060 s (SLO
98.3 -> 98.7 %, spilled 154 -> 133); background p99 1.67 -> 1.57 s (serverless), 1.68 -> 1.63 s
(hybrid); chat's TPOT p50 on dedicated 39.1 -> 39.4 ms; bills within 0.4 % (hybrid $5.36 ->
$5.34). Keepalive run: TTFT p50 70.6 -> 63.0 ms, p99 25.94 -> 25.91 s (cold starts, 1,826,
unchanged), bill unchanged. Compound run: dedicated TTFT p50 10.3 -> 9.3 ms, serverless 12.5
-> 11.9 ms; cold starts and bills unchanged. Brought onto main after the platform-scale and
diurnal-background work (neither touches these runs): the three runs were measured again on
main and on the branch, and the digests and every figure above were reproduced exactly.
Issue 18 (all-reduce protocols, a modelling fix): on NVLink 4 (H100, H200) an all-reduce
takes the faster of NCCL's low-latency protocol (the old figures, now at 0.43 of the rate)
and its bulk one (8.4 us + 3.4 us a ring step at the full rate), sim.perf.allreduce_time.
Only the main job has a TP>1 replica (the 70B on 2 H100s): its summary and requests moved;
the keepalive and compound runs are byte-identical. Seed 0, chat's TTFT p50 / p99:
serverless 67 -> 68 ms / 384 -> 386 ms; dedicated 124 -> 133 ms / 9.62 -> 12.51 s (SLO 87.6
-> 85.6 %, TPOT p50 39.4 -> 41.4 ms); hybrid 113 -> 116 ms / 1.060 -> 1.096 s (SLO 98.7 ->
98.5 %, spilled 133 -> 167 requests, bill $5.34 -> $5.38 the hour); background p99 1.571 ->
1.571 s (serverless), 1.633 -> 1.635 s (hybrid); dedicated and serverless bills unchanged.
The quiet tail (a fix): when every request has ended before the horizon, the run now plays
the rest of the horizon out (keep-alive stops, autoscaler ticks), not only a dedicated
setup's burst, failures and spot. In the compound run the pool's last three replicas (the
embedder, reranker and 8B) stopped at 3,331.7-3,333.0 s when their keep-alive ran out, where
they had been up to the horizon (3,600 s): the serverless and hybrid setups' load columns
moved (the pool's busy fraction 0.092 -> 0.108), every bill, the requests and the other runs
are unchanged.
A tenant billed per token pays no reserved GPUs (a fix, sim/metrics/cost.py): in the main
job's hybrid the long tail's assistant and coder, every request on the pool per token, paid
$0.041 and $0.017 of the 70B's reserved replicas (their share of the time after chat's
billing period); chat now pays its whole reservation ($4.747 -> $4.806, $/M out 1.2066 ->
1.2209), assistant $0.0932 -> $0.0517 and coder $0.1784 -> $0.1612, their tokens x prices.
Only the hybrid setup's tenant cost columns moved (the __all__ row, the requests and the
other runs are unchanged).
A pipeline tenant's __model__ rows hold each model's own bill (a fix, sim/metrics/summary.py):
in the compound run the tenant's whole bill sat under its first stage's model, the embedder
(serverless $0.1689, the answering 8B $0); now the embedder $0.000458, the reranker $0.0192
and the 8B $0.1492 ($1.22 per M output tokens) on the serverless and hybrid setups, and
$2.37 each on dedicated (one reserved replica per model). Only those rows' cost columns moved.
In the main job the same fix moved only the dedicated setup's __model__ rows: the time each
model's replica was up after its own tenants' billing periods, paid by the tenants still
draining, had sat under the payer's model; now every model row holds its own replicas
($2.3855 for each single-GPU model over the 3,623.6 s run, $4.7710 for the 70B's two, where
the rows read $2.370, $2.374, $2.434 and $4.749). Tenant rows and the __all__ row unchanged.
A tenant row's busy_fraction and load columns cover every model it called (a fix,
sim/metrics/summary.py): in the compound run the pipeline tenant chat held its first stage's
model's, the embedder's (busy 0.00071 serverless and hybrid, 0.00032 dedicated); now those of
the embedder, reranker and 8B together, which are every replica of the run, so they equal the
__all__ row's (busy 0.1078 serverless and hybrid, 0.0508 dedicated). Those 12 values of the
compound summary moved and nothing else (compared value by value against the code before);
the requests, and the keepalive and main runs (one model per tenant), are byte-identical. The
same work's other fixes (a request cut by the run's end logged in the tier that held it, a
request turned away late ending its tenant's period then, a quiet tenant's period the horizon)
move none of the three runs: none cuts a request or has a quiet tenant, and no tenant's last
end is a request turned away after the horizon.
The fluid engine's boundary fixes (twenty-eighth sweep, a modelling fix: a stretch cut short
ends at its own iteration's boundary, a request arriving mid-stretch stays queued until it,
a chunked prompt's attention is averaged over the stretch's own iterations, KV occupancy is
spread over the percents a stretch passes) move all three runs; against the code before,
value by value: the keepalive run's chat TTFT p50 63.0 -> 63.4 ms (p99 25.905 s unchanged,
TPOT p50 7.41 -> 7.46 ms, 4,086 of 8,819 requests admitted up to 0.12 s apart); the compound
run's __all__ percentiles unchanged at the printed digits (577 of 5,796 admissions up to
5.5 ms apart, the load columns in their last digits); the main job's chat p50 / p99:
serverless 68 -> 69 ms / 386 -> 384 ms, dedicated 133 -> 132 ms / 12.5 s, hybrid 116 ms /
1.10 -> 1.14 s with 167 -> 174 requests spilled (README's table re-run).
The fluid engine's bytes read by a stretch cut short (a fix, sim/engine/fluid.py: the cut
stretch was charged the whole plan's middle iteration): only ``bandwidth_fraction`` moved,
compared value by value against the code before (every row of the main job's summary, 0.481162
-> 0.481051 the most; both keepalive rows; 9 of the compound's 18); requests unchanged.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

import sim

CASES = {
    # the main job: serverless, dedicated and hybrid on the same requests
    "hybrid": (["experiment=hybrid", "seed=0"],
               "a291b87b89b3a8caec9556fa1b79cd9013c39feac4e9c1939a0428082b71a1d4",
               "970b98c8076157934d3a6b26b9169595602d550f48fd0b9d3f0f8ca121961a3b"),
    # a serverless run on the bursty Azure code trace (scale to zero, cold starts)
    "serverless": (["experiment=keepalive", "job=simulate", "seed=0"],
                   "3d9cf883b1feef6e709be3c0db8ebc4cf8e18662570228efc395502f972b5f56",
                   "bb5d40e2a06981bc95418266c95a8fc37e18a0684a340c4fb1f0d8745e955bd8"),
    # a compound pipeline on every setup
    "compound": (["experiment=compound", "job=simulate", "setups=[serverless,dedicated,hybrid]",
                  "seed=0"],
                 "e99521377cf2b0b821f3064f2aad96ccbf49db5c18a127dca9bf4df1b45adca5",
                 "eb78133e8f4e0e120f7d4736f8a4aeb37949204446a15ff1fb6bb4bd10e7e050"),
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
