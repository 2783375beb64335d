"""A request log sealed in blocks while the run goes (sim/logseal.py): each block is handed
over once, in id order, only once every request of it ended, and holds then exactly what a
log held whole holds at the end of the run; a sealed block's pages are given back."""

import sys

import numpy as np
import pytest

from sim.config import compose
from sim.logseal import PAGE, Sealer, mapped, release
from sim.simulation.build import build, workload_of
from sim.simulation.simulate import simulate

# a hybrid run whose log has every kind of end: rejections (a cold start waited too long),
# requests cut at the drain limit, a background population the hybrid serves
RUN = ["experiment=hybrid", "setups=[hybrid]", "horizon_s=120", "serverless.max_wait_s=3",
       "background.synthetic.tenants=4", "background.synthetic.rate_rps=0.5", "drain_s=5",
       "serverless.default_rate_limit.rpm=20", "output.plots=false", "output.report=false"]
COLS = ("admit_s", "first_s", "finish_s", "replica", "tier", "outcome", "reason", "attempts",
        "spilled", "cached", "preempts", "preempt_s")


@pytest.fixture(scope="module")
def runs():
    cfg = compose(RUN)
    workload = workload_of(build(cfg))
    whole = simulate(cfg, workload, "hybrid")
    seen = []

    class Record:  # copies each sealed block as it is handed over
        def __init__(self, run):
            self.log = run.log

        def add(self, a, b):
            log = self.log
            seen.append((a, b, log.open, {k: np.array(getattr(log, k)[a:b]) for k in COLS}))

    sealed = simulate(cfg, workload, "hybrid", fold=Record, block=8)
    return workload, whole, sealed, seen


def test_blocks_are_sealed_once_in_order_and_cover_every_request(runs):
    workload, _, _, seen = runs
    n = len(workload)
    assert n > 8 * 10  # many blocks
    assert [(a, b) for a, b, *_ in seen] == [(a, min(a + 8, n)) for a in range(0, n, 8)]
    # most blocks were sealed while requests of later blocks were still open
    assert sum(1 for *_, open_n, _ in seen if open_n > 0) > len(seen) // 2


def test_each_sealed_block_holds_what_the_whole_log_holds_at_the_end(runs):
    _, whole, _, seen = runs
    log = whole.log
    reasons = {log.reasons.names[c] for c in np.unique(log.reason).tolist()}
    assert {"timeout_cold_start", "unfinished_at_end"} <= reasons  # turned away; cut at the end
    assert log.colds.written()[0].size  # cold starts
    for k in COLS:
        got = np.concatenate([cols[k] for *_, cols in seen])
        want = np.asarray(getattr(log, k))
        assert got.dtype == want.dtype, k
        assert got.tobytes() == want.tobytes(), k


def test_the_sealed_run_ends_as_the_whole_one(runs):
    _, whole, sealed, _ = runs
    assert (sealed.t_end, sealed.period_s) == (whole.t_end, whole.period_s)
    assert [(u.start_s, u.end_s, u.model) for u in sealed.ledger] == \
        [(u.start_s, u.end_s, u.model) for u in whole.ledger]


def test_blocks_of_unserved_requests_seal_at_once():
    got = []

    class Log:
        def settle_block(self, a, b):
            pass

        def release_below(self, b):
            pass

    served = np.array([False] * 4 + [True] * 3 + [False] * 2)
    s = Sealer(9, 4, lambda _log, a, b: got.append((a, b)), served)
    s.ended(np.array([], np.int64), Log())
    assert got == [(0, 4)]  # nothing of it is served
    s.ended(np.array([4, 6]), Log())
    assert got == [(0, 4)]  # request 5 still open
    s.ended(np.array([5]), Log())
    assert got == [(0, 4), (4, 8), (8, 9)] and s.done


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MADV_DONTNEED zero-fills on Linux")
def test_release_gives_back_whole_pages_below_the_sealed_rows():
    per_page = PAGE // 8
    col = mapped(4 * per_page, np.float64)
    col[:] = 1.5
    release(col, 2 * per_page + 3)  # two whole pages, and three rows of the third
    assert not col[:2 * per_page].any()  # given back: read as zero-filled pages
    assert (col[2 * per_page:] == 1.5).all()  # the third page still holds rows not sealed
    plain = np.full(8, 2.0)
    release(plain, 8)  # not mapped: nothing given back
    assert (plain == 2.0).all()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MADV_DONTNEED zero-fills on Linux")
def test_outcomes_of_sealed_blocks_are_given_back_and_the_cut_requests_still_fail(tmp_path):
    """The outcome column of a sealed log lives in mapped pages given back as its blocks
    seal (zeros: pending, if read). The run's end then fails only the requests of blocks
    not sealed: reading the whole column, it would take the given-back requests for
    unfinished ones and end them twice."""
    from sim.logseal import _mapping

    paced = [f"{i * 0.01:.2f},100,20" for i in range(2 * PAGE)]  # served as they come
    burst = ["82.0,100,20"] * (PAGE + 300)  # more than the horizon's last second serves
    (tmp_path / "t.csv").write_text("timestamp,input_tokens,output_tokens\n"
                                    + "\n".join(paced + burst) + "\n")
    a = "tenants.chat.arrival"
    cfg = compose([f"{a}.kind=trace", f"{a}.trace.path={tmp_path}/t.csv", f"{a}.trace.format=csv",
                   f"{a}.trace.duplicates=keep",
                   "tenants.chat.input.kind=trace", "tenants.chat.output.kind=trace",
                   "setups=[dedicated]", "horizon_s=83", "drain_s=0"])
    workload = workload_of(build(cfg))
    whole = simulate(cfg, workload, "dedicated")
    seen = {}

    class Keep:
        def __init__(self, run):
            self.log = run.log

        def add(self, a, b):
            seen[a] = np.array(self.log.outcome[a:b])

    sealed = simulate(cfg, workload, "dedicated", fold=Keep, block=PAGE)
    log = sealed.log
    assert _mapping(log.outcome) is not None
    assert not log.outcome[:2 * PAGE].any()  # given back: the first two blocks sealed early
    got = np.concatenate([seen[a] for a in sorted(seen)])
    assert got.tobytes() == whole.log.outcome.tobytes()
    cut = int(np.count_nonzero(whole.log.reason == whole.log.reasons.code("unfinished_at_end")))
    assert 0 < cut < PAGE + 300  # the burst is cut, not the paced requests
