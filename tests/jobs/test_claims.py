"""Claims audit: every claim of CALIBRATION.md section 8 gets a verdict from simulations; a
verdict follows the prices it is given; the registry takes a new claim as one function."""

import re

import pytest

import sim
from sim.errors import InputError
from sim.jobs.claims import run_claims
from sim.jobs.claims.registry import CLAIMS, FAILS, HOLDS, NOT_SIMULATED, Verdict, claim

QUICK = ["experiment=claims", "claims.quick=true"]


@pytest.fixture(scope="module")
def quick_table():
    return run_claims(sim.compose(QUICK))


def test_every_claim_runs_in_quick_mode_and_has_a_verdict(quick_table):
    t = quick_table
    assert list(t["id"]) == [c.id for c in CLAIMS]
    assert set(t["verdict"]) <= {HOLDS, FAILS, NOT_SIMULATED}
    for r in t.itertuples():
        assert r.claim and r.simulated and r.why, r.id
        # a simulated verdict states the setting it was reached in
        assert r.verdict == NOT_SIMULATED or r.assumptions, r.id
    by = t.set_index("id")
    # the pipeline claim is simulated (experiment=compound); runtime tuning is an input
    assert by.loc["pipeline_cold_starts", "verdict"] == HOLDS
    assert by.loc["pipeline_cold_starts", "value"] == pytest.approx(22.0, abs=0.5)
    assert by.loc["runtime_tuning_2x", "kind"] == "input"
    # section 8's claims are all there (the multi-part ones split into rows)
    for cid in ("breakeven_utilisation", "h100_monthly_cost", "qwen3_32b_batch32_throughput",
                "llama70b_cost_at_70pct", "crossover_monthly_volume", "shared_pool_p50_p99",
                "p99_over_3x_p50_signal", "ttft_over_5s_is_cold", "cold_start_70b_network",
                "warm_ttft_milliseconds", "uptime_sla", "worked_u_star"):
        assert cid in by.index


def _seconds(text: str) -> tuple[float, float]:
    """The least and greatest seconds a value written as format_seconds writes it stood for."""
    value, unit = text.split()
    v, half = (float(value) / 1000, 0.0005) if unit == "ms" else (float(value), 0.005)
    return v - half, v + half


def test_a_ratio_line_gives_its_pair_in_the_ratios_order(quick_table):
    """The signal claim said "assistant: p99/p50 3.0 shared (26.93 s / 80.37 s)": the pair
    was p50 / p99 and divides to 0.34; until December 2026. Each pair now divides to the
    ratio it stands beside (to the rounding of the pair as written)."""
    text = quick_table.set_index("id").loc["p99_over_3x_p50_signal", "simulated"]
    pairs = re.findall(r"(\d+\.\d) (?:shared|dedicated) \(([\d.]+ m?s) / ([\d.]+ m?s)\)", text)
    assert len(pairs) >= 2, text
    for ratio, top, bottom in pairs:
        (t0, t1), (b0, b1) = _seconds(top), _seconds(bottom)
        assert t0 / b1 - 0.05 <= float(ratio) <= t1 / b0 + 0.05, text


def test_monthly_h100_bill_is_simulated_and_flips_with_the_price():
    """730 h x $3.95 = $2,883.50 ('about $2,900'); at $6.88/h (CAL §5) the bill is $5,022.40."""
    base = run_claims(sim.compose(QUICK), only=["h100_monthly_cost"]).iloc[0]
    dear = run_claims(sim.compose(QUICK + ["catalog.gpus.H100.on_demand_usd_per_hour=6.88"]),
                      only=["h100_monthly_cost"]).iloc[0]
    assert base["verdict"] == HOLDS and base["value"] == pytest.approx(730 * 3.95, rel=1e-9)
    assert dear["verdict"] == FAILS and dear["value"] == pytest.approx(730 * 6.88, rel=1e-9)


def test_breakeven_claim_follows_the_gpu_price(quick_table):
    """The crossover utilisation is computed: at a dearer GPU-hour it moves up in proportion
    (the dedicated bill is GPUs x rate x period; the per-token bill does not change)."""
    dear = run_claims(sim.compose(QUICK + ["catalog.gpus.H100.on_demand_usd_per_hour=7.9"]),
                      only=["breakeven_utilisation"]).iloc[0]
    base = quick_table.set_index("id").loc["breakeven_utilisation"]
    # same requests, twice the rate: the crossover's throughput doubles up to interpolation
    assert dear["value"] == pytest.approx(2 * base["value"], rel=0.03)


def test_a_new_claim_is_one_function():
    @claim("test_dummy", "a claim added by a test")
    def _dummy(ctx):
        return Verdict(HOLDS, f"quick={ctx.quick}", 1.0, "", "none", "always")

    try:
        t = run_claims(sim.compose(QUICK), only=["test_dummy"])
        assert list(t["id"]) == ["test_dummy"] and t.iloc[0]["simulated"] == "quick=True"
        with pytest.raises(ValueError):
            claim("test_dummy", "again")(_dummy)
    finally:
        CLAIMS[:] = [c for c in CLAIMS if c.id != "test_dummy"]


def test_unknown_claim_names_the_key():
    with pytest.raises(InputError) as e:
        sim.run(QUICK + ["claims.only=[nope]"])
    assert e.value.key == "claims.only"


def test_claims_job_writes_csv_and_markdown(tmp_path):
    res = sim.run(QUICK + ["claims.only=[h100_monthly_cost,pipeline_cold_starts]"], output_dir=tmp_path)
    csv = (tmp_path / "claims.csv").read_text()
    md = (tmp_path / "claims.md").read_text()
    assert "h100_monthly_cost" in csv and "pipeline_cold_starts" in csv
    assert "**holds**" in md and "three 15 s LLMs 45.0 s" in md
    assert list(res.tables["verdicts"]["verdict"]) == [HOLDS, HOLDS]
