"""Pool-size study: p99 TTFT and cost against the number of dedicated replicas.

    python experiments/replicas/figures.py SWEEP_DIR [--out DIR]

Writes plots/replicas.* with the smallest pool that meets the SLO marked.
"""

from sim.report.style import color, legend_below, pyplot, save
from sim.report.sweep import axis_label, x_key
from sim.sweep.study import cli, rows_all, study_x


def main():
    sj, out = cli(__doc__)
    x = x_key(sj)
    # another study's sweep was reported as this one's, exit 0, until December 2026
    study_x(x, str(x).startswith("dedicated.replicas."),
            "not a dedicated pool's replicas (dedicated.replicas.<model>)", "sweep_replicas")
    rows = rows_all(sj.table)
    slo = float(sj.table.loc[sj.table["tenant"] != "__all__", "slo_ttft_s"].min())
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for setup, g in rows.groupby("setup", sort=False):
        g = g.sort_values(x)
        c = color(setup)
        ok = (g["ttft_p99_s"] <= slo) & (g["completed"] == g["requests"])
        a1.plot(g[x], g["ttft_p99_s"], color=c, marker="o", label=setup)
        a2.plot(g[x], g["cost_per_mtok_out_usd"], color=c, marker="o", label=setup)
        if ok.any():
            best = g[ok].iloc[0]
            a1.plot([best[x]], [best["ttft_p99_s"]], "k*", ms=12)
            a2.plot([best[x]], [best["cost_per_mtok_out_usd"]], "k*", ms=12)
            a2.annotate(f"smallest pool within SLO: {best[x]:g}\n"
                        f"${best['cost_per_mtok_out_usd']:.3g} per M output tokens",
                        (best[x], best["cost_per_mtok_out_usd"]), textcoords="offset points",
                        xytext=(8, 8), fontsize=8)
            print(f"{setup}: smallest pool within the SLO: {x}={best[x]:g}, "
                  f"p99 TTFT {best['ttft_p99_s']:.3f} s, "
                  f"${best['cost_per_mtok_out_usd']:.4g}/M output tokens")
    a1.axhline(slo, color="#444444", ls=":", lw=1)
    a1.set_yscale("log")
    a1.set_ylabel("p99 time to first token (s, log scale)")
    a2.set_ylabel("cost per million output tokens ($)")
    for a in (a1, a2):
        a.set_xlabel(axis_label(x, sj.notes))
        a.grid(True, alpha=0.25)
        legend_below(a, fontsize=8)
    fig.suptitle("Pool size against latency and cost (star: smallest pool within the SLO)",
                 fontsize=11)
    fig.tight_layout()
    print("\n".join(save(fig, out, "replicas")))


if __name__ == "__main__":
    main()
