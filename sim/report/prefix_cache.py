"""The figure of ``experiment=prefix_cache``: TTFT and hit rate per variant and trace."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.records import Result
from sim.report.style import legend_below, pyplot, save, tight_layout


def prefix_cache_figure(res: Result, out_dir: Path) -> list[str]:
    plt = pyplot()
    t = res.tables["ttft"]
    traces = list(dict.fromkeys(t["trace"]))
    fig, axes = plt.subplots(len(traces), 2, figsize=(11, 3.2 * len(traces)), squeeze=False)
    for row, name in zip(axes, traces):
        d = t[t["trace"] == name]
        y = np.arange(len(d))
        labels = [f"{s}: {v}" if not v.startswith(s) else v for s, v in zip(d["setup"], d["variant"])]
        row[0].barh(y - 0.2, d["ttft_p50_s"], 0.4, color="#1b9e77", label="p50")
        row[0].barh(y + 0.2, d["ttft_p99_s"], 0.4, color="#d95f02", label="p99")
        row[0].set_xscale("log")
        row[0].set_yticks(y, labels, fontsize=8)
        row[0].invert_yaxis()
        row[0].set_xlabel("TTFT (s)")
        row[0].set_title(f"{name}: TTFT", fontsize=10)
        legend_below(row[0], fontsize=8, ncol=2)
        row[1].barh(y, d["cache_hit_rate"], 0.6, color="#7570b3")
        row[1].set_yticks(y, [""] * len(d))
        row[1].invert_yaxis()
        row[1].set_xlim(0, 1)
        row[1].set_xlabel("prompt tokens found cached")
        row[1].set_title(f"{name}: cache hit rate", fontsize=10)
        for a in row:
            a.grid(True, axis="x", alpha=0.3)
    tight_layout(fig)
    files = save(fig, out_dir, "prefix_cache")
    plt.close(fig)
    return files
