"""The ``__background__`` summary row shows the TTFT SLO its attainment is measured against
(``background.slo_ttft_s``; its column was blank until December 2026), and an empty
``background.<source>.models``, which means the user tenants' models, is said in a note."""

from __future__ import annotations

import pandas as pd

import sim

RUN = ["setups=[serverless]", "horizon_s=60", "output.parquet=true", "output.plots=false",
       "tenants.chat.arrival.rate_rps=1"]
SYN = "background.synthetic={tenants: 4, rate_rps: 2}"
SG = ["background.servegen.path=${traces:}/servegen/m-mid_client_windows.csv.gz",
      "background.servegen.clients=2", "background.servegen.rate_scale=0.05"]


def test_the_background_row_shows_the_slo_its_attainment_uses(tmp_path):
    res = sim.run([*RUN, SYN, "background.slo_ttft_s=5"], output_dir=str(tmp_path))
    row = res.summary[res.summary["tenant"] == "__background__"].iloc[0]
    assert row["slo_ttft_s"] == 5.0
    # the attainment, recomputed from the requests against the SLO shown: completed within
    # 5 s, over every background request
    r = pd.read_parquet(tmp_path / "requests.parquet")
    bg = r[r["tenant"].str.startswith("bg/")]
    assert len(bg) == row["requests"] > 0
    met = ((bg["outcome"] == "completed") & (bg["ttft_s"] <= 5.0 + 1e-9)).sum()
    assert abs(row["slo_attainment"] - met / len(bg)) < 1e-12


def test_an_empty_models_list_is_said_with_the_models_taken(tmp_path):
    res = sim.run([*RUN, SYN, *SG, "tenants.code={model: qwen3-32b, arrival: {rate_rps: 0.5}}",
                   "deployments.qwen3-32b={gpu: H100, precision: fp8, tp: 1}"],
                  output_dir=str(tmp_path))
    r = pd.read_parquet(tmp_path / "requests.parquet")
    for key, prefix, n in (("synthetic", "bg/syn", 4), ("servegen", "bg/sg", 2)):
        took = set(r.loc[r["tenant"].str.startswith(prefix), "model"])
        assert took and took <= {"llama31-8b", "qwen3-32b"}  # the user tenants' models
        said = [x for x in res.notes if x.startswith(f"background.{key}.models is empty")]
        assert len(said) == 1 and f"its {n} tenant(s) call" in said[0]
        assert set(said[0].split(" call ")[1].split(", ")) >= took


def test_a_models_list_given_gives_no_note():
    res = sim.run([*RUN, SYN, "background.synthetic.models=[llama31-8b]"])
    assert not [x for x in res.notes if "models is empty" in x]
