"""README's figure for drawn prompts over Mooncake blocks (the conversation trace over 30 s,
fixed 2,048-token prompts) against a count made here from the file alone. README said
43,520 tokens found cached from the December 2026 commit that wrote it; the run gave 44,032
then as now (seeds 0-2), and so does this count."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import TRACES

import sim

CONV = TRACES / "mooncake_fast25" / "conversation_trace.jsonl"
PROMPT, BLOCK, KV_BLOCK, HORIZON_MS = 2048, 512, 16, 30_000


def _cached_by_hand() -> int:
    """Each row within 30 s, in order, keeps its hash_ids cut at 2,048 tokens (512-token
    blocks); a request finds cached the longest run of leading blocks an earlier request
    held (one replica, its cache never full), counted in whole 16-token KV blocks with the
    prompt's last token computed (README, "KV cache")."""
    seen, total = set(), 0
    for line in open(CONV, encoding="utf-8"):
        row = json.loads(line)
        if row["timestamp"] >= HORIZON_MS:
            break
        prefix, hit, matching = (), 0, True
        for i, h in enumerate(row["hash_ids"][:PROMPT // BLOCK]):
            prefix += (h,)
            size = min(BLOCK, PROMPT - BLOCK * i, row["input_length"] - BLOCK * i)
            matching = matching and prefix in seen
            hit += size if matching else 0
            seen.add(prefix)
        total += min(hit, PROMPT - 1) // KV_BLOCK * KV_BLOCK
    return total


def test_readme_gives_the_cached_tokens_of_drawn_prompts_over_mooncake_blocks():
    want = _cached_by_hand()
    res = sim.run([f"tenants.chat.arrival={{kind: trace, trace: {{path: {CONV}, format: mooncake}}}}",
                   f"tenants.chat.input={{kind: fixed, mean: {PROMPT}}}", "horizon_s=30",
                   "setups=[dedicated]", "output.requests=full"])
    assert int(res.requests["cached_tokens"].sum()) == want
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    said = re.search(r"conversation trace over 30 s with fixed 2,048-token prompts: ([\d,]+) "
                     r"tokens found cached", readme)
    assert said is not None and int(said.group(1).replace(",", "")) == want
