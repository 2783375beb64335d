"""``python -m sim.fit`` says what it did: huge JSON integers, requests logged without
inter-token times, float noise in the worse-than-catalog check, a Nelder-Mead cut by its
budget, residuals compared by rank, and the defaults, runs and start points it took
(December 2026 reports)."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from helpers.cli import assert_one_clear_line
from helpers.engine import make_perf, run_requests
from helpers.fitlog import DEPLOY, write_log_csv

import sim
from sim.fit.__main__ import main, parse, run
from sim.fit.logs import read_log
from sim.simulation.build import build_catalog


@pytest.fixture(scope="module")
def catalog():
    return build_catalog(sim.compose([]))


def _reqs(n=12, gap=0.3):
    rng = np.random.default_rng(5)
    return [(i, i * gap, int(rng.integers(100, 3000)), int(rng.integers(20, 200))) for i in range(n)]


@pytest.fixture(scope="module")
def catalog_log(catalog, tmp_path_factory):
    """A log simulated with the catalog's own factors (the engine driven directly)."""
    dep, perf = make_perf(catalog)
    reqs = _reqs()
    out, _ = run_requests("fluid", dep, perf, reqs)
    path = tmp_path_factory.mktemp("log") / "cat.csv"
    write_log_csv(path, reqs, out)
    return path, reqs, out


def _vllm(reqs, out, **extra):
    ttfts = [out[r][0] - t for r, t, _, _ in reqs]
    itls = [[out[r][1] - out[r][0]] if b > 1 else [] for r, _, _, b in reqs]
    return {"backend": "vllm", "request_rate": "inf", "burstiness": 1.0, "max_concurrency": None,
            "input_lens": [a for _, _, a, _ in reqs], "output_lens": [b for *_, b in reqs],
            "ttfts": ttfts, "itls": itls, "errors": [""] * len(reqs), **extra}


BIG = int("9" * 401)


@pytest.mark.parametrize("field", ["output_lens", "request_rate", "max_concurrency", "itls"])
def test_a_huge_json_integer_is_one_line_naming_the_field(catalog_log, tmp_path, capsys, field):
    _, reqs, out = catalog_log
    doc = _vllm(reqs, out)
    if field == "output_lens":
        doc[field][2] = BIG
    elif field == "itls":
        doc[field][2] = [BIG]
    else:
        doc[field] = BIG
    path = tmp_path / "big.json"
    # json.dumps writes the 401 digits as they are (no float exponent): what the reader met
    path.write_text(json.dumps(doc))
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(path), *DEPLOY, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert_one_clear_line(e.value.code, err, str(path))
    assert field in err


def test_a_huge_integer_message_names_file_and_field(catalog_log, tmp_path, capsys):
    _, reqs, out = catalog_log
    doc = _vllm(reqs, out)
    doc["max_concurrency"] = BIG
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(path), *DEPLOY, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert_one_clear_line(e.value.code, err, "max_concurrency")
    assert str(path) in err and "401 digits" in err


def test_requests_without_itls_are_left_out_of_the_tpot_fit_and_said(catalog_log, tmp_path,
                                                                       capsys):
    _, reqs, out = catalog_log
    doc = _vllm(reqs, out)
    blind = [1, 4]  # vLLM's shape of a request whose stream gave no chunk times
    for j in blind:
        doc["itls"][j] = []
    path = tmp_path / "v.json"
    path.write_text(json.dumps(doc))
    log = read_log(str(path))
    assert log.no_decode == 2
    want = [np.nan if j in blind else (out[r][1] - out[r][0]) / (b - 1)
            for j, (r, _, _, b) in enumerate(reqs)]
    # the others' TPOTs as logged; the blind ones unknown (they were read as 0 and floored)
    np.testing.assert_allclose(log.tpot_s, want, rtol=1e-12)
    assert len(log) == len(reqs)  # still replayed: they loaded the server
    run(parse(["--requests", str(path), *DEPLOY, "--max-evaluations", "30",
               "--out", str(tmp_path / "o")]))
    printed = capsys.readouterr().out
    assert "note: 2 request(s) of two or more tokens log no inter-token times" in printed
    assert "client timer noise" not in printed


def test_every_multi_token_request_without_itls_is_refused(catalog_log, tmp_path, capsys):
    _, reqs, out = catalog_log
    doc = _vllm(reqs, out)
    doc["itls"] = [[] for _ in reqs]
    doc["output_lens"][0] = 1  # one one-token answer tells no decode time either
    path = tmp_path / "v.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(path), *DEPLOY, "--out", str(tmp_path / "o")])
    assert_one_clear_line(e.value.code, capsys.readouterr().err, "itls")


def test_a_log_of_the_catalogs_own_factors_is_not_said_to_fit_worse(catalog_log, tmp_path,
                                                                     capsys):
    path, _, _ = catalog_log
    res = run(parse(["--requests", str(path), *DEPLOY, "--max-evaluations", "40",
                     "--out", str(tmp_path / "o")]))
    printed = capsys.readouterr().out
    # the catalog's factors reproduce the log to within the CSV's 9 digits: the fit can only
    # move within float noise of them, which is not "worse"
    assert "worse than the catalog" not in printed, printed
    cat = build_catalog(sim.compose([])).gpus["H100"].efficiency["fp8"]
    assert res["params"]["memory"] == pytest.approx(cat.memory, rel=1e-3)


def test_a_nelder_mead_cut_by_a_tiny_budget_is_said(catalog_log, tmp_path, capsys):
    path, _, _ = catalog_log
    # 20 replays: 10 a stage, of which Nelder-Mead's first simplex alone takes 5; no search
    # of four factors can have converged (restarts compared) in them
    res = run(parse(["--requests", str(path), *DEPLOY, "--max-evaluations", "20",
                     "--out", str(tmp_path / "o")]))
    printed = capsys.readouterr().out
    assert res["stopped"] is not None and res["stopped"]["budget"] == 20
    assert "note: the fit stopped at its budget, --max-evaluations 20" in printed


def test_residuals_compared_by_rank_say_so_in_the_file(catalog_log, tmp_path, capsys):
    path, _, _ = catalog_log
    run(parse(["--requests", str(path), *DEPLOY, "--max-evaluations", "20",
               "--out", str(tmp_path / "o")]))
    paired = pd.read_csv(tmp_path / "o" / "residuals.csv")
    assert set(paired["compared"]) == {"by request"}
    rate = tmp_path / "r.csv"  # no arrival_s: a rate draws send times, compared by rank
    pd.read_csv(path).drop(columns=["arrival_s"]).to_csv(rate, index=False)
    run(parse(["--requests", str(rate), *DEPLOY, "--request-rate", "3", "--max-evaluations",
               "20", "--out", str(tmp_path / "p")]))
    ranked = pd.read_csv(tmp_path / "p" / "residuals.csv")
    assert set(ranked["compared"]) == {"by rank (sorted columns)"}
    capsys.readouterr()


def test_defaults_runs_replaced_send_times_and_start_bounds_are_said(catalog_log, tmp_path,
                                                                      capsys):
    path, reqs, out = catalog_log
    # --gpu/--precision/--tp not given
    run(parse(["--requests", str(path), "--model", "llama31-8b", "--max-evaluations", "20",
               "--out", str(tmp_path / "a")]))
    printed = capsys.readouterr().out
    assert "note: --gpu, --precision, --tp not given: fitted gpu " in printed, printed
    # two runs appended: which one was read
    two = tmp_path / "two.json"
    two.write_text(json.dumps(_vllm(reqs, out)) + "\n" + json.dumps(_vllm(reqs[:8], out)) + "\n")
    run(parse(["--requests", str(two), *DEPLOY, "--max-evaluations", "20",
               "--out", str(tmp_path / "b")]))
    assert "holds 2 runs (lines); fitted the last (--run 1)" in capsys.readouterr().out
    # --request-rate over recorded send times: said as replaced, not as "not recorded"
    run(parse(["--requests", str(path), *DEPLOY, "--request-rate", "3", "--max-evaluations",
               "20", "--out", str(tmp_path / "c")]))
    printed = capsys.readouterr().out
    assert "recorded send times replaced by --request-rate" in printed
    assert "not recorded" not in printed
    # overheads of 0: the start moved to the bound, said; no numpy warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy's log of 0
        run(parse(["--requests", str(path), *DEPLOY, "--max-evaluations", "20",
                   "--config", "catalog.gpus.H100.seq_overhead_s=0",
                   "--out", str(tmp_path / "d")]))
    printed = capsys.readouterr().out
    assert "note: seq_overhead_s 0 is outside the fit's bounds" in printed
