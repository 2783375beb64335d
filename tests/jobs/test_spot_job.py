"""The spot experiment runs end to end on a short horizon: its variants, their bills by hand."""

import pytest

import sim


def test_spot_experiment_compares_its_variants_on_the_same_requests(tmp_path):
    res = sim.run(["experiment=spot", "horizon_s=300", "tenants.chat.arrival.rate_rps=20",
                   "dedicated.spot.preemption.per_gpu_hour=20", "output.plots=false"],
                  output_dir=tmp_path)
    cmp = res.tables["comparison"].set_index("setup")
    assert list(cmp.index) == ["on_demand", "half_spot", "all_spot", "half_spot+spare"]
    assert list(cmp["spot_replicas"]) == [0, 2, 4, 3] and list(cmp["replicas"]) == [4, 4, 4, 5]
    assert (tmp_path / "comparison.csv").stat().st_size > 0
    assert len(set(cmp["requests"])) == 1  # the same requests in every variant
    for _, s in res.summary.query("tenant == '__all__'").iterrows():
        assert s["completed"] + s["rejected"] + s["failed"] == s["requests"]
    # on demand only: four replicas at $3.95/GPU-hour over the billing period
    period = res.summary.query("setup == 'on_demand' and tenant == '__all__'").iloc[0]["period_s"]
    assert cmp.loc["on_demand", "cost_usd"] == pytest.approx(4 * 3.95 * period / 3600, rel=1e-9)
    # all spot: the bill is the spot rows' GPU time at $2.25, replacements loading included
    rows = res.tables["all_spot_spot"]
    assert cmp.loc["all_spot", "cost_usd"] == pytest.approx(rows["billed_s"].sum() * 2.25 / 3600, rel=1e-9)
    assert cmp.loc["all_spot", "preemptions"] == int((rows["reclaim_s"] <= period).sum()) > 0
    assert cmp.loc["all_spot", "cost_saving"] > cmp.loc["half_spot", "cost_saving"] > 0


def test_spot_baseline_is_named_after_its_pricing_and_a_dearer_mix_is_said_above(tmp_path):
    """With ``dedicated.pricing=reserved`` the mix without spot bills $2.37/GPU-hour: it was
    still named ``on_demand`` and the notes compared against "on-demand only"; a mix that
    costs more (the spare) read "the bill -44 % below" (December 2026)."""
    res = sim.run(["experiment=spot", "horizon_s=60", "tenants.chat.arrival.rate_rps=5",
                   "dedicated.replicas.llama31-8b=2", "dedicated.pricing=reserved",
                   "output.plots=false"])
    cmp = res.tables["comparison"].set_index("setup")
    assert list(cmp.index) == ["reserved", "half_spot", "all_spot", "half_spot+spare"]
    period = res.summary.query("setup == 'reserved' and tenant == '__all__'").iloc[0]["period_s"]
    assert cmp.loc["reserved", "cost_usd"] == pytest.approx(2 * 2.37 * period / 3600, rel=1e-9)
    # the spare: 1 reserved + 2 spot ($2.25) against 2 reserved, over about the same period
    spare = [n for n in res.notes if n.startswith("half_spot+spare:")]
    assert cmp.loc["half_spot+spare", "cost_saving"] < 0 and len(spare) == 1
    pct = round(-100 * cmp.loc["half_spot+spare", "cost_saving"])
    assert spare[0].startswith(f"half_spot+spare: the bill {pct} % above reserved only")
    assert not any("on-demand" in n or "% below" in n and "-" in n.split("%")[0] for n in res.notes)


def test_a_model_without_a_replicas_entry_gets_its_spot_mixes():
    """`job=spot` on the default experiment (llama31-8b has no `dedicated.replicas` entry:
    the setup gives it one replica): the four mixes ran the same one on-demand replica,
    spot_replicas 0 in every row, unsaid (twenty-third sweep). Now the one replica is the
    count: half of it is none, all of it one spot replica, the spare two with one spot."""
    res = sim.run(["job=spot", "horizon_s=3", "dedicated.spot.preemption.mode=rate",
                   "dedicated.spot.preemption.per_gpu_hour=2", "output.plots=false",
                   "output.report=false"])
    cmp = res.tables["comparison"].set_index("setup")
    assert list(cmp["spot_replicas"]) == [0, 0, 1, 1] and list(cmp["replicas"]) == [1, 1, 1, 2]
    # all spot: one spot replica billed at $2.25 against one reserved at $2.37, same period
    period = res.summary.query("setup == 'reserved' and tenant == '__all__'").iloc[0]["period_s"]
    assert cmp.loc["reserved", "cost_usd"] == pytest.approx(2.37 * period / 3600, rel=1e-9)
    rows = res.tables["all_spot_spot"]
    assert cmp.loc["all_spot", "cost_usd"] == pytest.approx(rows["billed_s"].sum() * 2.25 / 3600,
                                                            rel=1e-9)
