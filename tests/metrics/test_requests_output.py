"""``output.requests: full | sample | none``: what a run keeps per request. Summaries are
computed from the run's log, so they are exactly the same whatever is kept; the sample is
deterministic by request id and the same for every setup."""

import pandas as pd
import pytest

import sim

RUN = ["setups=[serverless,dedicated]", "horizon_s=600", "output.plots=false",
       "output.report=false", "tenants.chat.arrival.rate_rps=10"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for mode in ("full", "sample", "none"):
        d = tmp_path_factory.mktemp(mode)
        res = sim.run(RUN + [f"output.requests={mode}", "output.requests_sample=0.1"], output_dir=d)
        out[mode] = (res, d)
    return out


def test_summaries_do_not_depend_on_what_is_kept(runs):
    full = (runs["full"][1] / "summary.csv").read_bytes()
    assert (runs["sample"][1] / "summary.csv").read_bytes() == full
    assert (runs["none"][1] / "summary.csv").read_bytes() == full


def test_the_sample_is_the_hash_rule_computed_here(runs):
    full, sample = runs["full"][0].requests, runs["sample"][0].requests
    n = int(full.request_id.max()) + 1
    want = [i for i in range(n) if (i * 2654435761) % 2 ** 32 < int(0.1 * 2 ** 32)]
    for setup in ("serverless", "dedicated"):  # the same ids on every setup
        got = sample[sample.setup == setup].request_id.tolist()
        assert got == want
    assert abs(len(want) - 0.1 * n) < 4 * (n * 0.1 * 0.9) ** 0.5  # spread like a 10 % draw
    # kept rows are the full rows, column for column
    key = ["setup", "request_id"]
    merged = sample.merge(full, on=key, suffixes=("", "_full"))
    assert len(merged) == len(sample)
    for c in ("arrival_s", "ttft_s", "output_tokens", "outcome"):
        pd.testing.assert_series_equal(merged[c], merged[c + "_full"], check_names=False)
    back = pd.read_parquet(runs["sample"][1] / "requests.parquet")
    assert len(back) == len(sample)


def test_none_keeps_no_rows_and_writes_no_file(runs):
    res, d = runs["none"]
    assert len(res.requests) == 0 and not (d / "requests.parquet").exists()
    assert (runs["full"][1] / "requests.parquet").exists()


def test_a_bad_mode_is_refused_naming_the_key():
    with pytest.raises(sim.errors.InputError, match="output.requests"):
        sim.run(RUN + ["output.requests=some"])


def test_the_sample_is_the_documented_rule_exactly_even_for_a_tiny_fraction():
    """Id ``i`` is kept when ``(i x 2654435761) mod 2**32 < fraction x 2**32``, compared
    exactly (Python compares an int with a float exactly): with a fraction under 2**-32 only
    id 0 (hash 0) is kept; int() floored the bound to 0, so no request was kept and no
    requests.parquet written (a hostile-input sweep, December 2026)."""
    from sim.metrics.requests import kept_rows
    n = 5000
    for f in (1e-300, 2.0 ** -32, 3.5 * 2.0 ** -32, 1e-3, 0.1, 0.5, 0.999999, 1.0):
        want = [i for i in range(n) if (i * 2654435761) % 2 ** 32 < f * 2.0 ** 32]
        assert kept_rows(n, "sample", f).tolist() == want, f
    assert kept_rows(n, "sample", 1e-300).tolist() == [0]
