"""Shared-pool size study: each tenant's p99 TTFT and cold starts against the pool size.

    python experiments/pool/figures.py SWEEP_DIR [--out DIR]

Writes plots/pool.* (one line per tenant, background tenants included, with each user
tenant's SLO dotted in its colour) and prints, per user tenant, the smallest pool that
holds its SLO.
"""

from sim.report.style import legend_below, pyplot, save
from sim.report.sweep import axis_label, x_key
from sim.sweep.study import cli, study_x


def main():
    sj, out = cli(__doc__)
    x = x_key(sj)
    # another study's sweep was reported as this one's, exit 0, until December 2026
    study_x(x, str(x).startswith("serverless.pool.")
            and str(x).endswith((".gpus_per_node", ".nodes")),
            "not a serverless pool's size (serverless.pool.<gpu>.gpus_per_node or .nodes)",
            "sweep_pool")
    # tenants and the background: other aggregate rows (__all__, __model__:...) are not
    # drawn; the background is labelled in words (matplotlib hides a label starting with "_"
    # from the legend, which left its line reading as nobody's)
    name = sj.table["tenant"].astype(str)
    t = sj.table[(sj.table["setup"] == "serverless")
                 & (~name.str.startswith("__") | name.str.startswith("__background__"))].copy()
    t["tenant"] = t["tenant"].astype(str).str.replace("__background__", "background tenants")
    t["cold_share"] = 100.0 * t["cold_starts"] / t["requests"]
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    cmap = plt.get_cmap("tab10")
    users = [n for n in t["tenant"].unique() if not n.startswith("background tenants")]
    bases = sorted({str(n).split("@")[0] for n in t["tenant"]})
    for tenant, g in t.groupby("tenant", sort=True):
        g = g.sort_values(x)
        # a tenant's warm-up window (<tenant>@warmup) in its colour, dashed with hollow marks
        c = cmap(bases.index(str(tenant).split("@")[0]) % 10)
        style = {"ls": "--", "mfc": "none"} if "@" in str(tenant) else {}
        a1.plot(g[x], g["ttft_p99_s"], marker="o", color=c, label=tenant, **style)
        a2.plot(g[x], g["cold_share"], marker="o", color=c, label=tenant, **style)
        if tenant in users:
            a1.axhline(float(g["slo_ttft_s"].iloc[0]), color=c, ls=":", lw=1)
    print(t[[x, "tenant", "requests", "completed", "cold_starts", "ttft_p50_s", "ttft_p99_s",
             "slo_attainment"]].sort_values([x, "tenant"]).to_string(index=False))
    for tenant in users:
        g = t[t["tenant"] == tenant].sort_values(x)
        meets = g[(g["ttft_p99_s"] <= g["slo_ttft_s"]) & (g["completed"] == g["requests"])]
        print(f"{tenant}: smallest pool holding its p99 TTFT SLO "
              f"({float(g['slo_ttft_s'].iloc[0]):g} s): "
              f"{'none in the sweep' if meets.empty else f'{x}={meets[x].iloc[0]:g}'}")
    a1.set_yscale("log")
    a1.set_ylabel("p99 time to first token (s, log scale)")
    a2.set_ylabel("waited for a cold start (% of requests)")
    for a in (a1, a2):
        a.set_xlabel(axis_label(x, sj.notes))
        a.grid(True, which="both", alpha=0.25)
        legend_below(a, fontsize=8)
    fig.suptitle("Shared-pool size against tail latency and cold starts (dotted: SLOs)", fontsize=11)
    fig.tight_layout()
    print("\n".join(save(fig, out, "pool")))


if __name__ == "__main__":
    main()
