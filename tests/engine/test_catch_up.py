"""A paged fluid replica brought up to now for a router (catch_up): its memory advances,
its plan does not."""

import dataclasses

import simpy
from helpers.engine import make_perf

from sim.engine import ENGINES, Request, RequestQueue
from sim.perf import RooflinePerf


def _mid_stretch(catalog, kind, until):
    dep, _ = make_perf(catalog)
    dep = dataclasses.replace(dep, admission="paged")
    env = simpy.Environment()
    q = RequestQueue()
    rep = ENGINES[kind](env, 0, RooflinePerf(dep), dep, q, lambda r, t: None)
    for i in range(3):
        q.push(Request(i, 0, 0, 0.0, 500 + 100 * i, 400))
    env.run(until=until)
    return rep


def test_catch_up_claims_the_iterations_run_and_keeps_the_plan(catalog):
    rep = _mid_stretch(catalog, "fluid", 0.5)
    n, j = rep._n_dec, rep._ran()
    assert n == 3 and j > 10  # three sequences decoding, many iterations into the stretch
    boundary, timer, private = rep.next_boundary(), rep._t_end, rep.kv.private
    rep.catch_up()
    assert rep._ran() == 0
    assert rep.kv.private == private + n * j  # each sequence's token of each iteration run
    # the plan and its timer are as they were (until December 2026 it was planned again
    # from the boundary passed: a speed change meanwhile re-timed the running iteration)
    assert rep.next_boundary() == boundary and rep._t_end == timer


def test_caught_up_memory_matches_the_step_engine_but_the_running_iteration(catalog):
    fluid = _mid_stretch(catalog, "fluid", 0.5)
    step = _mid_stretch(catalog, "step", 0.5)
    fluid.catch_up()
    # the step engine claims each decoding sequence's token when its iteration starts
    assert step.kv.private - fluid.kv.private == fluid.n_decoding
