"""The note on requests the run's end cut when their model had no replica left: its only
replica, spot, noticed at 5 s and reclaimed at 8 s with no replacement. Each request needs
20 s of decoding (2,000 tokens of 10 ms), so none finishes before the reclaim and nothing can
serve them after it: every one is cut, and a longer drain_s would not help. Until December
2026 the note said "... too short a drain ...: raise drain_s to let them finish llama31-8b
had no replica serving ..." (the advice README says it replaces, and no stop between)."""

from helpers.queueing import run_table, write_table


def _run(tmp_path, notice_at_s, notice_s):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp\n0\n0.001\n1\n2\n")
    notices = tmp_path / "p.csv"
    notices.write_text(f"time_s,model,replica\n{notice_at_s},llama31-8b,0\n")
    table = write_table(tmp_path / "const.csv", lambda n_, p_: 0.01)
    return run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas.llama31-8b=1",
        "dedicated.spot.replicas.llama31-8b=1", "dedicated.spot.preemption.mode=trace",
        f"dedicated.spot.preemption.trace={notices}", f"dedicated.spot.preemption.notice_s={notice_s}",
        "dedicated.spot.replacement=false", "tenants.chat.output={kind: fixed, mean: 2000}",
        "tenants.chat.arrival={kind: trace, trace: {path: " + str(trace) + ", format: csv, "
        "csv: {time: timestamp, input: null, output: null}}}",
        "horizon_s=20", "drain_s=10", "seed=1", "output.plots=false", "output.report=false"])


def test_a_cut_with_no_replica_left_names_the_model_not_a_longer_drain(tmp_path):
    res = _run(tmp_path, 5, 3)
    assert (res.requests["reason"] == "unfinished_at_end").all()
    said = [n for n in res.notes if "unfinished when the run stopped" in n]
    assert len(said) == 1, res.notes
    note = said[0]
    assert "raise drain_s" not in note, note
    assert ("too short a drain to tell whether the setup keeps up: llama31-8b had no replica "
            "serving when the run stopped (every one reclaimed, its replacement still loading, "
            "or down), so a longer drain_s finishes them only once a replica is back "
            "(dedicated.spot.replacement, the failure's down time). Replicas were away during "
            "the run (1 spot reclaim by the horizon)") in note, note


def test_a_notice_by_the_horizon_whose_reclaim_comes_after_it_is_said(tmp_path):
    """Noticed at 12 s, reclaimed at 32 s, after the 20 s horizon: from 12 s the replica
    admits nothing, so the three requests behind the first are never served. Until
    December 2026 the note said nothing of the notice (only failures and reclaims by the
    horizon counted)."""
    res = _run(tmp_path, 12, 20)
    note = next(n for n in res.notes if "Replicas were away" in n)
    assert ("Replicas were away during the run (1 spot notice by the horizon; a noticed "
            "spot replica admits nothing new, its reclaim came after the horizon)") in note, note
