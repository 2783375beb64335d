"""Optimisation study: every trial's objective and the cheapest configuration meeting the SLO.

    python experiments/optimize/figures.py SWEEP_DIR [--out DIR]

Writes plots/optimize.* (each trial's cost, marked by whether it meets the SLO; the
cheapest meeting it so far) and prints the best trials.
"""

from sim.report.optimize import optimize_figure
from sim.sweep.study import cli, refuse


def main():
    sj, out = cli(__doc__)
    t = sj.table
    if "objective" not in t.columns:
        refuse("no objective column: not an optimisation sweep")
    trials = t.drop_duplicates("job").copy()
    trials["trial"] = trials["job"].astype(int)
    trials = trials.sort_values("trial")
    setup_rows = t[t["tenant"] == "__all__"].drop_duplicates("job").set_index("job")
    cost = setup_rows["cost_usd"].reindex(trials["job"]).to_numpy()
    trials["cost_usd"] = cost
    files = optimize_figure(trials, out)
    cols = ["job"] + [k for k in sj.varying] + ["objective", "cost_usd", "ttft_p99_s",
                                                  "completed", "requests"]
    top = setup_rows.reset_index()
    top = top[top["objective"].notna()].sort_values("objective").head(5)
    print(top[[c for c in cols if c in top.columns]].to_string(index=False))
    print("\n".join(files))


if __name__ == "__main__":
    main()
