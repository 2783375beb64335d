"""The request log's columns that stay zero in most runs (cached tokens, preemptions,
retries, spills, reasons) take no memory until a non-zero value is written, and read as
zeros until then; cold-start waits and tiers are kept only for the requests that waited,
and read as the dense columns would; output tokens are checked as completions are written."""

from types import SimpleNamespace

import numpy as np

from sim.records import COMPLETED, RequestLog, is_zeros


def _done(rid, cached=0, preempts=0, preempt_s=0.0):
    return SimpleNamespace(id=rid, t_admit=0.0, t_first=1.0, t_done=2.0, replica=0, attempts=1,
                           gen=5, cached=cached, preempts=preempts, preempt_s=preempt_s)


def test_zero_columns_take_memory_only_when_written():
    log = RequestLog(1000)
    for col in (log.cached, log.preempts, log.preempt_s, log.attempts, log.spilled, log.reason):
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


def test_reasons_retries_and_spills_take_memory_at_their_first_value():
    log = RequestLog(100)
    log.reject(4, "")  # the empty reason is code 0: nothing to write
    log.put("attempts", 5, 0)
    assert is_zeros(log.reason) and is_zeros(log.attempts)
    log.fail(6, "queue_full", 0, 1.0)
    log.put("attempts", 7, 3)
    log.put("spilled", 8, True)
    assert log.reasons.names[log.reason[6]] == "queue_full" and log.reason.sum() == log.reason[6]
    assert log.attempts.tolist() == [0] * 7 + [3] + [0] * 92
    assert np.flatnonzero(log.spilled).tolist() == [8]


def test_cold_starts_read_as_dense_columns_at_any_rows():
    rng = np.random.default_rng(7)
    n = 500
    log = RequestLog(n)
    dense_w, dense_t = np.zeros(n), np.zeros(n, np.int8)
    for _ in range(300):  # rows written again: the last write counts, as in a dense column
        rid, w = int(rng.integers(n)), float(rng.exponential(20.0))
        tier = str(rng.choice(["host_dram", "local_ssd", "object_storage"]))
        log.cold(rid, w, tier)
        dense_w[rid], dense_t[rid] = w, log.cold_tiers.code(tier)
    assert np.array_equal(log.cold_wait_s, dense_w) and np.array_equal(log.cold_tier, dense_t)
    mask = rng.random(n) < 0.3
    ids = rng.permutation(n)[:77]
    for rows, want in ((None, dense_w), (slice(40, 310), dense_w[40:310]), (slice(490, 600), dense_w[490:]),
                       (mask, dense_w[mask]), (ids, dense_w[ids]), (np.zeros(0, np.int64), dense_w[:0])):
        got = log.cold_wait_at(rows)
        assert got.dtype == np.float64 and np.array_equal(got, want)
    assert np.array_equal(log.cold_tier_at(mask), dense_t[mask])
    # the written values at a mask's rows alone: the dense column's there, less its zeros
    written = dense_w[mask] > 0
    assert np.array_equal(log.colds.values_in("cold_wait_s", mask), dense_w[mask][written])
    assert RequestLog(10).cold_wait_at(slice(2, 5)).tolist() == [0.0, 0.0, 0.0]  # none written


def test_a_completion_with_other_output_tokens_is_recorded_when_written():
    log = RequestLog(10, want=np.full(10, 5, np.int32))
    log.complete(_done(2), 0)  # gen 5: as asked
    bad = _done(3)
    bad.gen = 4
    log.complete(bad, 0)
    log.flush()
    assert log.wrong_tokens == [(3, 4)]


def test_a_closed_rows_histogram_adds_the_same_seconds():
    """KvStats.close keeps the non-zero bins only: what it adds into a histogram is the same,
    to the bit, as the dense list it replaced; closing twice changes nothing."""
    from sim.kvstats import OCC_BINS, KvStats
    rng = np.random.default_rng(3)
    st = KvStats()
    for b in rng.integers(0, OCC_BINS + 1, 40).tolist():
        st.occupancy_hist[b] += float(rng.exponential())
    dense = np.full(OCC_BINS + 1, 0.25)
    st.add_hist(dense)
    st.close()
    bins, seconds = st.hist_bins()
    assert isinstance(st.occupancy_hist, bytes)
    assert 0 < bins.size < OCC_BINS + 1 and (seconds > 0).all()
    st.close()
    closed = np.full(OCC_BINS + 1, 0.25)
    st.add_hist(closed)
    assert np.array_equal(dense, closed) and dense.sum() > 0.25 * (OCC_BINS + 1)


def test_result_files_get_the_mode_the_umask_gives(tmp_path, monkeypatch):
    """atomic_write's temporary file is 0600 (mkstemp); the file it becomes takes 0666 less
    the umask, as a plain open() would (every result file was 0600 until December 2026, so a
    sweep folder on shared storage was unreadable to the user's group)."""
    import stat

    import sim.io
    monkeypatch.setattr(sim.io, "UMASK", 0o022)  # a common umask, whatever this machine's
    p = tmp_path / "x.csv"
    sim.io.atomic_write(p, lambda q: q.write_text("a\n"))
    assert stat.S_IMODE(p.stat().st_mode) == 0o644
