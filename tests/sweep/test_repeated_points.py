"""Sweep points that several jobs ran (an Optuna sampler proposing a point again): one point
of the curves, not a study's scenarios (sim/analysis/curves.py), said in a note
(sim/sweep/consistency.py repeats)."""

import pandas as pd

from sim.analysis.curves import breakevens, curves, not_one_curve
from sim.sweep.consistency import repeats


def _table(rows):
    return pd.DataFrame(rows, columns=["job", "setup", "tenant", "x", "cost_per_mtok_out_usd"])


# two setups: a = x, b = 2 for x in {1, 4}; straight in log-log, they cross at x = 2
BASE = [("0", "a", "__all__", 1.0, 1.0), ("0", "b", "__all__", 1.0, 2.0),
        ("1", "a", "__all__", 4.0, 4.0), ("1", "b", "__all__", 4.0, 2.0)]
REPEAT = [("2", "a", "__all__", 4.0, 4.0), ("2", "b", "__all__", 4.0, 2.0)]  # job 1 again


def test_a_point_two_jobs_ran_is_one_point_of_its_curve():
    table = _table(BASE + REPEAT)
    assert not not_one_curve(table, "x", [])
    for _, _, g in curves(table, "x", "cost_per_mtok_out_usd", []):
        assert list(g["x"]) == [1.0, 4.0]
    be = breakevens(table, "x", [])
    assert be["x"].tolist() == [2.0] and be["cost_per_mtok_out_usd"].tolist() == [2.0]


def test_several_rows_of_a_setup_in_one_job_are_not_one_curve():
    # one job's own scenarios (a study's keep-alive policies): no curve goes through them
    assert not_one_curve(_table(BASE + [("1", "a", "__all__", 4.0, 3.0)]), "x", [])


def test_repeated_overrides_are_named_with_the_job_they_repeat():
    jobs = [("0", {"r": 1, "g": "H100"}), ("1", {"r": 2, "g": "H100"}),
            ("2", {"g": "H100", "r": 1}), ("3", {"r": 2, "g": "H100"}), ("4", {"r": 3})]
    lines, per_job = repeats(jobs)
    assert len(lines) == 1 and lines[0].startswith("2 job(s) ran the overrides of an earlier job "
                                                   "(2 as 0, 3 as 1)")
    assert sorted(per_job) == ["2", "3"] and per_job["3"].startswith("the overrides of job 1 again")
    assert repeats(jobs[:2]) == ([], {})
