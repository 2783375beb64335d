"""A fuzzer generated from the config schema itself: every number of the composed config
(the base config, the hybrid one, and the keys only the compound one has), whatever key it
is, set to a hostile value: set numbers, typed numbers left null, lists of numbers and maps
of numbers by model left empty.

Each run either stops with one clear line naming that key (``InputError`` whose key, or
whose message, is the key), or runs to its end within a time budget with its invariants
holding (they are checked at the end of every run; a violation raises). New keys are covered
without editing this file: the keys are read from the composed config.

The default suite draws a fixed set of examples (derandomised, 60; more with
``SERVESIM_FUZZ_EXAMPLES``); ``pytest -m fuzz`` runs every key with every value.
"""

from __future__ import annotations

import math
import os
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf
from omegaconf.nodes import FloatNode, IntegerNode

import sim

# small runs: a short horizon, no files
BASE = ["horizon_s=5", "drain_s=60", "output.parquet=false", "output.plots=false",
        "output.report=false", "output.progress=false"]
SOURCES = {"base": [], "hybrid": ["experiment=hybrid", "background.synthetic.tenants=3"],
           "compound": ["experiment=compound"]}
# compound adds only the keys the others lack: its pipeline stages and their two models
ONLY_NEW = {"compound"}
HOSTILE = [math.nan, math.inf, -math.inf, 0, -1, 1e308, 2**31, 2**63, 1e-300]
TIME_BUDGET_S = 60
DEEP = int(os.environ.get("SERVESIM_FUZZ_EXAMPLES", "0"))


def _numeric_keys(cfg, prefix="", model=None):
    """Every numeric key: set ones, typed ones left null (``limits.memory_gb``), lists of
    numbers (``plan.tp``, written ``key[]``: the list is replaced by one hostile element), and
    maps of numbers by model left empty (``dedicated.spot.replicas``: one deployed model)."""
    model = model or min(cfg.get("deployments") or ["llama31-8b"])
    out = []
    for k, v in cfg.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if key.startswith(("notes", "hydra", "sources")) or ".sources" in key:
            continue
        node = cfg._get_node(k)
        if OmegaConf.is_dict(node):
            if not len(node) and node._metadata.element_type in (int, float):
                out.append(f"{key}.{model}")
            out += _numeric_keys(node, key, model)
        elif OmegaConf.is_list(node):
            if node._metadata.element_type in (int, float):
                out.append(f"{key}[]")
        elif isinstance(node, (FloatNode, IntegerNode)) or (
                isinstance(v, (int, float)) and not isinstance(v, bool)):
            out.append(key)
    return out


def _keys():
    keys = {(src, k) for src, ov in SOURCES.items() if src not in ONLY_NEW
            for k in _numeric_keys(sim.compose(BASE + ov))}
    seen = {k for _, k in keys}
    return sorted(keys | {(src, k) for src in ONLY_NEW
                          for k in _numeric_keys(sim.compose(BASE + SOURCES[src])) if k not in seen})


KEYS = _keys()


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def _value(v) -> str:
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(v)


def check_one(src: str, key: str, value) -> None:
    if key.endswith("[]"):
        key = key[:-2]
        overrides = BASE + SOURCES[src] + [f"{key}=[{_value(value)}]"]
    else:
        overrides = BASE + SOURCES[src] + [f"{key}={_value(value)}"]
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_BUDGET_S)
    try:
        sim.run(overrides)
    except sim.InputError as e:
        msg = str(e)
        assert "\n" not in msg.strip(), msg
        assert e.key == key or key in msg, f"{key}={value}: {msg}"
    except _Timeout:
        pytest.fail(f"{key}={value} ran past {TIME_BUDGET_S} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@settings(derandomize=True, max_examples=DEEP or 60, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.sampled_from(KEYS), st.sampled_from(HOSTILE))
def test_a_hostile_number_anywhere_is_one_line_or_a_sound_run(key, value):
    check_one(key[0], key[1], value)


@pytest.mark.fuzz
@pytest.mark.parametrize("src,key", KEYS)
def test_every_key_with_every_hostile_value(src, key):
    """The whole product (``pytest -m fuzz``: 9 runs a key, about 0.33 CPU s a run: an hour
    of CPU for the 1,181 keys, README "Tests")."""
    for v in HOSTILE:
        check_one(src, key, v)


def test_the_fuzzer_sees_every_part_of_the_schema():
    keys = {k for _, k in KEYS}
    for part in ("catalog.gpus.H100.memory_gb", "tenants.chat.arrival.rate_rps",
                 "dedicated.burst.check_interval_s", "serverless.autoscaler.tick_s",
                 "hybrid.spillover.wait_threshold_s", "limits.events", "breakeven.capacity_requests_per_client",
                 # null by default (typed numbers), and lists of numbers
                 "limits.memory_gb", "tenants.chat.deadline_s", "serverless.default_rate_limit.rpm",
                 "plan.tp[]", "keepalive.fixed_idle_s[]", "background.servegen.client_ids[]",
                 "dedicated.spot.replicas.llama31-8b", "serverless.autoscaler.min_replicas.llama31-8b",
                 # only under experiment=compound
                 "pipelines.rag.stages.search.fanout", "deployments.bge-large-en.max_num_seqs"):
        assert part in keys
