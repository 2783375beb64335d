"""A claims.overrides key that no run of the checks reads is said in the run's notes, as a
plain run says it ("not read by this run: ... (no tenant has priority batch)"); it was
accepted without a word."""

import sim
from sim.config import compose

ONLY = ["experiment=claims", "claims.quick=true", "claims.only=[runtime_tuning_2x]",
        "output.plots=false"]


def _unread(notes) -> list[str]:
    return [n for n in notes if n.startswith("not read by any run of the claims job")]


def test_a_key_no_check_reads_is_said():
    # independent of the run: no tenant of the check's scenario has priority batch, the
    # switch dedicated.batch.* waits for
    scenario = compose(["experiment=dedicated"])
    assert not any(str(t.priority) == "batch" for t in scenario.tenants.values())
    res = sim.run([*ONLY, "claims.overrides=['dedicated.batch.running_fraction=0.5']"])
    said = _unread(res.notes)
    assert len(said) == 1 and "dedicated.batch.running_fraction" in said[0], res.notes
    assert "no tenant has priority batch" in said[0]


def test_a_key_a_check_reads_is_not_said():
    res = sim.run([*ONLY, "claims.overrides=['tenants.chat.slo_ttft_s=2']"])
    assert _unread(res.notes) == [], res.notes
