"""What a replicated run's means stand on: a mean over fewer seeds than it ran, said."""

from __future__ import annotations

import pandas as pd


def fewer_seeds_notes(per_seed: pd.DataFrame, n: int) -> list[str]:
    """A note naming the summary rows and columns whose mean is over fewer of the ``n`` seeds
    than ran (the others had no value: no request measured, none completed), from the
    per-seed rows (``replications.csv``: a ``seed`` column, each seed's rows in the same
    order). Until December 2026 such a mean stood beside ``replications n`` unsaid: 1 s runs
    of seeds 0 and 1 gave seed 1's p99 TTFT alone, seed 0 having had no request."""
    if "seed" not in per_seed.columns or n < 2:
        return []
    blocks = [g.drop(columns="seed").reset_index(drop=True)
              for _, g in per_seed.groupby("seed", sort=True)]
    if len(blocks) != n or len({len(b) for b in blocks}) != 1:
        return []  # rows matched by their text (sim/sweep/stats.py): not told here
    first = blocks[0]
    numeric = [c for c in first.columns if pd.api.types.is_numeric_dtype(first[c])]
    texts = [c for c in first.columns if c not in numeric]
    shown = [c for c in texts if c in ("setup", "tenant")
             or (c != "model" and first[c].nunique(dropna=False) > 1)]
    seen = sum(b[numeric].notna().to_numpy().astype(int) for b in blocks)
    said: dict = {}  # (columns, count) -> rows, in row order
    for i in range(len(first)):
        by = {}
        for c, k in zip(numeric, seen[i]):
            if 0 < k < n:
                by.setdefault(int(k), []).append(c)
        for k, cols in sorted(by.items()):
            label = "/".join(str(first.loc[i, c]) for c in shown)
            said.setdefault((tuple(cols), k), []).append(label)
    if not said:
        return []
    parts = [f"{', '.join(rows)}: {', '.join(cols)} over {k} of the {n} seeds"
             for (cols, k), rows in said.items()]
    return [f"means over fewer seeds than the {n} replications (a seed without a value, e.g. "
            "no request measured, is left out of the mean; the replications column counts "
            "every seed; replications.csv has each): " + "; ".join(parts)]
