"""report.md's setups line names the runs its rows come from: ``experiment=compound`` runs
its own setups whatever ``setups`` says, and said "setups ['serverless']" above a bursty
table of five runs until December 2026."""

import pandas as pd

import sim


def _setups_line(out) -> str:
    lines = [ln for ln in (out / "report.md").read_text().splitlines() if ln.startswith("Job `")]
    assert len(lines) == 1, lines
    return lines[0]


def test_the_compound_report_names_every_run_of_its_bursty_table(tmp_path):
    sim.run(["experiment=compound", "horizon_s=60", "drain_s=120", "output.plots=false",
             "output.progress=false"], output_dir=tmp_path)
    bursty = list(dict.fromkeys(pd.read_csv(tmp_path / "bursty.csv")["setup"]))
    assert len(bursty) == 5  # serverless, its pre-warm, dedicated, hybrid and its pre-warm
    assert _setups_line(tmp_path).endswith(f"setups {bursty} (as the summary names its runs).")


def test_a_simulate_report_names_the_setups_given(tmp_path):
    sim.run(["job=simulate", "horizon_s=5", "setups=[dedicated,serverless]", "output.plots=false",
             "output.progress=false"], output_dir=tmp_path)
    assert _setups_line(tmp_path).endswith("setups ['dedicated', 'serverless'].")
