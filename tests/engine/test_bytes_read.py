"""The HBM bytes a replica reads (its `bandwidth_fraction` in replicas.csv), summed over its
iterations: by hand on a lone request, and the fluid engine against the step engine when a
planned stretch is cut short by an arrival."""

import pytest
from helpers.engine import make_perf, run_requests


def _read(kind, catalog, reqs):
    dep, perf = make_perf(catalog)
    _, reps = run_requests(kind, dep, perf, reqs)
    return reps[0].kv.stats.bytes_per_gpu, perf


@pytest.mark.parametrize("kind", ["fluid", "step"])
def test_a_lone_request_reads_each_iterations_kv(catalog, kind):
    got, perf = _read(kind, catalog, [(0, 0.0, 100, 4000)])
    # the prefill reads no KV; decode iteration j reads the prompt and the j - 1 tokens before
    want = perf.bytes_per_gpu(0, 100, 0) + sum(perf.bytes_per_gpu(1, 0, 100 + j - 1)
                                               for j in range(1, 4000))
    assert got == pytest.approx(want, rel=1e-12)


def test_a_stretch_cut_short_reads_what_its_own_iterations_read(catalog):
    """A 4,000-token answer planned as one stretch, cut at 5 s by a second request: the
    fluid engine charged the cut stretch the whole plan's middle iteration (0.5 % more
    bytes than the step engine until December 2026)."""
    reqs = [(0, 0.0, 100, 4000), (1, 5.0, 100, 10)]
    fluid, _ = _read("fluid", catalog, reqs)
    step, _ = _read("step", catalog, reqs)
    assert fluid == pytest.approx(step, rel=1e-9)
