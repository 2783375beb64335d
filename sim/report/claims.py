"""``claims.md``: the claims audit as a reader's document."""

from __future__ import annotations

import pandas as pd


def claims_markdown(table: pd.DataFrame, cfg) -> str:
    h = cfg.catalog.gpus.H100
    parts = ["# Claims audit (CALIBRATION.md section 8)\n",
             f"Seed {cfg.seed}{', quick mode' if cfg.claims.quick else ''}; H100 on demand "
             f"${h.on_demand_usd_per_hour}/GPU-hour, reserved ${h.reserved_usd_per_hour}/GPU-hour. "
             "Every value below comes from simulated events unless its kind is `input` (a number "
             "the simulator takes as given) or `pending`.\n"]
    counts = table["verdict"].value_counts().to_dict()
    parts.append(", ".join(f"{n} {v}" for v, n in counts.items()) + ".\n")
    parts.append("| claim | verdict | simulated |\n|---|---|---|")
    for r in table.itertuples():
        parts.append(f"| {r.claim} | **{r.verdict}** | {r.simulated} |")
    parts.append("\n## Details\n")
    for r in table.itertuples():
        parts.append(f"### {r.id}: {r.verdict}\n\n> {r.claim}\n\n- simulated: {r.simulated}\n"
                     f"- setting: {r.assumptions or '-'}\n- rule: {r.why}\n- kind: {r.kind}\n")
    return "\n".join(parts)
