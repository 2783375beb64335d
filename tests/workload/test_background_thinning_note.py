"""A thinned background tenant (``background.scale`` < 1) counts the length changes of the
requests it keeps: until December 2026 its note's breakdown counted the unthinned tenant's
(``45 requests' lengths were changed to be served: 448 prompts above input.max 500 cut``)."""

from __future__ import annotations

import re

import pytest

import sim
from sim.simulation.build import build_catalog
from sim.workload.background import generate

BG = ("background.synthetic={tenants: 3, rate_rps: 20, models: [llama31-8b], "
      "input: {kind: %s, mean: 1000, cv: 1, max: 500}, output: {kind: fixed, mean: 2}}")
CUT = "prompts above input.max 500 cut to it"


@pytest.mark.parametrize("scale", [1.0, 0.1])
def test_every_kept_prompt_cut_is_counted_once(scale):
    """Fixed 1,000-token prompts under a max of 500: every request's prompt is cut, so the
    count under that change is the tenant's number of requests, at any scale."""
    cfg = sim.compose(["horizon_s=60", BG % "fixed", f"background.scale={scale}"])
    tenants = generate(cfg, build_catalog(cfg), 0, 60.0, ["llama31-8b"])
    assert len(tenants) == 3
    for bt in tenants:
        assert bt.arrival_s.size > 0
        assert bt.how == {CUT: bt.arrival_s.size} and bt.changed == bt.arrival_s.size


def test_the_thinned_note_breakdown_adds_up_to_at_most_its_total(tmp_path):
    res = sim.run(["setups=[serverless]", "horizon_s=60", BG % "lognormal",
                   "background.scale=0.1", "output.plots=false"], output_dir=str(tmp_path))
    seen = 0
    for n in res.notes:
        m = re.search(r"tenant (bg/\S+): (\d+) requests' lengths were changed to be served: "
                      r"(\d+) " + re.escape(CUT), n)
        if m:
            seen += 1
            assert int(m.group(3)) <= int(m.group(2)), n
    assert seen == 3, res.notes
