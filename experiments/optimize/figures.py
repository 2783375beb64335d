"""Optimisation study: every trial's objective and the cheapest configuration meeting the SLO.

    python experiments/optimize/figures.py SWEEP_DIR [--out DIR]

Writes plots/optimize.* (objective per trial, best so far) and prints the best trials.
"""

import numpy as np

from sim.report.style import pyplot, save
from sim.sweep.study import cli


def main():
    sj, out = cli(__doc__)
    t = sj.table
    if "objective" not in t.columns:
        raise SystemExit("error: no objective column: not an optimisation sweep")
    trials = t.drop_duplicates("job").copy()
    trials["trial"] = trials["job"].astype(int)
    trials = trials.sort_values("trial")
    setup_rows = t[t["tenant"] == "__all__"].drop_duplicates("job").set_index("job")
    cost = setup_rows["cost_usd"].reindex(trials["job"]).to_numpy()
    feasible = np.isclose(trials["objective"].to_numpy(), cost)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(trials["trial"][feasible], trials["objective"][feasible], "o", color="#1b9e77",
            label="meets the SLO (objective = cost)")
    ax.plot(trials["trial"][~feasible], trials["objective"][~feasible], "x", color="#d95f02",
            label="misses the SLO (cost + penalty)")
    best = np.minimum.accumulate(trials["objective"].to_numpy())
    ax.step(trials["trial"], best, where="post", color="black", lw=1, label="best so far")
    ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel("objective ($, log scale)")
    ax.set_title("Search for the cheapest configuration meeting the SLO", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8)
    fig.tight_layout()
    files = save(fig, out, "optimize")
    cols = ["job"] + [k for k in sj.varying] + ["objective", "cost_usd", "ttft_p99_s",
                                                  "completed", "requests"]
    top = setup_rows.reset_index()
    top = top[top["objective"].notna()].sort_values("objective").head(5)
    print(top[[c for c in cols if c in top.columns]].to_string(index=False))
    print("\n".join(files))


if __name__ == "__main__":
    main()
