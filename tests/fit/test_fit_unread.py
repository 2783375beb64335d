"""``sim.fit --config`` keys the fit never reads are refused, one line naming the key.

Until December 2026 ``--config deployments.llama31-8b.perf.kind=table`` (with its
``table_path`` and ``kv_capacity_tokens``) had its file checked, then the roofline fitted:
``sim/fit/replay.py`` builds ``RooflinePerf(dep)`` whatever the config says, so its
residuals were byte-identical to a run without the keys. Likewise another GPU's or model's
catalog entry, a price, another precision's factors. The keys still taken are read: each
one shows in the deployment replayed.
"""

import pytest
from helpers.cli import assert_one_clear_line
from helpers.fitlog import DEPLOY

from sim.fit.__main__ import deployment, main, parse

M = "deployments.llama31-8b"


@pytest.mark.parametrize("overrides, key, why", [
    ([f"{M}.perf.kind=table", f"{M}.perf.table_path={{table}}", f"{M}.perf.kv_capacity_tokens=200000"],
     f"{M}.perf.kind", "a measured table has none"),
    ([M + ".perf={kind: table, table_path: '{table}', kv_capacity_tokens: 200000}"],
     f"{M}.perf.kind", "a measured table has none"),
    ([f"{M}.perf.kv_capacity_tokens=200000"], f"{M}.perf.kv_capacity_tokens",
     "replays the roofline model, which reads no perf table"),
    ([f"{M}.perf.table_path={{table}}"], f"{M}.perf.table_path", "reads no perf table"),
    ([f"{M}.swap_gb=3"], f"{M}.swap_gb", "swaps only with admission paged and preemption swap"),
    (["catalog.gpus.A100.memory_gb=10"], "catalog.gpus.A100.memory_gb", "runs on H100"),
    (["catalog.models.qwen3-32b.layers=3"], "catalog.models.qwen3-32b.layers", "serves llama31-8b"),
    (["catalog.gpus.H100.on_demand_usd_per_hour=1"], "catalog.gpus.H100.on_demand_usd_per_hour",
     "prices nothing"),
    (["catalog.gpus.H100.efficiency.bf16.memory=0.3"], "catalog.gpus.H100.efficiency.bf16.memory",
     "runs at fp8"),
])
def test_a_key_the_fit_does_not_read_is_refused(tmp_path, capsys, overrides, key, why):
    table = tmp_path / "table.csv"
    table.write_text("decode_seqs,prefill_tokens,step_time_s\n1,0,0.01\n1,512,0.02\n"
                     "8,0,0.012\n8,512,0.025\n")
    log = tmp_path / "a.csv"
    log.write_text("input_tokens,output_tokens,ttft_s,tpot_s\n10,5,0.1,0.01\n20,5,0.1,0.01\n"
                   "40,9,0.1,0.01\n")
    flags = [x for o in overrides for x in ("--config", o.replace("{table}", str(table)))]
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(log), *DEPLOY, "--max-evaluations", "5",
              "--out", str(tmp_path / "o"), *flags])
    err = capsys.readouterr().err
    assert_one_clear_line(e.value.code, err, f"config key '{key}'")
    assert why in err
    assert not (tmp_path / "o").exists()  # refused before the fit


@pytest.mark.parametrize("override, read", [
    # each key taken changes the deployment replayed (its default in brackets)
    ("catalog.gpus.H100.seq_overhead_s=0.002", lambda d: d.gpu.seq_overhead_s == 0.002),  # 1e-5
    ("catalog.gpus.H100.efficiency.fp8.memory=0.3", lambda d: d.gpu.efficiency["fp8"].memory == 0.3),
    ("catalog.models.llama31-8b.layers=16", lambda d: d.model.layers == 16),  # 32
    (f"{M}.block_size=32", lambda d: d.block_size == 32),  # 16
    (f"{M}.perf.kind=roofline", lambda d: d.gpu.key == "H100"),  # the model the fit replays
])
def test_the_keys_taken_are_read(override, read):
    assert read(deployment(parse(["--requests", "x", *DEPLOY, "--config", override])))
