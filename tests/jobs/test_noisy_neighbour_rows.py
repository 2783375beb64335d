"""Every summary row of ``experiment=noisy_neighbour`` can be recomputed from its
``requests.parquet``: the dedicated setup, which serves no background, is simulated once and
its rows repeated at each level, and until December 2026 the file held its requests at level
0 alone (its summary rows at the other levels had none), unsaid."""

import numpy as np
import pandas as pd
import pytest

import sim
from sim.records import is_aggregate

RUN = ["experiment=noisy_neighbour", "horizon_s=120", "noisy_neighbour.background_levels=[0.5,1]",
       "output.plots=false", "output.report=false"]


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    out = tmp_path_factory.mktemp("nn")
    return sim.run(RUN, output_dir=out), pd.read_parquet(out / "requests.parquet")


def test_every_summary_row_is_recomputed_from_the_parquet(full):
    res, req = full
    rows = res.summary[~res.summary["tenant"].map(is_aggregate)]
    assert set(rows["setup"]) == {"serverless", "dedicated"} and len(rows)
    for r in rows.itertuples():
        mine = req[(req.setup == r.setup) & (req.background_level == r.background_level)
                   & (req.tenant == r.tenant)]
        assert len(mine) == r.requests, (r.setup, r.background_level, r.tenant)
        assert (mine.outcome == "completed").sum() == r.completed
        ttft = mine.ttft_s.dropna().to_numpy()
        p99 = np.percentile(ttft, 99) if ttft.size else np.nan
        assert p99 == pytest.approx(r.ttft_p99_s, nan_ok=True, rel=1e-12)


def test_repeated_rows_carry_the_levels_own_request_ids(full):
    """The user requests are the same at every level but their ids move with the background
    interleaved: the dedicated rows at a level hold that level's ids, those the serverless
    setup (simulated at each level) holds for the same user requests."""
    _, req = full
    for level, at in req.groupby("background_level"):
        sv = at[(at.setup == "serverless") & ~at.tenant.str.startswith("bg/")]
        de = at[at.setup == "dedicated"]
        key = ["request_id", "tenant", "arrival_s", "input_tokens", "output_tokens"]
        assert len(de) == len(sv) > 0, level
        assert (de[key].reset_index(drop=True) == sv[key].reset_index(drop=True)).all().all(), level


def test_a_sample_keeps_the_same_ids_on_both_setups(tmp_path):
    """The sample is by request id: at each level the repeated dedicated rows keep the user
    requests the serverless run keeps there."""
    sim.run([*RUN, "output.requests=sample", "output.requests_sample=0.3"], output_dir=tmp_path)
    req = pd.read_parquet(tmp_path / "requests.parquet")
    assert set(req.background_level) == {0.0, 0.5, 1.0}
    for level, at in req.groupby("background_level"):
        sv = at[(at.setup == "serverless") & ~at.tenant.str.startswith("bg/")]
        de = at[at.setup == "dedicated"]
        assert list(de.request_id) == list(sv.request_id) and len(de), level


def test_the_repeated_rows_are_said(full):
    res, _ = full
    said = [n for n in res.notes if n.startswith("dedicated serves no background")]
    assert len(said) == 1 and "ran once, at background x0" in said[0]
    assert "x0.5, x1 (summary.csv" in said[0]
