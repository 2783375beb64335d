"""Readable at scale: per-model aggregate rows in the summary (checked against the
per-request frame), and the console / report / sweep tables that show aggregates and the
busiest tenants only, saying how many rows they left out."""

import numpy as np
import pandas as pd
import pytest

import sim
from sim.records import ALL, MODEL_ROW
from sim.report.condense import TOP_TENANTS, condense, slo_by_tenant

TWO_MODELS = ["horizon_s=120", "output.plots=false", "output.report=false",
              "tenants.big={model: qwen3-32b, arrival: {rate_rps: 1}}",
              "tenants.other={model: llama31-8b, arrival: {rate_rps: 2}}"]


@pytest.fixture(scope="module")
def two_models():
    return sim.run(TWO_MODELS)


def test_model_rows_are_computed_from_that_models_requests(two_models):
    s, req = two_models.summary, two_models.requests
    rows = s[s["tenant"].str.startswith(MODEL_ROW)].set_index("tenant")
    assert sorted(rows.index) == [MODEL_ROW + "llama31-8b", MODEL_ROW + "qwen3-32b"]
    for m in ("llama31-8b", "qwen3-32b"):
        r, mine = rows.loc[MODEL_ROW + m], req[req["model"] == m]
        done = mine[mine["outcome"] == "completed"]
        assert r["model"] == m and r["requests"] == len(mine) and r["completed"] == len(done)
        assert r["output_tokens"] == done["output_tokens"].sum()
        assert r["ttft_p99_s"] == pytest.approx(np.percentile(done["ttft_s"], 99), rel=1e-12)
    # llama31-8b is called by two tenants (chat at 4 req/s, other at 2): their requests together
    llama = s[s["tenant"].isin(["chat", "other"])]
    assert rows.loc[MODEL_ROW + "llama31-8b", "requests"] == llama["requests"].sum()
    # a model row's cost is its own replicas' bill (replicas.csv), whoever of the tenants paid
    # it (a model's replica up after its own tenants' periods is paid by those still draining)
    ledger = two_models.tables["replicas"].groupby("model")["cost_usd"].sum()
    for m in ("llama31-8b", "qwen3-32b"):
        assert rows.loc[MODEL_ROW + m, "cost_usd"] == pytest.approx(ledger[m], rel=1e-9)
    total = s[s["tenant"] == ALL].iloc[0]
    assert rows["requests"].sum() == total["requests"]
    assert rows["cost_usd"].sum() == pytest.approx(total["cost_usd"], rel=1e-9)


def test_one_model_has_no_model_rows():
    s = sim.run(["horizon_s=30", "output.plots=false"]).summary
    assert list(s["tenant"]) == ["chat", ALL]


def _many(n_tenants: int, setups=("a", "b")) -> pd.DataFrame:
    rows = []
    for setup in setups:
        for i in range(n_tenants):
            rows.append({"setup": setup, "tenant": f"t{i:02d}", "requests": (i * 7) % n_tenants,
                         "slo_attainment": i / 100, "job": 0})
        rows.append({"setup": setup, "tenant": ALL, "requests": 1000, "slo_attainment": 0.5, "job": 0})
    return pd.DataFrame(rows)


def test_condense_keeps_aggregates_and_the_busiest_tenants():
    df = _many(15)
    shown, left = condense(df)
    assert left == 2 * (15 - TOP_TENANTS)
    tenants = set(shown["tenant"]) - {ALL}
    # requests (i * 7) % 15: the ten largest values 5..14 belong to these tenants
    want = {f"t{i:02d}" for i in range(15) if (i * 7) % 15 >= 5}
    assert tenants == want and (shown["tenant"] == ALL).sum() == 2
    assert condense(_many(TOP_TENANTS)) [1] == 0


def test_sweep_slo_table_has_a_row_per_busy_tenant():
    df = _many(12)
    long = slo_by_tenant(df, ["job", "setup"])
    assert len(long) == 2 * TOP_TENANTS and ALL not in set(long["tenant"])
    assert list(long.columns[:3]) == ["job", "setup", "tenant"] and "slo_attainment" in long
    row = long[(long["setup"] == "a") & (long["tenant"] == "t03")]
    assert row["slo_attainment"].tolist() == pytest.approx([0.03])
    # the measured window only: warm-up twins are not rows of their own
    warm = df.assign(window="measured")
    warm = pd.concat([warm, warm.assign(tenant=warm["tenant"] + "@warmup", window="warmup")])
    assert slo_by_tenant(warm, ["job", "setup"]).equals(long)


def test_the_console_says_what_it_left_out(capsys):
    from omegaconf import OmegaConf

    from sim.records import Result
    from sim.report.console import print_result

    print_result(Result(summary=_many(13).drop(columns=["job"]), requests=pd.DataFrame()),
                 OmegaConf.create({}))
    out = capsys.readouterr().out
    assert "6 rows of tenants beyond the 10 busiest are left out" in out
    assert out.count("__all__") == 2


def test_console_half_widths_carry_their_unit_and_mean_counts_their_fraction():
    import pandas as pd

    from sim.report.console import format_table

    df = pd.DataFrame([{"setup": "dedicated", "tenant": "chat", "requests": 248.67,
                        "completed": 248.67, "ttft_p50_s": 0.017, "ttft_p50_s_ci95": 0.003,
                        "ttft_p99_s": 1.18, "ttft_p99_s_ci95": 0.149}])
    text = format_table(df)
    assert "17 ms ±3 ms" in text and "1.18 s ±0.15 s" in text
    # a mean count keeps its fraction, as summary.csv does (rounded to "249" until December
    # 2026: a 2.5 mean of 0 and 5 requests was printed "2")
    assert "248.7" in text and "249 " not in text
    assert " 248 " in format_table(df.assign(requests=248.0, completed=248.0))
