"""The request log keeps a request's tries and preemptions exact. Until December 2026 they
were stored clipped to their columns' types, unsaid: 127 tries (int8; reachable with
``dedicated.failures.max_attempts`` above 127, whose range reaches 2**63) and 32,767
preemptions (int16). A column widens only in a run that needs it, so every other run's
``requests.parquet`` keeps its types."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from sim.records import COMPLETED, RequestLog


def _req(rid, attempts=0, preempts=0):
    return SimpleNamespace(id=rid, t_admit=0.0, t_first=1.0, t_done=2.0, replica=0,
                           attempts=attempts, gen=1, cached=0, preempts=preempts, preempt_s=0.0)


def test_tries_and_preemptions_beyond_the_column_types_are_kept():
    log = RequestLog(4)
    log.put("attempts", 0, 200)  # a request failed after 200 tries (the dedicated setup's path)
    for rid, att, pre in ((1, 300, 0), (2, 1, 40_000), (3, 2, 5)):
        log.complete(_req(rid, att, pre), 0)
    log.flush()
    assert log.attempts.tolist() == [200, 300, 1, 2]
    assert log.preempts.tolist() == [0, 0, 40_000, 5]
    assert (log.outcome[1:] == COMPLETED).all()


def test_counts_that_fit_keep_the_narrow_types():
    log = RequestLog(3)
    log.put("attempts", 0, 127)
    log.complete(_req(1, 3, 32_767), 0)
    log.flush()
    assert log.attempts.dtype == np.int8 and log.attempts.tolist() == [127, 3, 0]
    assert log.preempts.dtype == np.int16 and log.preempts.tolist() == [0, 32_767, 0]
