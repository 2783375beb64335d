"""Burstiness study: p99 TTFT and SLO attainment against the inter-arrival CV, per setup.

    python experiments/burstiness/figures.py SWEEP_DIR [--out DIR]

Writes plots/burstiness.* (two panels sharing the CV axis).
"""

from sim.report.style import color, legend_below, pyplot, save
from sim.report.sweep import LINESTYLES, MARKERS, axis_label, x_key
from sim.sweep.study import cli, rows_all, study_x


def main():
    sj, out = cli(__doc__)
    x = x_key(sj)
    # a sweep of another study: drawn over its key on the CV's log-2 axis (a seed sweep lost
    # seed 0), exit 0, until December 2026
    study_x(x, str(x).endswith(".arrival.cv"),
            "not an arrival's cv (tenants.<t>.arrival.cv)", "sweep_cv")
    rows = rows_all(sj.table)
    slo = float(sj.table.loc[sj.table["tenant"] != "__all__", "slo_ttft_s"].min())
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for k, (setup, g) in enumerate(rows.groupby("setup", sort=False)):
        g = g.sort_values(x)
        # a style per setup: setups with equal results (all warm, nothing spilled) all show
        st = {"color": color(setup), "marker": MARKERS[k % len(MARKERS)],
              "ls": LINESTYLES[k % len(LINESTYLES)], "mfc": "none" if k else color(setup),
              "ms": 8 - 2 * (k % 3), "capsize": 3, "label": setup}
        a1.errorbar(g[x], g["ttft_p99_s"], yerr=g.get("ttft_p99_s_ci95"), **st)
        a2.errorbar(g[x], 100 * g["slo_attainment"],
                    yerr=100 * g["slo_attainment_ci95"] if "slo_attainment_ci95" in g else None,
                    **st)
    a1.axhline(slo, color="#444444", ls=":", lw=1)
    a1.set_yscale("log")
    a1.set_ylabel("p99 time to first token (s, log scale)")
    a2.set_ylabel(f"requests with TTFT <= SLO ({slo:g} s), %")
    for a in (a1, a2):
        a.set_xscale("log", base=2)
        a.set_xlabel(axis_label(x, sj.notes) + ", log scale")
        a.grid(True, which="both", alpha=0.25)
        legend_below(a, fontsize=8)
    fig.suptitle("Burstiness at a fixed mean load", fontsize=11)
    fig.tight_layout()
    print("\n".join(save(fig, out, "burstiness")))


if __name__ == "__main__":
    main()
