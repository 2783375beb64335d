"""The request log's columns that stay zero in most runs (cached tokens, preemptions) take
no memory until a completion writes a non-zero value, and read as zeros until then."""

from types import SimpleNamespace

import numpy as np

from sim.records import COMPLETED, RequestLog, is_zeros


def _done(rid, cached=0, preempts=0, preempt_s=0.0):
    return SimpleNamespace(id=rid, t_admit=0.0, t_first=1.0, t_done=2.0, replica=0, attempts=1,
                           gen=5, cached=cached, preempts=preempts, preempt_s=preempt_s)


def test_zero_columns_take_memory_only_when_written():
    log = RequestLog(1000)
    for col in (log.cached, log.preempts, log.preempt_s):
        assert is_zeros(col) and col.nbytes > 0 and np.shares_memory(col[:1], col[999:])
    log.complete(_done(3), 0)
    log.flush()
    assert is_zeros(log.cached) and is_zeros(log.preempts) and log.outcome[3] == COMPLETED
    log.complete(_done(7, cached=48, preempts=2, preempt_s=0.5), 0)
    log.flush()
    assert not is_zeros(log.cached) and log.cached[7] == 48 and log.cached.sum() == 48
    assert log.preempts[7] == 2 and log.preempt_s[7] == 0.5 and log.preempt_s.sum() == 0.5
    assert log.cached.dtype == np.int32 and log.preempts.dtype == np.int16


def test_a_log_of_one_request_writes_in_place():
    log = RequestLog(1)
    log.complete(_done(0, cached=16), 0)
    log.flush()
    assert log.cached.tolist() == [16]
