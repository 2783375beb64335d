"""``deployments.<m>.preemption`` under ``admission: reserve``: every output token is reserved
when a request is admitted (sim/engine/base.py), so no sequence is ever preempted and the
key is never read. Until December 2026 a run given it said nothing (``swap_gb`` in the same
case was said "not read by this run") and ``sim.fit --config`` took it."""

from __future__ import annotations

import pytest
from helpers.cli import assert_one_clear_line
from helpers.fitlog import DEPLOY

import sim
from sim.fit.__main__ import main as fit_main

M = "deployments.llama31-8b"
RUN = ["horizon_s=5", "output.progress=false", "tenants.chat.arrival.rate_rps=40"]


def _said(res) -> list[str]:
    return [n for n in res.notes if n.startswith(f"not read by this run: {M}.preemption (")]


def test_reserve_admission_reads_no_preemption_and_says_so():
    runs = {p: sim.run([*RUN, f"{M}.preemption={p}"]) for p in ("recompute", "retract", "swap")}
    # the invariant the note rests on: whichever policy, the same requests, none preempted
    frames = [r.requests for r in runs.values()]
    assert all(f.equals(frames[0]) for f in frames[1:])
    assert int(runs["swap"].requests["preemptions"].sum()) == 0
    for res in runs.values():
        assert len(_said(res)) == 1 and "admission is reserve" in _said(res)[0], res.notes


def test_paged_admission_reads_it_unsaid():
    res = sim.run([*RUN, f"{M}.admission=paged", f"{M}.preemption=swap"])
    assert _said(res) == []


def test_the_fit_refuses_it_under_reserve(tmp_path, capsys):
    log = tmp_path / "a.csv"
    log.write_text("input_tokens,output_tokens,ttft_s,tpot_s\n10,5,0.1,0.01\n20,5,0.1,0.01\n"
                   "40,9,0.1,0.01\n")
    with pytest.raises(SystemExit) as e:
        fit_main(["--requests", str(log), *DEPLOY, "--max-evaluations", "5",
                  "--out", str(tmp_path / "o"), "--config", f"{M}.preemption=swap"])
    err = capsys.readouterr().err
    assert_one_clear_line(e.value.code, err, f"config key '{M}.preemption'")
    assert "not read by sim.fit" in err and not (tmp_path / "o").exists()
