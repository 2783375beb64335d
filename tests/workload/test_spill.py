"""The workload's blocks written to files and merged a window at a time
(sim/workload/spill.py): the same columns, byte for byte, as the merge in memory."""

from __future__ import annotations

import os

import numpy as np
import pytest

import sim
import sim.workload.spill as spill
from sim.logseal import _mapping
from sim.simulation.build import build_workload

COLS = ("t", "tenant", "model", "in", "out", "over", "moved")
MODELS = ["a", "b", "c"]


def _blocks(rng, k: int, ties: bool):
    """``k`` blocks of sorted times (integers when ``ties``: many equal times across and
    within blocks) and their other columns; some empty."""
    out = []
    for j in range(k):
        n = int(rng.integers(0, 300))
        t = np.sort(rng.integers(0, 40, n).astype(float) if ties else rng.uniform(0, 100, n))
        out.append((t, j, MODELS[j % 3], rng.integers(1, 9, n).astype(np.int32),
                    rng.integers(1, 9, n).astype(np.int32), rng.uniform(size=n) < 0.1,
                    (rng.uniform(size=n) < 0.2) if j % 2 else None))
    return out


def _merge(blocks, spilled: bool) -> dict:
    store = spill.Blocks(spilled)
    for b in blocks:
        store.add(*b)
    return store.merged(MODELS)


@pytest.mark.parametrize("seed", range(12))
def test_windows_give_the_merge_in_memory(monkeypatch, seed):
    rng = np.random.default_rng(seed)
    # tiny windows and samples: many windows, cuts inside runs of equal times, reads of a
    # sample's stretch at every block
    monkeypatch.setattr(spill, "WINDOW_ROWS", int(rng.integers(1, 200)))
    monkeypatch.setattr(spill, "SAMPLE", int(rng.integers(1, 40)))
    blocks = _blocks(rng, int(rng.integers(1, 40)), ties=seed % 2 == 0)
    want, got = _merge(blocks, False), _merge(blocks, True)
    assert got["where"] is None  # merged by windows
    n = sum(b[0].size for b in blocks)
    for c in COLS:
        assert got[c].dtype == want[c].dtype and got[c].size == n
        assert np.array_equal(got[c], want[c]), c
    assert got["any_over"] == bool(want["over"].any())
    # the order is the stable sort of all blocks taken together
    t = np.concatenate([b[0] for b in blocks])
    tenant = np.concatenate([np.full(b[0].size, b[1]) for b in blocks])
    order = np.argsort(t, kind="stable")
    assert np.array_equal(got["t"], t[order]) and np.array_equal(got["tenant"], tenant[order])


@pytest.mark.parametrize("bad", ["unsorted", "nan"])
def test_a_block_out_of_order_or_with_nan_is_merged_in_memory(bad):
    rng = np.random.default_rng(3)
    blocks = _blocks(rng, 6, ties=True)
    t = blocks[2][0].copy()
    if bad == "unsorted":
        t[[0, -1]] = t[[-1, 0]] + np.array([0.0, 1.0])
    else:
        t[-1] = np.nan
    blocks[2] = (t, *blocks[2][1:])
    want, got = _merge(blocks, False), _merge(blocks, True)
    assert got["where"] is not None  # read back, sorted whole
    for c in COLS:
        assert np.array_equal(got[c], want[c], equal_nan=c == "t"), c


def test_mapped_columns_are_read_only_and_read_again_after_their_pages_go():
    rng = np.random.default_rng(5)
    blocks = _blocks(rng, 30, ties=False)
    got, want = _merge(blocks, True), _merge(blocks, False)
    col = got["in"]
    assert _mapping(col) is not None and not col.flags.writeable
    with pytest.raises(ValueError):
        col[0] = 1
    spill.release(col, col.size)  # the pages given back: the file still holds the values
    assert np.array_equal(col, want["in"])


def test_no_blocks_and_empty_blocks():
    assert _merge([], True)["t"].size == 0
    empty = [(np.zeros(0), 0, "a", np.zeros(0, np.int32), np.zeros(0, np.int32),
              np.zeros(0, bool), None)]
    got = _merge(empty, True)
    assert all(got[c].size == 0 for c in COLS) and got["tenant"].dtype == np.int16


def test_count_finite_counts_by_blocks():
    x = np.arange(1000.0)
    x[[3, 500, 999]] = np.nan
    assert spill.count_finite(x, block=7) == 997
    assert spill.count_finite(np.zeros(0)) == 0


def test_a_folded_run_spills_its_workload_and_gets_the_same_one():
    base = ["horizon_s=120", "background.synthetic.tenants=12", "background.synthetic.rate_rps=20",
            "setups=[serverless]"]
    whole = build_workload(sim.compose(base))
    folded = build_workload(sim.compose(base + ["output.requests=none",
                                                "output.percentiles=sketch"]))
    assert _mapping(folded.arrival_s) is not None and _mapping(whole.arrival_s) is None
    assert len(whole) > 1000 and whole.background_tenants == 12
    for name in ("arrival_s", "tenant", "model", "input_tokens", "output_tokens",
                 "changed_req"):
        a, b = getattr(whole, name), getattr(folded, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert (whole.over_context is None) == (folded.over_context is None)
    assert whole.tenants == folded.tenants and whole.models == folded.models


def test_no_temporary_file_keeps_the_columns_in_memory_and_says_so(monkeypatch):
    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(spill.tempfile, "TemporaryFile", refuse)
    rng = np.random.default_rng(7)
    blocks = _blocks(rng, 5, ties=True)
    store = spill.Blocks(True)
    for b in blocks:
        store.add(*b)
    got, want = store.merged(MODELS), _merge(blocks, False)
    assert not store.spill and "kept in memory" in store.note and "Permission denied" in store.note
    assert all(np.array_equal(got[c], want[c]) for c in COLS)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_write_that_fails_is_one_input_error():
    store = spill.Blocks(True)
    store._files["in"] = open("/dev/full", "wb", buffering=0)  # every write: "No space left on device"
    with pytest.raises(sim.InputError) as e:
        store.add(np.arange(3.0), 0, "a", np.ones(3, np.int32), np.ones(3, np.int32),
                  np.zeros(3, bool), None)
    assert e.value.key == "output.requests" and "No space left" in str(e.value)
