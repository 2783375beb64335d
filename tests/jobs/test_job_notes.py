"""Every study job says what its workload did not take as given (here: output lengths
clipped to the length config's max), as the main job does: before, only `simulate` and
`prefix_cache` did, and the other studies changed lengths silently."""

import math
import re

import pytest

import sim

MAX = 500  # the output cap; a lognormal of mean 400 and CV 2 exceeds it often


@pytest.mark.parametrize("experiment", ["burst", "failures", "spot", "keepalive", "noisy_neighbour"])
def test_each_study_notes_the_lengths_it_clipped(experiment):
    res = sim.run([f"experiment={experiment}", "horizon_s=120", "output.plots=false",
                   "output.report=false",
                   f"tenants.chat.output={{kind: lognormal, mean: 400, cv: 2.0, max: {MAX}}}"])
    notes = [n for n in res.notes if "lengths were changed" in n]
    assert len(notes) == 1 and notes[0].startswith("tenant chat: ")
    said = int(re.search(r"chat: ([\d,]+) requests", notes[0]).group(1).replace(",", ""))
    # independently: the requests of one setup (the same workload in every one) at the cap
    req = res.requests
    first = req[req["setup"] == req["setup"].iloc[0]]
    for col in ("policy", "keepalive_s", "background_level"):  # one variant of the study
        if col in first:
            v = first[col].iloc[0]
            first = first[first[col].isna()] if v != v else first[first[col] == v]
    at_cap = int((first["output_tokens"] == MAX).sum())
    # every clipped request sits at the cap; a few drew a length that rounds to it exactly
    # and were not changed: the lognormal's density at 500 tokens is 0.00045 a token, so
    # about lam = 0.00045 n of n requests (Poisson); allow lam + 4 sqrt(lam) + 2
    sigma2 = math.log(1 + 2.0 ** 2)
    mu = math.log(400) - sigma2 / 2
    pdf = math.exp(-(math.log(MAX) - mu) ** 2 / (2 * sigma2)) / (MAX * math.sqrt(2 * math.pi * sigma2))
    lam = pdf * len(first)
    assert said > 0 and 0 <= at_cap - said <= lam + 4 * math.sqrt(lam) + 2


def test_a_run_where_nothing_arrives_says_so():
    """A horizon shorter than the first arrival: the tables are empty and a note says why
    (before, zero-request rows came with no word); a run with arrivals has no such note."""
    empty = sim.run(["horizon_s=1e-6", "output.plots=false", "output.report=false"])
    assert len(empty.requests) == 0
    assert [n for n in empty.notes if n.startswith("no request arrived")] == [
        "no request arrived within the horizon (1e-06 s): every figure of the run is empty"]
    some = sim.run(["horizon_s=30", "output.plots=false", "output.report=false"])
    assert len(some.requests) > 0
    assert not [n for n in some.notes if n.startswith("no request arrived")]


@pytest.mark.parametrize("policy", ["reject", "clip"])
def test_the_length_note_counts_in_the_right_number_and_names_only_what_could_happen(policy):
    """One request is one request; cutting to the context is named only when
    ``workload.overlength=clip`` (with ``reject`` such requests are turned away, not cut)."""
    from types import SimpleNamespace

    from sim.workload import Workload
    wl = SimpleNamespace(tenants=["a", "b"], changed={"a": 1, "b": 1200}, over_counts={},
                         changed_how={}, changed_over={})
    one, many = Workload.length_notes(wl, policy)
    assert one.startswith("tenant a: 1 request's length was changed")
    assert many.startswith("tenant b: 1,200 requests' lengths were changed")
    assert ("cut to the context" in many) == (policy == "clip")


def test_the_keepalive_note_says_which_fixed_timeouts_hybrid_beats_in_words():
    # it read "it beats on both the fixed timeouts [] s and is beaten on both by [] s" when
    # every fixed timeout traded cold starts for idle time
    from sim.jobs.keepalive import dominance

    assert dominance([5.0, 15.0], [300.0]) == (
        "it beats the fixed timeouts 5, 15 s on both counts; the fixed timeout 300 s beats it "
        "on both")
    assert dominance([5.0], []) == "it beats the fixed timeout 5 s on both counts"
    assert dominance([], [300.0, 600.0]) == "the fixed timeouts 300, 600 s beat it on both"
    assert dominance([], []) == ("no fixed timeout is better or worse on both counts: each has "
                                 "fewer cold requests or fewer idle GPU-h, not both, or ties on one")
    # a tie on both counts (keepalive.fixed_idle_s=[0] on a short run) was said to trade
    assert dominance([], [], [0.0]) == "the fixed timeout 0 s matches it on both"


def test_a_fixed_timeout_equal_to_hybrid_on_both_counts_is_said_to_match_it():
    res = sim.run(["experiment=keepalive", "horizon_s=20", "keepalive.fixed_idle_s=[0]",
                   "output.plots=false", "output.report=false"])
    t = res.tables["keepalive"]
    hy, fx = t[t["policy"] == "hybrid"].iloc[0], t[t["policy"] == "fixed"].iloc[0]
    said = [n for n in res.notes if n.startswith("hybrid: ")]
    tie = (fx["cold_fraction"] == hy["cold_fraction"]) and (fx["idle_gpu_hours"] == hy["idle_gpu_hours"])
    assert len(said) == 1 and ("matches it on both" in said[0]) == tie
    assert tie  # the case the sweep found: 12 cold requests and 0.007616 idle GPU-h each


EMBED = """# @package _global_
tenants:
  chat:
    model: bge-large-en
    arrival: {kind: poisson, rate_rps: 2.0}
    input: {kind: fixed, mean: 100}
%s
deployments:
  bge-large-en: {gpu: H100, precision: bf16, tp: 1}
"""


@pytest.mark.parametrize("mean,said", [(50, True), (256, True), (None, False)])
def test_an_output_length_set_in_an_experiment_file_for_an_embedding_model_is_said_unread(
        tmp_path, mean, said):
    """An embedding model produces no tokens: the output length an experiment file gives its
    tenant is not read, said as the command line's keys are (unsaid before December 2026).
    The file's own keys are read from it (sim/simulation/unread.py), so a value equal to the
    schema's default (fixed 256) is said too; a file that sets no output gets no note."""
    (tmp_path / "experiment").mkdir()
    out = "" if mean is None else f"    output: {{kind: fixed, mean: {mean}}}"
    (tmp_path / "experiment" / "emb.yaml").write_text(EMBED % out)
    res = sim.run([f"hydra.searchpath=[file://{tmp_path}]", "experiment=emb", "setups=[dedicated]",
                   "horizon_s=5", "output.plots=false", "output.report=false"])
    assert (res.requests["output_tokens"] == 0).all() and len(res.requests)
    notes = [n for n in res.notes if "tenants.chat.output" in n]
    assert notes == ([
        "not read by this run: tenants.chat.output (bge-large-en is an embedding model: it "
        "produces no tokens, a request ends with its prefill)"] if said else [])
    # on the command line even the default's value is said (the key was typed)
    res = sim.run(["tenants.chat.model=bge-reranker-m3", "tenants.chat.output={kind: fixed, mean: 256}",
                   "tenants.chat.input={kind: fixed, mean: 100}", "deployments.bge-reranker-m3={gpu: H100, precision: bf16, tp: 1}",
                   "setups=[dedicated]", "horizon_s=5", "output.plots=false", "output.report=false"])
    assert [n for n in res.notes if "tenants.chat.output" in n] == [
        "not read by this run: tenants.chat.output (bge-reranker-m3 is a reranker: it produces no "
        "tokens, a request ends with its prefill)"]


def test_a_cold_chain_that_loaded_no_model_says_so_rather_than_an_empty_list():
    """compound.mixed_placement={chat: dedicated} places every stage of the pipeline tenant
    dedicated: its cold-chain scenario loads nothing. Its note read "(0 cold stages; loads: )";
    now it says no model was loaded, and the scenarios that did load keep their list."""
    res = sim.run(["experiment=compound", "horizon_s=60", "drain_s=120",
                   "compound.mixed_placement={chat: dedicated}", "compound.chain_models=[]",
                   "compound.bursty_setups=[serverless]", "output.progress=false"])
    chain = res.tables["chain"].set_index("scenario")
    notes = {n.split(":")[0]: n for n in res.notes if n.startswith("cold chain, ")}
    assert len(notes) == len(chain) == 3
    for scenario, row in chain.iterrows():
        note = notes[f"cold chain, {scenario}"]
        assert "loads: )" not in note and "loads: ;" not in note
        if row["cold_starts"] == 0:  # independently: the run's own count
            assert row["loads"] == "" and "(0 cold stages; no model loaded)" in note
        else:
            assert f"loads: {row['loads']})" in note and row["loads"]


def test_an_output_length_on_a_pipeline_stage_calling_an_embedding_model_is_said_unread(tmp_path):
    """A pipeline stage calling an embedding model or reranker produces no tokens, as a plain
    tenant's call does: its `output` was ignored unsaid (the tenant's own was said since
    December 2026). Typed on the command line, or differing from the default in a file."""
    base = ["experiment=compound", "job=simulate", "setups=[dedicated]", "horizon_s=30",
            "output.plots=false", "output.report=false", "output.progress=false"]
    res = sim.run(base + ["pipelines.rag.stages.embed.output.mean=64",
                          "pipelines.rag.stages.answer.output.mean=64"])
    embed = res.requests[res.requests["model"] == "bge-large-en"]
    assert len(embed) and (embed["output_tokens"] == 0).all()
    said = [n for n in res.notes if n.startswith("not read by this run: pipelines.")]
    # the answer stage calls an LLM: its output is read
    assert said == ["not read by this run: pipelines.rag.stages.embed.output (bge-large-en is an "
                    "embedding model: it produces no tokens, a request ends with its prefill)"]
    # the experiment as written sets no output on its embedding and reranker stages
    assert not [n for n in sim.run(base).notes if n.startswith("not read by this run: pipelines.")]
    # a file's value different from the default (fixed 256) is said too
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "rag2.yaml").write_text(
        "# @package _global_\ndefaults:\n  - compound\n  - _self_\n"
        "pipelines:\n  rag:\n    stages:\n      rerank:\n        output: {kind: fixed, mean: 8}\n")
    res = sim.run([f"hydra.searchpath=[file://{tmp_path}]", "experiment=rag2", *base[1:]])
    assert [n for n in res.notes if n.startswith("not read by this run: pipelines.")] == [
        "not read by this run: pipelines.rag.stages.rerank.output (bge-reranker-m3 is a "
        "reranker: it produces no tokens, a request ends with its prefill)"]


def test_breakeven_says_which_tenants_are_in_no_curve():
    """The sweep prices one tenant's traffic: the others are left out of every run, said
    (a hostile-input sweep, December 2026: a tenant given on the command line vanished)."""
    res = sim.run(["experiment=breakeven", "horizon_s=30", "breakeven.load_fractions=[0.1,0.5]",
                   "tenants.other={model: llama31-8b, arrival: {kind: poisson, rate_rps: 1}}",
                   "breakeven.tenant=chat", "output.plots=false", "output.report=false"])
    assert "other" not in set(res.summary["tenant"])
    said = [n for n in res.notes if "are in no curve" in n]
    assert said == ["tenant(s) other are in no curve: the sweep prices breakeven.tenant (chat) "
                    "alone; set breakeven.fill.tenant to run a batch-tier tenant beside it"]
    plain = sim.run(["experiment=breakeven", "horizon_s=30", "breakeven.load_fractions=[0.1,0.5]",
                     "output.plots=false", "output.report=false"])
    assert not [n for n in plain.notes if "are in no curve" in n]


def test_prefix_cache_says_which_variants_no_pool_held_to_the_slo():
    """Blank replicas and costs in gpus_for_slo and cost come with a note naming the
    variants (was unsaid)."""
    res = sim.run(["experiment=prefix_cache", "horizon_s=10", "prefix_cache.max_replicas=1",
                   "output.plots=false", "output.report=false"])
    slo = res.tables["gpus_for_slo"]
    assert slo["replicas"].isna().any()  # the premise: one replica misses the SLO
    for trace, rows in slo.groupby("trace", sort=False):
        unmet = rows.loc[rows["replicas"].isna(), "variant"].tolist()
        said = [n for n in res.notes if n.startswith(f"{trace}: no pool of up to")]
        assert len(said) == (1 if unmet else 0)
        if unmet:
            named = said[0].split(" s for ", 1)[1].split(": their replicas")[0]
            assert named == ", ".join(f"'{v}'" for v in unmet)
