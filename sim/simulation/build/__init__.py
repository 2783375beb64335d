"""The one place that reads raw config: check it, then build the simulator's objects.

:func:`build` turns a composed config into its typed dataclasses, checks every number
against its field's declared range (:mod:`.fields`), every model and deployment
(:mod:`.models`) and every workload key and data file (:mod:`.workload`), and returns a
:class:`Built`: the typed config, the catalog and the memoised deployments and performance
models. A setup's own keys are checked when it is built (:func:`make_setup`,
:mod:`.setups`). Everything below this layer (workload generation, engines, platforms,
policies) receives these typed, checked objects and raises no
:class:`~sim.errors.InputError` for a config key; data-file readers name the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from omegaconf import OmegaConf

from sim.catalog import Catalog
from sim.config import check_run_name
from sim.errors import InputError
from sim.metrics.summary import SUMMARY_COLUMNS
from sim.platform import SETUPS
from sim.simulation.build.budget import check_budget
from sim.simulation.build.fields import check_fields, checked, typed, typed_once
from sim.simulation.build.models import check_catalog, model, perf_factory
from sim.simulation.build.setups import check_failure_times, check_setup
from sim.simulation.build.tenants_from import expand_tenants
from sim.simulation.build.workload import check_workload
from sim.workload import Workload, generate_workload

__all__ = ["Built", "build", "build_catalog", "check_objective", "check_unchosen", "build_workload", "expand_tenants", "make_setup",
           "perf_factory",
           "run_setups", "setup_serves_background", "typed_once"]


@dataclass(frozen=True)
class Built:
    cfg: Any  # the typed config (dataclass instances, enums as members), checked
    catalog: Catalog
    deployment_for: Callable
    perf_for: Callable


def build(cfg, workload: bool = True) -> Built:
    """Check ``cfg`` (a composed DictConfig, or its typed form) and build the catalog and the
    deployment factory; ``workload=False`` skips the workload's keys (a job that replaces
    the tenants checks its own)."""
    t = checked(cfg)
    catalog = check_catalog(t)
    deployment_for, perf_for = perf_factory(t, catalog)
    for name in t.deployments:  # every deployment listed, used or not
        deployment_for(name)
    for where, variants in (("dedicated.variants", t.dedicated.variants),
                            ("dedicated.burst.variants", t.dedicated.burst.variants)):
        seen: dict = {}
        for i, v in enumerate(variants):  # a heterogeneous fleet's other GPU classes
            model(catalog, v.model, f"{where}[{i}].model")
            deployment_for(v.model, (where, i))
            same = (v.model, v.gpu, v.precision, v.tp, v.pricing)
            if same in seen:  # two pools of one deployment, added up unsaid
                raise InputError(f"the same deployment as {where}[{seen[same]}] (model, gpu, "
                                 "precision, tp, pricing): give it once, with the replicas of "
                                 "both", key=f"{where}[{i}]")
            seen[same] = i
    check_run_keys(t, catalog)
    if workload:
        check_workload(t, catalog)
        check_failure_times(t)
        check_budget(t, run_setups(t))
    return Built(t, catalog, deployment_for, perf_for)


def check_run_keys(cfg, catalog) -> None:
    """Names that refer to models, setups or summary columns; the run's own name."""
    check_run_name(cfg.name)
    for m in cfg.cold_start.engine_init_s_by_model:
        model(catalog, m, f"cold_start.engine_init_s_by_model.{m}")
    if cfg.signals.current not in SETUPS:
        raise InputError(f"unknown setup {cfg.signals.current!r}; known: {', '.join(sorted(SETUPS))}",
                         key="signals.current")
    if float(cfg.metrics.warmup_s) >= float(cfg.horizon_s):
        raise InputError(f"must be < horizon_s ({float(cfg.horizon_s):g}): every request would be "
                         f"in the warm-up, got {float(cfg.metrics.warmup_s):g}", key="metrics.warmup_s")
    oc = cfg.objective
    if oc.setup is not None and oc.setup not in SETUPS:
        raise InputError(f"unknown setup {oc.setup!r}; known: {', '.join(sorted(SETUPS))}",
                         key="objective.setup")
    for key in ("cost", "slo_metric"):
        if getattr(oc, key) not in SUMMARY_COLUMNS:
            raise InputError(f"not a column of summary.csv: {getattr(oc, key)!r}", key=f"objective.{key}")


def check_objective(cfg) -> None:
    """``objective.setup`` is one the run runs and ``objective.tenant`` names a summary row
    of it (its tenants generated already): a tenant or an aggregate row. Checked once, on
    the run's own config, not on the configs a job derives from it (one tenant alone ...)."""
    setup = cfg.objective.setup
    if setup is not None and setup not in run_setups(cfg):
        raise InputError(f"setup {setup!r} is not run (setups: {', '.join(run_setups(cfg))})",
                         key="objective.setup")
    tenant = str(cfg.objective.tenant)
    if not (tenant.startswith("__") or tenant in cfg.tenants):
        known = ", ".join(["__all__", *sorted(cfg.tenants)])
        raise InputError(f"no tenant {tenant!r}: a summary row is a tenant or an aggregate row "
                         f"({known}, __model__:<model> ...)", key="objective.tenant")


def check_unchosen(cfg) -> None:
    """A setting of a mode the run's own config does not choose, which nothing would read: a
    failure script without ``failures.mode=script``, a trace or ServeGen file without that
    arrival kind, a rate-curve file without ``curve=file``, a length file or column without
    ``kind=empirical``, a model on a tool stage (as
    ``dedicated.spot.preemption.trace`` without ``mode=trace``, sim/simulation/build/setups.py).
    Checked once, on the run's own config: a job's derived configs change a mode on purpose
    (a capacity run's closed loop, the failures job's variant without failures)."""
    # the ServeGen tenants' lengths first: their generated tenants (sg-<id>) carry them, and
    # the user's key is this one (the twelfth sweep: it named tenants.sg-7.input.column)
    _check_length_files(cfg.tenants_from.servegen, "tenants_from.servegen")
    fc = cfg.dedicated.failures
    if len(fc.script) and str(fc.mode) != "script":
        raise InputError(f"scripted failures happen with dedicated.failures.mode=script only (mode "
                         f"is {fc.mode})", key="dedicated.failures.script")
    for name, tc in cfg.tenants.items():
        a, key = tc.arrival, f"tenants.{name}.arrival"
        for kind, path_key in (("trace", "trace.path"), ("servegen", "servegen.path")):
            if OmegaConf.select(a, path_key) and str(a.kind) != kind:
                raise InputError(f"a file replayed with {key}.kind={kind} only (kind is {a.kind})",
                                 key=f"{key}.{path_key}")
        if a.curve_path and str(a.curve) != "file":
            raise InputError(f"a rate curve read with {key}.curve=file only (curve is {a.curve})",
                             key=f"{key}.curve_path")
        _check_length_files(tc, f"tenants.{name}")
    for p, pc in cfg.pipelines.items():
        for s, sc in pc.stages.items():
            if str(sc.kind) == "tool" and sc.model:
                raise InputError("a tool stage calls no model (its time is its latency); make it "
                                 "kind model, or drop the model", key=f"pipelines.{p}.stages.{s}.model")


def _check_length_files(node, at: str) -> None:
    for part in ("input", "output"):
        lc, lkey = node[part], f"{at}.{part}"
        for field in ("path", "column"):
            if lc[field] and str(lc.kind) != "empirical":
                raise InputError(f"read with {lkey}.kind=empirical only (kind is {lc.kind})",
                                 key=f"{lkey}.{field}")


def build_catalog(cfg) -> Catalog:
    """The checked catalog of ``cfg`` (its other keys unchecked)."""
    t = typed(cfg)
    check_fields(t.catalog, "catalog")
    return check_catalog(t)


def build_workload(cfg) -> Workload:
    """Every request of ``cfg``'s tenants (checked first), before any setup runs."""
    return workload_of(build(cfg))


def workload_of(built: Built) -> Workload:
    """The workload of a built config; with ``workload.overlength: error`` a request beyond
    its model's context stops the run here, naming the tenant."""
    wl = generate_workload(built.cfg, built.catalog)
    if built.cfg.workload.overlength == "error":
        for t, n in wl.over_counts.items():
            if n:
                key = f"tenants.{t}.input" if t in built.cfg.tenants else "background"
                tc = built.cfg.tenants[t] if t in built.cfg.tenants else None
                px = getattr(tc, "prefix", None)
                shared = (" (its prompts include its shared prefix, tenants.{0}.prefix: a "
                          "system prompt, documents or earlier turns)".format(t)
                          if px is not None and (int(px.system_tokens) or int(px.docs.count)
                                                 or float(px.sessions.turns_mean) > 1) else "")
                raise InputError(f"{n:,} requests of tenant {t} exceed their model's context "
                                 f"(prompt + output{shared}; workload.overlength=error: use "
                                 "reject or clip to run them)", key=key)
    return wl


def run_setups(cfg) -> list[str]:
    """``cfg.setups`` with ``all`` expanded to every registered setup, checked."""

    if isinstance(cfg.setups, str):  # an interpolation's text ('${oc.env:X,[serverless]}'):
        raise InputError(f"must be a list of setup names such as [dedicated], got the text "  # was
                         f"{cfg.setups!r}", key="setups")  # read letter by letter, "setups repeat"
    setups = list(cfg.setups)
    if setups == ["all"]:  # every registered setup, so sweeps pick up new ones unchanged
        setups = list(SETUPS)
    if not setups:
        raise InputError("no setups to run", key="setups")
    if len(set(setups)) != len(setups):
        raise InputError(f"setups repeat: {setups}", key="setups")
    for name in setups:
        if name not in SETUPS:
            raise InputError(f"unknown setup {name!r}; known: {', '.join(sorted(SETUPS))}", key="setups")
    return setups


def make_setup(name: str, ctx, built: Built, models: list[str]):
    """Check setup ``name``'s keys for these models, then build it."""

    if name not in SETUPS:
        raise InputError(f"unknown setup {name!r}; known: {', '.join(sorted(SETUPS))}", key="setups")
    n_user = ctx.n_user_tenants if ctx.n_user_tenants is not None else len(ctx.tenant_names)
    check_setup(name, built.cfg, built.catalog, models, built.deployment_for,
                list(ctx.tenant_names), n_user, ctx.tenant_models)
    return SETUPS[name](ctx, built.cfg, built.catalog, models)


def setup_serves_background(name: str) -> bool:
    """Whether a setup runs a shared pool that serves background tenants too."""

    return name in SETUPS and SETUPS[name].serves_background
