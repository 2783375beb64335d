"""ServeGen clients as tenants (``tenants_from.servegen``): arrivals per window, lengths,
rows on every setup, input errors. Expected values are read from the data files here with
pandas, independently of the simulator's readers."""

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import later_wins

import sim
from sim.errors import InputError
from sim.paths import default_traces_dir
from sim.simulation.build import build_workload, expand_tenants

SG = Path(default_traces_dir()) / "servegen"
WINDOWS = SG / "m-large_client_windows.csv.gz"
HORIZON = 3600.0
# three clients busy in each of the first six windows at 0.5-4 req/s: 64 (Gamma fits only),
# 21 and 51 (Gamma and Weibull windows)
CLIENTS = [21, 51, 64]
BASE = [f"horizon_s={HORIZON:g}", f"tenants_from.servegen.path={WINDOWS}",
        f"tenants_from.servegen.client_ids=[{','.join(map(str, CLIENTS))}]",
        "tenants_from.servegen.input.kind=empirical",
        f"tenants_from.servegen.input.path={SG / 'm-large_input_tokens_pmf.csv'}",
        "tenants_from.servegen.input.max=null",
        "tenants_from.servegen.output.kind=empirical",
        f"tenants_from.servegen.output.path={SG / 'm-large_output_tokens_pmf.csv'}",
        "tenants_from.servegen.output.max=null",
        "dedicated.replicas.llama31-8b=1"]


def _cv2(family: str, shape: float) -> float:
    """Squared coefficient of variation of the fitted inter-arrival distribution."""
    if family == "Gamma":
        return 1.0 / shape
    g1, g2 = math.gamma(1 + 1 / shape), math.gamma(1 + 2 / shape)
    return g2 / g1 ** 2 - 1.0


@pytest.fixture(scope="module")
def workload():
    return build_workload(expand_tenants(sim.compose(BASE)))


def test_each_client_is_a_tenant_with_its_own_windows(workload):
    wl = workload
    assert [t for t in wl.tenants if t.startswith("sg-")] == [f"sg-{c}" for c in sorted(CLIENTS, key=str)]
    data = pd.read_csv(WINDOWS)
    checked = 0
    for c in CLIENTS:
        mine = wl.arrival_s[wl.tenant == wl.tenants.index(f"sg-{c}")]
        rows = data[(data.client_id == c) & (data.window_start_s < HORIZON)]
        assert len(rows) == 6 and set(rows.family) <= {"Gamma", "Weibull"}
        for r in rows.itertuples():
            n = np.count_nonzero((mine >= r.window_start_s) & (mine < r.window_start_s + 600))
            expect = r.rate_rps * 600
            # a renewal process counts lambda T events in a window of T with variance about
            # lambda T CV^2 (CV of the fitted family at its shape); at this fixed seed a
            # count more than 5 standard deviations off (+2 for the window's edge gaps) is
            # not chance (normal tail 6e-7 per window, 18 windows)
            sd = math.sqrt(expect * _cv2(r.family, r.shape))
            assert abs(n - expect) <= 5 * sd + 2, (c, r.window_start_s, n, expect, sd)
            checked += 1
    assert checked == 18
    # nothing outside the windows: the three clients' requests are exactly the windows' ones
    assert np.all(wl.arrival_s[np.isin(wl.tenant, [wl.tenants.index(f"sg-{c}") for c in CLIENTS])]
                  < HORIZON)


def test_lengths_follow_the_pmfs(workload):
    wl = workload
    sel = np.isin(wl.tenant, [wl.tenants.index(f"sg-{c}") for c in CLIENTS])
    n = int(sel.sum())
    assert n > 10_000
    for col, f, floor in (("input_tokens", "input", 1), ("output_tokens", "output", 1)):
        pmf = pd.read_csv(SG / f"m-large_{f}_tokens_pmf.csv")
        v = np.maximum(pmf.iloc[:, 0].to_numpy(float), floor)  # a zero-token output is raised to 1
        p = pmf["probability"].to_numpy(float)
        p = p / p.sum()
        mean = float((v * p).sum())
        sd = math.sqrt(float(((v - mean) ** 2 * p).sum()))
        got = float(getattr(wl, col)[sel].mean())
        # the sample mean of n i.i.d. draws has standard error sd / sqrt(n); 5 of them
        assert abs(got - mean) <= 5 * sd / math.sqrt(n), (col, got, mean, sd / math.sqrt(n))


def test_client_tenants_have_rows_on_dedicated_and_serverless(tmp_path, caplog):
    over = [o.replace(f"horizon_s={HORIZON:g}", "horizon_s=300") for o in BASE]
    over = [o for o in over if "client_ids" not in o] + [
        "tenants_from.servegen.client_ids=[64,100]", "setups=[serverless,dedicated]",
        "output.plots=false", "output.report=false"]
    with caplog.at_level(logging.INFO):
        res = sim.run(over, output_dir=tmp_path)
    assert "tenants_from.servegen: 2 tenants: sg-64 (llama31-8b" in caplog.text
    s = pd.read_csv(tmp_path / "summary.csv")
    for setup in ("serverless", "dedicated"):
        rows = s[s.setup == setup].set_index("tenant")
        for t in ("sg-64", "sg-100"):
            r = rows.loc[t]
            assert r.requests > 100 and r.completed > 0 and r.cost_usd > 0
            assert r.slo_ttft_s == 2.0 and r.model == "llama31-8b"
    sig = res.tables["signals"].set_index("tenant")
    assert {"sg-64", "sg-100", "chat"} <= set(sig.index)
    # the written config holds the generated tenants: re-running it gives the same ones
    assert "sg-64" in (tmp_path / "config.yaml").read_text()


def test_dedicated_needs_replicas_for_the_mapped_models():
    over = [o for o in BASE if not o.startswith("dedicated.replicas")] + ["setups=[dedicated]"]
    with pytest.raises(InputError, match="dedicated.replicas.llama31-8b"):
        expand_tenants(sim.compose(over))


@pytest.mark.parametrize("override, key", [
    ("tenants_from.servegen.client_ids=[999999]", "tenants_from.servegen.client_ids"),
    ("tenants_from.servegen.models.default=GPT-9", "tenants_from.servegen.models.default"),
    ("+tenants_from.servegen.models.foo=llama31-8b", "tenants_from.servegen.models.foo"),
    ("tenants_from.servegen.path=null", "tenants_from.servegen.path"),
])
def test_bad_input_names_the_key(override, key):
    with pytest.raises(InputError, match=key.replace(".", r"\.")):
        expand_tenants(sim.compose(later_wins(BASE + [override])))


@pytest.mark.parametrize("big", ["9007199254740993", "9223372036854775808", "1e300"])
def test_a_client_id_too_large_to_read_exactly_is_refused(tmp_path, big):
    """Ids are compared as floats: 2**53 + 1 read as 2**53 (two clients merged), 2**63
    wrapped to a negative id; both are refused at their line."""
    from sim.workload.background import load_client_windows
    p = tmp_path / "w.csv"
    p.write_text("client_id,window_start_s,rate_rps,family,shape,scale\n"
                 "9007199254740991,0,0.5,Gamma,0.5,4.0\n"
                 f"{big},0,0.5,Gamma,0.5,4.0\n")
    load_client_windows.cache_clear()
    with pytest.raises(InputError, match=r"w.csv:3: client_id must be a whole number in \[0, 2\*\*53\)"):
        load_client_windows(str(p))


def test_the_same_run_with_another_traces_folder_writes_the_same_files(tmp_path, monkeypatch):
    """The client tenants' ``arrival.servegen.path`` kept ``${traces:}`` resolved: config.yaml
    named this checkout's traces folder, so the same run with the traces reached by another
    path (another checkout, ``SERVESIM_TRACES``) wrote another config.yaml. Every file is now
    the same bytes (``done.json`` aside: its wall time, and its resume key names the folder)."""
    link = tmp_path / "elsewhere"
    link.symlink_to(default_traces_dir(), target_is_directory=True)
    ov = ["experiment=servegen_tenants", "horizon_s=5", "drain_s=30", "setups=[dedicated]",
          "output.plots=false", "tenants_from.servegen.client_ids=[51]"]

    def files(folder):
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
                if p.is_file() and p.name != "done.json"}

    monkeypatch.delenv("SERVESIM_TRACES", raising=False)
    sim.run(ov, output_dir=tmp_path / "a")
    monkeypatch.setenv("SERVESIM_TRACES", str(link))
    sim.run(ov, output_dir=tmp_path / "b")
    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    assert {"config.yaml", "summary.csv", "requests.parquet"} <= set(a)
    assert a == b
    text = a["config.yaml"].decode()
    assert "path: ${traces:}/servegen/m-large_client_windows.csv.gz" in text
    assert default_traces_dir() not in text


def test_a_client_both_a_tenant_and_in_the_background_is_refused():
    """The same client as a user tenant and as a background tenant of the same file over
    overlapping spans sent its requests twice, unsaid, until December 2026; over spans that
    do not overlap (another slice of its traffic) it runs."""
    both = [f"background.servegen.path={WINDOWS}", "background.servegen.client_ids=[51, 7]",
            "setups=[serverless]"]
    with pytest.raises(InputError) as e:
        expand_tenants(sim.compose(BASE + both))
    assert e.value.key == "tenants_from.servegen.client_ids"
    assert "ServeGen client 51 would be both" in e.value.message
    apart = both + [f"background.servegen.start_s={HORIZON:g}"]
    assert "sg-51" in expand_tenants(sim.compose(BASE + apart)).tenants


MID = Path(default_traces_dir()) / "servegen" / "m-mid_client_windows.csv.gz"


@pytest.mark.parametrize("args, key", [
    ([f"tenants_from.servegen.path={MID}", "tenants_from.servegen.client_ids=[0,2]",
      "tenants_from.servegen.models={default: llama31-8b}"], "tenants_from.servegen.client_ids"),
    ([f"background.servegen.path={MID}", "background.servegen.client_ids=[0,2]"],
     "background.servegen.client_ids"),
    (["tenants.chat.arrival={kind: servegen, servegen: {path: " + str(MID) + ", client_id: 2, "
      "start_s: 1e9}}"], "tenants.chat.arrival.servegen.start_s"),
])
def test_a_client_silent_over_the_run_is_refused(args, key):
    """m-mid's client 0 first sends at 135,600 s, and no client sends after two weeks: asked
    for by id over a span without its requests, it made a tenant of no request, unsaid,
    until December 2026."""
    with pytest.raises(InputError) as e:
        sim.run(["horizon_s=600", "setups=[serverless]", *args])
    assert e.value.key == key and "sends no request in the 600 s from" in e.value.message
