"""The hybrid's placement said where it does something the user may not expect: a model
reserved for tenants all placed on the pool (a note, and who pays), a hybrid with no
dedicated-tier model given burst, spillover or shadow settings (not read), a placement key
naming both a tenant and a model (refused)."""

import pytest
from helpers.cli import assert_one_clear_line, run_main

import sim

M8 = "llama31-8b"
TRACE = "timestamp,input_tokens,output_tokens\n0,100,50\n1,100,50\n2,100,50\n"


def _chat_on_trace(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(TRACE)
    return [f"tenants.chat.arrival={{kind: trace, trace: {{path: {path}, format: csv}}}}",
            "tenants.chat.input={kind: trace, max: null}",
            "tenants.chat.output={kind: trace, max: null}", "setups=[hybrid]", "horizon_s=10",
            "output.plots=false", "output.parquet=false"]


def test_a_reservation_no_tenant_reaches_is_said_with_who_pays(tmp_path):
    """chat, the 8B's only tenant, is placed serverless; the 8B placed dedicated keeps its
    reserved replica (README: a model placed dedicated needs reserved replicas), which serves
    nothing: the note says so and that chat pays it, and the bill agrees: chat's dedicated
    cost is that replica's reserved price for the run (before: the same bill, unsaid)."""
    res = sim.run(_chat_on_trace(tmp_path) + [f"hybrid.placement.{M8}=dedicated",
                                              "hybrid.placement.chat=serverless",
                                              f"dedicated.replicas.{M8}=1"])
    notes = [n for n in res.notes if "serve no request" in n]
    assert len(notes) == 1, res.notes
    assert f"hybrid.placement.{M8}" in notes[0] and "billed to chat" in notes[0]
    s = res.summary.set_index("tenant").loc["chat"]
    cfg = sim.compose(["setups=[hybrid]"])
    price = cfg.catalog.gpus[cfg.deployments[M8].gpu].reserved_usd_per_hour
    assert s["cost_dedicated_usd"] == pytest.approx(s["period_s"] * price / 3600.0, rel=1e-9)


def test_no_note_when_a_tenant_is_placed_on_the_reservation(tmp_path):
    res = sim.run(_chat_on_trace(tmp_path) + [f"hybrid.placement.{M8}=dedicated",
                                              f"dedicated.replicas.{M8}=1"])
    assert not [n for n in res.notes if "serve no request" in n]


def test_a_hybrid_with_nothing_dedicated_says_burst_spillover_and_shadow_unread(tmp_path):
    given = ["dedicated.burst.enabled=true", "hybrid.spillover.enabled=true",
             "hybrid.shadow_fraction=0.5"]
    res = sim.run(_chat_on_trace(tmp_path) + ["hybrid.default_tier=serverless", *given])
    for g in given:
        key = g.split("=")[0]
        said = [n for n in res.notes if n.startswith(f"not read by this run: {key} ")]
        assert len(said) == 1 and "places no model dedicated" in said[0], (key, res.notes)


def test_with_a_dedicated_model_they_are_read(tmp_path):
    res = sim.run(_chat_on_trace(tmp_path) + [f"hybrid.placement.{M8}=dedicated",
                                              f"dedicated.replicas.{M8}=1",
                                              "dedicated.burst.enabled=true",
                                              "hybrid.spillover.enabled=true"])
    assert not [n for n in res.notes if "places no model dedicated" in n]


def test_a_placement_key_naming_a_tenant_and_a_model_is_refused(tmp_path, monkeypatch, capsys):
    status, err = run_main(["setups=[hybrid]", "horizon_s=5",
                            f"tenants={{{M8}: {{model: {M8}, arrival: {{kind: poisson, "
                            "rate_rps: 1}}}",
                            f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1"],
                           tmp_path, monkeypatch, capsys)
    assert_one_clear_line(status, err, f"hybrid.placement.{M8}")
    assert "names both a tenant and a model" in err
