"""The claims registry: a claim is an id, the brief's text and a check returning a Verdict.

Add a claim with one decorated function in a module of this package::

    @claim("my_claim", "the text as the brief states it")
    def _my_claim(ctx: ClaimContext) -> Verdict: ...

Each check builds its scenario from an experiment file (``ctx.scenario("breakeven", ...)``)
with the claims run's catalog, seed and engine and ``claims.overrides`` applied.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np
from hydra.core.override_parser.types import OverrideType
from omegaconf import open_dict

from sim.config import compose
from sim.config.messages import from_config_error
from sim.config.overrides import REPLACING
from sim.config.repeats import _leaves, _parse, _same_value
from sim.errors import InputError

HOLDS, FAILS, NOT_SIMULATED = "holds", "does not hold", "not simulated"


@dataclass
class Verdict:
    verdict: str  # holds | does not hold | not simulated
    simulated: str  # the simulated value(s), as text
    value: float  # the number the verdict is about (nan when none)
    unit: str
    assumptions: str  # prices, hardware, workload used
    why: str  # the rule applied, or why it was not simulated
    kind: str = "output"  # output | input | pending


@dataclass
class Claim:
    id: str
    text: str
    check: Callable[["ClaimContext"], Verdict]


CLAIMS: list[Claim] = []


def claim(cid: str, text: str):
    """Register a claim check (order of registration = order of the report)."""
    def deco(fn):
        if any(c.id == cid for c in CLAIMS):
            raise ValueError(f"claim {cid!r} registered twice")
        CLAIMS.append(Claim(cid, text, fn))
        return fn
    return deco


# keys every scenario takes from the claims run itself (set there, not in claims.overrides)
RUN_KEYS = ("catalog", "seed", "engine", "output.plots", "output.progress")


# keys no scenario reads from claims.overrides: each check chooses its own experiment (a
# later experiment= replaced the check's scenario, unsaid: a hybrid run audited the uptime
# claim), and the checks run their simulations in-process (no Hydra run or job choice)
NOT_SCENARIO_KEYS = ("experiment", "job", "hydra", "replications")  # the checks run once


def _leaves_of(overrides) -> list[tuple[str, object, str, str]]:
    """(dotted key, value, value as shown, override) per key each override sets, a ``{...}``
    value flattened to its leaves; a deletion (``~key``) or a whole ``tenants={...}`` (which
    replaces the map) is one key."""
    out = []
    for text in map(str, overrides):
        o = _parse(text)
        if o is None or o.type == OverrideType.DEL or o.key_or_group in REPLACING:
            key, _, value = text.partition("=")
            out.append((key.lstrip("+~").strip(), value.strip(), value.strip(), text))
            continue
        out += [(k.lstrip("+"), v, shown, text) for k, v, shown in _leaves(o, text)]
    return out


def _check_overlap(experiment: str, given, own) -> None:
    """A key of ``claims.overrides`` (``given``) that a check's own overrides (``own``) set
    over, whether either is a map in braces or dotted: compose applies the check's after the
    user's, so the user's value was lost, unsaid (``dedicated.failures={mttr_s: 5}`` under the
    uptime check's ``dedicated.failures.mttr_s=600``). The same value at the same key passes."""
    mine = _leaves_of(own)
    for key, value, shown, text in _leaves_of(given):
        for k, v, s, t in mine:
            same = k == key and _same_value(v, value)
            if not same and (k == key or k.startswith(key + ".") or key.startswith(k + ".")):
                mine_in = "" if t == f"{k}={s}" else f" (in {t!r})"
                given_in = "" if text == f"{key}={shown}" else f" (in {text!r})"
                raise InputError(f"sets {key}={shown}{given_in}, but the {experiment!r} scenario "
                                 f"of a check sets {k}={s} itself{mine_in}, over it: drop it "
                                 "from claims.overrides", key="claims.overrides")


def check_overrides(cfg) -> None:
    """``claims.overrides`` may not set what every scenario takes from the claims run (its
    catalog, seed, engine): the scenario's copy replaced it, unsaid; nor what no scenario
    reads, nor one key twice (compose kept the last, unsaid)."""
    seen: set[str] = set()
    for text in cfg.claims.overrides:
        key = str(text).partition("=")[0].lstrip("+~").strip()
        if key in seen:
            raise InputError(f"{key} is given twice; give it once", key="claims.overrides")
        seen.add(key)
        if any(key == k or key.startswith(k + ".") for k in RUN_KEYS):
            raise InputError(f"{key} is taken from the claims run itself by every scenario: give "
                             f"it as {key}=... on the command line, not in claims.overrides",
                             key="claims.overrides")
        if any(key == k or key.startswith(k + ".") or key.startswith(k + "@")
               for k in NOT_SCENARIO_KEYS):
            raise InputError(f"{key} is not a scenario's key: each check chooses its own "
                             "experiment and runs it in this process (claims.overrides set "
                             "the scenarios' keys, such as dedicated.pricing=reserved)",
                             key="claims.overrides")
    for key, value, shown, text in _leaves_of(cfg.claims.overrides):
        if key == "output.percentiles" and str(value) != "exact":  # read by every scenario,
            # silently: until December 2026 two claims' figures came from a sketch, unsaid
            raise InputError(f"sets {key}={shown}: the claims job compares its runs' exact "
                             "percentiles (output.percentiles=sketch is the simulate job's only)",
                             key="claims.overrides")
    if cfg.claims.overrides:
        _check_scenarios(cfg)


# the experiments the checks compose their scenarios from (ctx.scenario's first argument
# in this package: tests/test_cfg_checks.py holds this list to the source)
SCENARIOS = ("breakeven", "cold_start", "compound", "dedicated", "failures", "noisy_neighbour")


def _check_scenarios(cfg) -> None:
    """``claims.overrides`` applied to the scenarios as the checks compose them, before any
    work (``claims.overrides=['nope=1']`` printed under ``--cfg job``, and the run refused
    it). With every claim run, every scenario must take them, composed and built. With
    ``claims.only``, which scenarios its claims compose (and which keys a check sets over
    them) is known only as they run: there, an override no scenario can compose is refused,
    and a value out of range is left to the run, which names the check's own key it meets."""
    if not cfg.claims.only:
        ctx = ClaimContext(cfg)
        for experiment in SCENARIOS:
            ctx.scenario(experiment)
        return
    errors = []
    for experiment in SCENARIOS:
        try:
            compose([f"experiment={experiment}", *cfg.claims.overrides])
        except Exception as e:
            err = e if isinstance(e, InputError) else from_config_error(e)
            if err is None:
                raise
            errors.append(InputError(f"{err} (the {experiment!r} scenario, with claims.overrides "
                                     "applied)", key="claims.overrides"))
    if len(errors) == len(SCENARIOS):
        raise errors[0]


class ClaimContext:
    """What a check needs: the claims run's config, quick mode, shared results."""

    def __init__(self, cfg, progress: bool = False):
        self.cfg = cfg
        self.quick = bool(cfg.claims.quick)
        self.progress = progress
        self.cache: dict = {}

    def scenario(self, experiment: str, *overrides: str):
        """An experiment's config with this run's catalog, seed and engine, and
        ``claims.overrides`` then ``overrides`` applied."""
        _check_overlap(experiment, self.cfg.claims.overrides, overrides)
        try:
            c = compose([f"experiment={experiment}", *self.cfg.claims.overrides, *overrides])
        except Exception as e:
            err = e if isinstance(e, InputError) else from_config_error(e)
            if err is None or not self.cfg.claims.overrides:  # the check's own keys: a bug
                raise
            raise InputError(f"{err} (the {experiment!r} scenario, with claims.overrides applied)",
                             key="claims.overrides") from None
        with open_dict(c):
            c.catalog = copy.deepcopy(self.cfg.catalog)
            c.seed = int(self.cfg.seed)
            c.engine = self.cfg.engine
            c.output.plots = False
            c.output.progress = False
        if self.cfg.claims.overrides:  # a value out of range is the override's: checked here,
            # it was refused deep in the check's run naming a key the user never typed
            # (claims.overrides=['horizon_s=-1'] as 'breakeven.setups[0]')
            from sim.simulation.build import build

            try:
                build(c)
            except InputError as e:
                raise InputError(f"{e} (the {experiment!r} scenario, with claims.overrides "
                                 "applied)", key="claims.overrides") from None
        return c

    def once(self, key: str, fn):
        """A result shared by several checks, computed the first time it is asked for."""
        if key not in self.cache:
            self.cache[key] = fn()
        return self.cache[key]


def _in(v: float, lo: float, hi: float) -> bool:
    return bool(np.isfinite(v) and lo <= v <= hi)


def _usd(v: float) -> str:
    return f"${v:,.2f}" if v >= 1 else f"${v:.3f}"


def _prices(cfg, model: str) -> str:
    m = cfg.catalog.models[model]
    return f"{model} per-token ${m.price_in_usd_per_mtok}/${m.price_out_usd_per_mtok} per M in/out"
