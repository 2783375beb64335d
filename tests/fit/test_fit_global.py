"""``python -m sim.fit`` on logs simulated with known factors: each factor comes back within
3 % of the truth, or the run warns that the log does not pin it (December 2026: a steady
Poisson load fitted memory efficiency 18 % and the overheads 25-41 % off, said as converged,
no warning; the true factors replay such a log to an objective of ~1e-17)."""

import numpy as np
import pytest
from helpers.engine import make_perf, run_requests
from helpers.fitlog import DEPLOY, write_log_csv

import sim
from sim.fit.__main__ import parse, run
from sim.fit.replay import with_params
from sim.perf import RooflinePerf
from sim.simulation.build import build_catalog

TRUTH = {"memory": 0.88, "compute": 0.55, "fixed_overhead_s": 2.22e-3, "seq_overhead_s": 2.8e-5}
OTHER = {"memory": 0.70, "compute": 0.72, "fixed_overhead_s": 4.0e-3, "seq_overhead_s": 1.0e-5}


def _steady_log(path, truth, n, rate, replicas, seed):
    """``n`` Poisson requests at ``rate`` (prompts ~800 tokens, outputs ~200, lognormal) served
    by the engine driven directly (tests/helpers/engine.py) on ``replicas`` H100s whose FP8
    factors are ``truth``."""
    dep, _ = make_perf(build_catalog(sim.compose([])))
    dep = with_params(dep, truth)
    rng = np.random.default_rng(seed)
    reqs, t = [], 0.0
    for i in range(n):
        t += rng.exponential(1 / rate)
        reqs.append((i, t, int(np.clip(rng.lognormal(np.log(800), 0.8), 20, 12000)),
                     int(np.clip(rng.lognormal(np.log(200), 0.7), 2, 1500))))
    out, _ = run_requests("fluid", dep, RooflinePerf(dep), reqs, replicas)
    write_log_csv(path, reqs, out)


@pytest.mark.parametrize("truth, n, rate, replicas", [
    (TRUTH, 150, 10.0, 1),   # the reported shape, small
    (OTHER, 100, 6.0, 1),
    (TRUTH, 120, 16.0, 2),   # two replicas behind one queue
])
def test_factors_come_back_within_3_percent_or_the_run_warns(tmp_path, capsys, truth, n, rate,
                                                             replicas):
    _steady_log(tmp_path / "log.csv", truth, n, rate, replicas, seed=1)
    res = run(parse(["--requests", str(tmp_path / "log.csv"), *DEPLOY, "--replicas",
                     str(replicas), "--out", str(tmp_path / "o")]))
    printed = capsys.readouterr().out
    off = {k: res["params"][k] / v - 1 for k, v in truth.items()}
    warned = [ln for ln in printed.splitlines() if ln.startswith("warning: searches started")]
    # the log's truth is known here, independently of the fit: a factor off by over 3 % must
    # not be printed as a plain answer
    assert max(abs(v) for v in off.values()) <= 0.03 or warned, (off, printed)
    c = res["check"]
    assert c["best"] <= c["first"]  # the kept end is the best the searches found
    if warned:  # the end said is another within 3x of the best's objective, over 3 % away
        e, gap = c["far"]
        assert c["best"] <= e <= 3 * c["best"] and max(map(abs, gap.values())) > 0.03
        assert f"{e:.3g} against {c['best']:.3g}" in warned[0]
        for k, g in gap.items():
            assert f"{k} {100 * g:+.1f} %" in warned[0], warned[0]
