"""What ``python -m sim.fit`` says of its inputs: the arrivals line with a concurrency cap over
recorded send times, an empty ``--out``, a fractional ``max_concurrency``."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from helpers.cli import assert_one_clear_line
from helpers.engine import run_requests
from helpers.fitlog import DEPLOY, perturbed_truth
from test_real_formats import _requests, vllm_bench_serve

from sim.fit.__main__ import main


def test_a_cap_over_recorded_send_times_is_said_and_holds_requests_back(catalog, tmp_path, capsys):
    """Until December 2026 the first line read "recorded send times" with
    ``--max-concurrency`` too, though the cap delays requests (on the tester's 30-request log
    the starting objective moved 0.45 -> 0.542). Every request recorded at 0 and a cap of 1:
    each then runs alone, its TTFT what the engine gives it alone (independently)."""
    from sim.fit.logs import RequestLog
    from sim.fit.replay import arrivals, replay

    dep, perf, _ = perturbed_truth(catalog)
    n_in, n_out = np.array([800, 50, 3000, 400]), np.array([30, 200, 5, 60])
    log = RequestLog("x", "csv", n_in, n_out, np.ones(4), np.ones(4), np.zeros(4))
    capped = arrivals(log, max_concurrency=1)
    assert capped.description == "recorded send times, at most 1 in flight"
    assert arrivals(log).description == "recorded send times"
    ttft, _ = replay(dep, log, capped)
    for i in range(4):
        alone, _ = run_requests("fluid", dep, perf, [(0, 0.0, int(n_in[i]), int(n_out[i]))])
        assert ttft[i] == pytest.approx(alone[0][0], rel=1e-9)
    # the fit's first line says it
    (tmp_path / "a.csv").write_text("arrival_s,input_tokens,output_tokens,ttft_s,tpot_s\n"
                                    "0,100,5,0.1,0.01\n0,200,6,0.1,0.01\n0.1,400,9,0.2,0.01\n")
    main(["--requests", str(tmp_path / "a.csv"), *DEPLOY, "--max-evaluations", "5",
          "--max-concurrency", "1", "--out", str(tmp_path / "o")])
    first = capsys.readouterr().out.splitlines()[0]
    assert first.endswith("arrivals: recorded send times, at most 1 in flight"), first


@pytest.mark.parametrize("out, said", [("", "--out is empty"), (" ", "--out is empty"),
                                       (".", "is the working directory")])
def test_an_empty_or_shared_out_is_refused(tmp_path, capsys, monkeypatch, out, said):
    """``--out ''`` wrote catalog/, overrides.txt and residuals.csv into the working folder
    (``sim.run`` refuses an empty output_dir)."""
    (tmp_path / "a.csv").write_text("input_tokens,output_tokens,ttft_s,tpot_s\n10,5,0.1,0.01\n"
                                    "20,5,0.1,0.01\n40,9,0.1,0.01\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(tmp_path / "a.csv"), *DEPLOY, "--max-evaluations", "5", "--out", out])
    assert_one_clear_line(e.value.code, capsys.readouterr().err, said)
    assert os.listdir(work) == []


def test_a_fractional_max_concurrency_is_not_called_tokens(tmp_path, capsys):
    doc = vllm_bench_serve(_requests(6), failed=(), max_concurrency=2.5)
    (tmp_path / "r.json").write_text(json.dumps(doc))
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(tmp_path / "r.json"), *DEPLOY, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert_one_clear_line(e.value.code, err, "max_concurrency: must be a whole number of requests")
    assert "tokens" not in err
