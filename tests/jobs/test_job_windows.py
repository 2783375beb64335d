"""Jobs that simulate variants and summarise them themselves (keepalive, noisy_neighbour,
compound, breakeven) honour ``metrics.warmup_s`` like every other run: their summaries
carry the window columns, their measured rows count exactly the requests arriving at or
after the warm-up, and their own tables are over the measured window."""

import numpy as np

import sim
from sim.records import ALL

W = 120.0
SMALL = ["horizon_s=600", f"metrics.warmup_s={W:g}", "output.plots=false", "output.report=false",
         "output.parquet=true"]


def _measured_counts(res, by):
    """(variant..., requests arriving at or after W) from the job's own request frame."""
    req = res.requests
    return req[req.arrival_s >= W].groupby(by, observed=True, dropna=False).size()


def _check_summary(res, by):
    s = res.summary
    assert set(s.window) == {"measured", "warmup"} and (s.warmup_s == W).all()
    assert not s[s.window == "measured"].tenant.str.endswith("@warmup").any()
    alls = s[s.tenant == ALL].set_index(by)["requests"]
    want = _measured_counts(res, by)
    assert len(alls) == len(want) > 0
    for key, n in want.items():
        assert alls.loc[key] == n, key


def test_keepalive_job_measures_after_the_warmup():
    res = sim.run(["experiment=keepalive", "keepalive.fixed_idle_s=[5,60]", *SMALL])
    _check_summary(res, ["policy", "keepalive_s"])
    table = res.tables["keepalive"]
    assert (table.warmup_s == W).all()
    req = res.requests
    for r in table.itertuples():
        mine = req[(req.policy == r.policy) & (req.arrival_s >= W)
                   & ((req.keepalive_s == r.keepalive_s) | np.isnan(r.keepalive_s))]
        assert r.requests == len(mine)
        assert r.cold_requests == int((mine.cold_start_wait_s > 0).sum())


def test_noisy_neighbour_job_measures_after_the_warmup():
    res = sim.run(["experiment=noisy_neighbour", "noisy_neighbour.background_levels=[1]", *SMALL])
    s = res.summary
    assert set(s.window) == {"measured", "warmup"} and (s.warmup_s == W).all()
    iso = res.tables["isolation"]
    assert not iso.tenant.str.contains("@").any()
    meas = s[(s.window == "measured")].set_index(["setup", "tenant", "background_level"])
    for r in iso.itertuples():
        assert r.ttft_p99_s == meas.loc[(r.setup, r.tenant, r.background_level), "ttft_p99_s"]


def test_compound_job_measures_after_the_warmup():
    res = sim.run(["experiment=compound", "compound.chain_models=[]", *SMALL])
    s = res.summary
    assert set(s.window) == {"measured", "warmup"} and (s.warmup_s == W).all()
    # the cold chain is one request from t=0: it runs without the warm-up (it would refuse it)
    assert len(res.tables["chain"]) >= 2


def test_breakeven_job_measures_after_the_warmup():
    res = sim.run(["experiment=breakeven", "breakeven.load_fractions=[0.2,0.6]",
                   "breakeven.capacity_requests_per_client=3", *SMALL])
    s = res.summary
    assert set(s.window) == {"measured", "warmup"}
    pts = res.tables["points"]
    alls = s[s.tenant == ALL]
    for r in pts.itertuples():
        row = alls[(alls.setup == r.label) & (alls.load_fraction == r.load_fraction)]
        assert r.requests == int(row.requests.iloc[0]) and r.ttft_p99_s == row.ttft_p99_s.iloc[0]
