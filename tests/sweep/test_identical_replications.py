"""Replications whose seeds change nothing (a trace replayed at rate_scale 1): their `_ci95`
columns are 0 because the runs are the same, which a note now says
(sim/sweep/replicate.py); before, a Student-t interval of width 0 read as a measured one."""

import pandas as pd
from omegaconf import OmegaConf

from sim.records import Result
from sim.sweep.replicate import run_replications


def _fake(seed_matters: bool):
    def fn(cfg, _out, _progress):
        p99 = 1.0 + (0.5 * int(cfg.seed) if seed_matters else 0.0)
        summary = pd.DataFrame({"setup": ["dedicated"], "tenant": ["__all__"], "model": [""],
                                "ttft_p99_s": [p99]})
        return Result(summary=summary, requests=pd.DataFrame(), tables={}, notes=[])
    return fn


def _identical_notes(res):
    return [n for n in res.notes if "replications are identical" in n]


def test_identical_replications_say_their_zero_interval_is_no_spread():
    res = run_replications(_fake(False), OmegaConf.create({"seed": 3}), 2)
    assert res.summary["ttft_p99_s_ci95"].tolist() == [0.0]  # t * s / sqrt(n), s = 0
    said = _identical_notes(res)
    assert len(said) == 1 and said[0].startswith("the 2 replications are identical")


def test_replications_that_differ_get_no_such_note():
    res = run_replications(_fake(True), OmegaConf.create({"seed": 3}), 2)
    assert res.summary["ttft_p99_s_ci95"].iloc[0] > 0 and not _identical_notes(res)
    one = run_replications(_fake(False), OmegaConf.create({"seed": 3}), 1)
    assert not _identical_notes(one)  # one replication: no interval to explain


def test_a_trace_replayed_at_rate_scale_1_says_its_seeds_drew_nothing(tmp_path):
    import sim

    res = sim.run(["experiment=keepalive", "replications=2", "horizon_s=120",
                   "output.plots=false"], output_dir=tmp_path)
    per_seed = pd.read_csv(tmp_path / "replications.csv")
    a, b = (g.drop(columns="seed").reset_index(drop=True) for _, g in per_seed.groupby("seed"))
    pd.testing.assert_frame_equal(a, b)  # the seeds replayed the same requests (README, traces)
    ci = res.summary[[c for c in res.summary.columns if c.endswith("_ci95")]].to_numpy(float)
    assert ((ci == 0) | (ci != ci)).all()
    assert len(_identical_notes(res)) == 1


def test_the_replications_note_points_to_other_seeds_notes_only_when_there_are_some():
    """It ended "the other seeds' differences in the notes above" with no note above it."""
    def fn(cfg, _out, _progress):
        res = _fake(True)(cfg, _out, _progress)
        res.notes = ["a queue grew"] if int(cfg.seed) == 4 else []
        return res

    quiet = run_replications(_fake(True), OmegaConf.create({"seed": 3}), 2).notes
    assert len(quiet) == 1 and "above" not in quiet[0] and "seed 3's" in quiet[0]
    said = run_replications(fn, OmegaConf.create({"seed": 3}), 2).notes
    assert said[0] == "seed 4: a queue grew"
    assert said[1].endswith("seed 3's; the notes above naming a seed are that seed's alone.")
