"""``experiment=noisy_neighbour``'s per-tenant note states the background each setup was
offered: a setup with a shared pool the level's, a dedicated one none (until December 2026
the dedicated note read "with 9.37 req/s of background (x1.00)", though no background
request reached it, as the job's own "not read" note said)."""

import re

import pandas as pd
import pytest

import sim

H = 30.0
RUN = ["experiment=noisy_neighbour", f"horizon_s={H:g}", "setups=[serverless,dedicated]",
       "noisy_neighbour.background_levels=[1]", "output.plots=false", "output.report=false"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("nn")
    return sim.run(RUN, output_dir=out), pd.read_parquet(out / "requests.parquet")


@pytest.mark.parametrize("setup", ["serverless", "dedicated"])
def test_the_note_gives_the_background_the_setup_served(run, setup):
    res, req = run
    mine = req[(req.setup == setup) & (req.background_level == 1.0)]
    served_rps = mine["tenant"].str.startswith("bg/").sum() / H  # from the requests themselves
    said = [n for n in res.notes if n.startswith(f"{setup}/chat: ")]
    assert len(said) == 1
    m = re.search(r"with ([\d.]+) req/s of background", said[0])
    if served_rps > 0:
        assert setup == "serverless" and m and float(m.group(1)) == pytest.approx(served_rps, abs=0.005)
    else:
        assert setup == "dedicated" and m is None, said[0]
        assert "offered none of the background" in said[0]
