"""Price study: the break-even load against the GPU-hour price.

    python experiments/prices/figures.py SWEEP_DIR [--out DIR]

Writes plots/prices_breakeven.* (break-even load per price, per pair of curves) and
prices_breakeven.csv; the sweep's plots/cost_vs_x.* shows the cost curves per price.
"""

from pathlib import Path

from sim.analysis.curves import breakevens
from sim.io import write_frame_csv
from sim.report.style import color, legend_below, pyplot, save
from sim.report.sweep import LINESTYLES, MARKERS, axis_label, x_key
from sim.sweep.study import cli, refuse


def main():
    sj, out = cli(__doc__)
    x = x_key(sj)
    prices = [k for k in sj.varying if k != x]
    if not prices:
        refuse("the sweep varies no price key besides the load")
    price = prices[0]
    be = breakevens(sj.table, x, prices)
    write_frame_csv(be, Path(out) / "prices_breakeven.csv")
    print(be.to_string(index=False))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for k, ((a, b), g) in enumerate(be.groupby(["a", "b"], sort=False)):
        g = g.sort_values(price)
        # a style per pair: pairs of one colour, or with the same break-evens, stay apart
        ax.plot(g[price], g[x], marker=MARKERS[k % len(MARKERS)], ls=LINESTYLES[k % len(LINESTYLES)],
                ms=7 - k % 3, mfc="none" if k % 2 else color(a), color=color(a),
                label=f"{a} vs {b}")
    ax.set_xlabel(axis_label(price, sj.notes))
    ax.set_ylabel(f"break-even: {axis_label(x)}")
    ax.set_title("Break-even load against price", fontsize=10)
    ax.grid(True, alpha=0.25)
    if len(be):
        legend_below(ax, fontsize=8)
    fig.tight_layout()
    print("\n".join(save(fig, out, "prices_breakeven")))


if __name__ == "__main__":
    main()
