"""Readers memoised by the bytes they read (sim/filecache.py): a file read again only when
its bytes changed, shared arrays read-only, and a worker holding only the files of its last
two runs."""

import os

import numpy as np
import pytest

from sim.filecache import by_content, next_run
from sim.workload.lengths import load_pmf
from sim.workload.traces import load_trace


def counting_reader(maxsize=4):
    calls = []

    @by_content(maxsize)
    def read(path, scale=1):
        calls.append(path)
        return (np.frombuffer(open(path, "rb").read(), np.uint8).astype(float) * scale,)

    return read, calls


def test_the_same_bytes_are_parsed_once_across_runs(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes(b"abc")
    read, calls = counting_reader()
    first = read(str(p))
    next_run()
    assert read(str(p)) is first and len(calls) == 1
    assert read(str(p), 2)[0].tolist() == [194.0, 196.0, 198.0] and len(calls) == 2  # other args


def test_a_rewrite_of_the_same_size_and_time_is_read_again(tmp_path):
    """Content, not the file's size or modification time, decides: a rewrite within the
    file system's time granularity is still seen."""
    p = tmp_path / "a.csv"
    p.write_bytes(b"abc")
    st = os.stat(p)
    read, calls = counting_reader()
    assert read(str(p))[0].tolist() == [97.0, 98.0, 99.0]
    p.write_bytes(b"abd")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(p).st_mtime_ns == st.st_mtime_ns and os.stat(p).st_size == st.st_size
    assert read(str(p))[0].tolist() == [97.0, 98.0, 100.0] and len(calls) == 2


def test_what_is_shared_cannot_be_changed_in_place(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:00.0000000,10,5\n"
                 "2023-11-16 18:17:01.0000000,20,6\n")
    t = load_trace(str(p), "azure")
    with pytest.raises(ValueError, match="read-only"):
        t.input_tokens[0] = 1
    q = tmp_path / "pmf.csv"
    q.write_text("tokens,probability\n7,0.5\n9,0.5\n")
    values, prob = load_pmf(str(q))
    with pytest.raises(ValueError, match="read-only"):
        prob[0] = 1.0


def test_a_worker_keeps_only_what_its_last_two_runs_read(tmp_path):
    files = []
    for i in range(3):
        files.append(tmp_path / f"{i}.csv")
        files[-1].write_bytes(bytes([i]))
    read, calls = counting_reader(maxsize=16)
    next_run()
    read(str(files[0]))
    next_run()
    read(str(files[1]))
    assert read.cache_entries() == 2
    next_run()  # files[0] was not read by the run before this one: dropped
    assert read.cache_entries() == 1
    read(str(files[1]))
    assert len(calls) == 2  # files[1] kept: read by the previous run
    read(str(files[2]))
    read(str(files[0]))
    assert len(calls) == 4


def test_what_is_not_a_regular_file_goes_to_the_reader_uncached(tmp_path):
    """A FIFO is never opened by the digest (it would block); the reader says what is wrong."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    seen = []

    @by_content(2)
    def read(path):
        seen.append(path)
        raise FileNotFoundError(path)

    for path in (str(fifo), str(tmp_path / "missing")):
        with pytest.raises(FileNotFoundError):
            read(path)
    assert len(seen) == 2
