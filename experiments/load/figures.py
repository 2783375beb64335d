"""Load study: p99 TTFT and cost per million tokens against offered load, per setup.

    python experiments/load/figures.py SWEEP_DIR [--out DIR]

Writes plots/load_p99_ttft.*, plots/load_cost.* and load_findings.csv (per setup: the load
where p99 TTFT first exceeds the SLO, the break-even loads, and their ratio).
"""

from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.curves import breakevens
from sim.io import write_frame_csv
from sim.report.sweep import axis_label, cost_vs_x, metric_vs_x, x_key
from sim.sweep.study import cli, first_crossing_up, rows_all


def main():
    sj, out = cli(__doc__)
    x = x_key(sj)
    others = [k for k in sj.varying if k != x]
    table = sj.table
    slo = float(table.loc[table["tenant"] != "__all__", "slo_ttft_s"].min())
    label = axis_label(x, sj.notes)
    files = metric_vs_x(table, x, "ttft_p99_s", others, out, "load_p99_ttft",
                        "p99 time to first token (s, log scale)",
                        "p99 TTFT against offered load", label, logy=True,
                        hline=(slo, f"SLO {slo:g} s"))
    be = breakevens(table, x, others)
    files += cost_vs_x(table, x, others, out, label, be)
    findings = []
    for setup, g in rows_all(table).groupby("setup", sort=False):
        g = g.sort_values(x)
        knee = first_crossing_up(g[x], g["ttft_p99_s"], slo)
        for _, r in be[be["a"] == setup].iterrows():
            findings.append({"setup": setup, "break_even_with": r["b"], "break_even_x": r[x],
                             "slo_limit_x": knee,
                             "break_even_share_of_slo_limit": r[x] / knee if knee > 0 else np.nan})
        if not (be["a"] == setup).any():
            findings.append({"setup": setup, "break_even_with": "", "break_even_x": np.nan,
                             "slo_limit_x": knee, "break_even_share_of_slo_limit": np.nan})
    findings = pd.DataFrame(findings)
    write_frame_csv(findings, Path(out) / "load_findings.csv")
    print(findings.to_string(index=False))
    print("\n".join(files))


if __name__ == "__main__":
    main()
