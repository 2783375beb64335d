"""Keep-alive study: cold starts, p90 TTFT and cost against the idle timeout.

    python experiments/keepalive/figures.py SWEEP_DIR [--out DIR]

Writes plots/keepalive.* (three panels; the dedicated setup, which has no timeout, is a
horizontal reference) and prints the table behind it.
"""

from sim.report.style import color, legend_below, pyplot, save
from sim.report.sweep import axis_label, x_key
from sim.sweep.study import cli, rows_all, study_x

PANELS = [("cold_share", "requests that waited for a cold start (%)", False),
          # p90, not p99: the model starts cold, so the first burst's cold start (paid at
          # every timeout) fills the top 1 % of a one-hour run
          ("ttft_p90_s", "p90 time to first token (s, log scale)", True),
          ("cost_per_mtok_out_usd", "cost per million output tokens ($)", False)]


def main():
    sj, out = cli(__doc__)
    x = x_key(sj)
    # another study's sweep was reported as this one's, exit 0, until December 2026
    study_x(x, x == "serverless.keepalive.idle_s",
            "not the keep-alive timeout (serverless.keepalive.idle_s)", "sweep_keepalive")
    rows = rows_all(sj.table).copy()
    rows["cold_share"] = 100.0 * rows["cold_starts"] / rows["requests"]
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for setup, g in rows.groupby("setup", sort=False):
        g = g.sort_values(x)
        flat = setup == "dedicated"
        for ax, (y, label, logy) in zip(axes, PANELS):
            if flat:  # no timeout: one value, drawn across the sweep
                ax.axhline(float(g[y].mean()), color=color(setup), ls="--", lw=1.2, label=setup)
            else:
                ax.plot(g[x], g[y], color=color(setup), marker="o", label=setup)
            ax.set_ylabel(label)
            if logy:
                ax.set_yscale("log")
        print(g[["setup", x, "requests", "cold_starts", "cold_share", "ttft_p50_s",
                 "ttft_p90_s", "ttft_p99_s", "cost_usd", "cost_per_mtok_out_usd"]].to_string(index=False))
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel(axis_label(x, sj.notes))
        ax.grid(True, which="both", alpha=0.25)
        legend_below(ax, fontsize=8)
    fig.suptitle("Keep-alive timeout against cold starts, tail latency and cost", fontsize=11)
    fig.tight_layout()
    print("\n".join(save(fig, out, "keepalive")))


if __name__ == "__main__":
    main()
