"""The keys a run was given that it never read, said in a ``note:`` line.

A key counts as given when an override on the command line sets it (:data:`GIVEN`), the
experiment file chosen sets it (:func:`experiment_keys`, its own defaults list followed) or
the variant chosen does (``variant=NAME``: :func:`with_variant`);
values only the schema or ``conf/config.yaml`` give are defaults, never said. Each key is
judged by the rules of :mod:`sim.simulation.unread_why` and three more: a setup the run
does not include, a model no request calls, the output length of a model that produces no
tokens.

The ``simulate`` job says one note per key (:func:`simulate_notes`). Every other job runs
several setups or variants: :func:`simulate` records, per run, the keys that run did not
read (:func:`record_run`, while :func:`recording` is on), and :func:`job_note` says in one
line the keys no run of the job read (one run reading a key is enough for it to be read).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from importlib.resources import files
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from sim.config.given import GIVEN
from sim.config.repeats import leaf_keys
from sim.config.variants import variant_overrides
from sim.simulation.build import run_setups, setup_serves_background
from sim.simulation.unread_why import READ_BY, no_pool, router_note, why_off

# top-level keys of an experiment file that are not the run's settings: how the run is named,
# written and repeated, its report's notes, Hydra's own (as sim.jobs.READ_BY_EVERY_JOB)
NOT_SETTINGS = ("defaults", "experiment", "job", "name", "notes", "output", "replications",
                "variant", "variants", "hydra")
# the experiment conf/config.yaml chooses when none is: its keys are the defaults (one tenant,
# chat, on llama31-8b, both setups configured), never said
DEFAULT = "default"
_DEPTH = 16  # assumption: no experiment builds on a chain of more files (Hydra loops forever)
_BY_SETUP = object()  # a run's reason: its setup reads no key of that section


class Reads:
    """What a job was given (override texts, the experiment file's keys) and, per run, the
    keys it did not read (key -> why)."""

    def __init__(self, given, file_keys):
        self.given = tuple(given)
        self.file_keys = list(file_keys)
        self.keys = _leaf(self.given, self.file_keys)  # parsed once: Hydra's parser is slow
        self.runs: list[dict] = []
        self.setups: list[str] = []


READS: ContextVar[Reads | None] = ContextVar("servesim_unread_keys", default=None)


@contextmanager
def recording(given, file_keys):
    """Record the keys each run (:func:`record_run`) does not read, while the job runs."""
    token = READS.set(Reads(given, file_keys))
    try:
        yield
    finally:
        READS.reset(token)


def _given() -> tuple[tuple[str, ...], list[str]]:
    rec = READS.get()
    return (rec.given, rec.file_keys) if rec is not None else (GIVEN.get(), [])


def _leaf(given, file_keys) -> list[str]:
    """Every dotted key set: the overrides' (through ``{...}`` values) and the file's."""
    keys = [k.lstrip("+") for text in given for k in leaf_keys(text)]
    return list(dict.fromkeys(keys + list(file_keys)))


def _by_setup(setups, given, file_keys) -> list[str]:
    """The keys given that no setup in ``setups`` reads: an override's key as typed
    (``serverless={...}`` is one), a file's as its section (``serverless.pool``)."""
    keys = [t.lstrip("+~").split("=", 1)[0] for t in given]
    keys += [".".join(k.split(".")[:2]) for k in file_keys]
    out = []
    for key in keys:
        top = key.split(".", 1)[0]
        if top == "background":
            unread = not any(setup_serves_background(s) for s in setups)
        else:
            unread = top in READ_BY and not set(READ_BY[top]) & set(setups)
        if unread:
            out.append(key)
    return list(dict.fromkeys(out))


def _off(cfg, keys) -> dict[str, str]:
    """key -> why, per key whose feature the config leaves off."""
    return {k: w for k in keys if (w := why_off(cfg, k)) is not None}


# dotted keys naming a model (or, for hybrid.placement, a model or a tenant) in one place
PER_MODEL = {("deployments",): 1, ("dedicated", "replicas"): 2, ("dedicated", "spot", "replicas"): 3,
             ("serverless", "autoscaler", "min_replicas"): 3, ("hybrid", "placement"): 2,
             ("cold_start", "engine_init_s_by_model"): 2}


def _uncalled(workload, keys) -> dict[str, str]:
    """key (cut to the model's entry) -> why, per key that sets something for a model no
    request of the run calls (``dedicated.replicas.llama33-70b`` when every tenant calls
    llama31-8b). Every key a map value sets is looked into: the command line gives a new entry
    as a map (``deployments={qwen3-32b: {...}}``)."""
    out = {}
    for key in keys:
        parts = key.split(".")
        for prefix, at in PER_MODEL.items():
            if tuple(parts[:at]) == prefix and len(parts) > at:
                name = parts[at]
                if name not in workload.models and name not in workload.tenants:
                    out[".".join(parts[:at + 1])] = f"no tenant of it calls {name}"
    return out


VARIANT_LISTS = ("dedicated.variants", "dedicated.burst.variants")


def _uncalled_variants(cfg, workload, keys) -> dict[str, str]:
    """``dedicated.variants[i]`` (and the burst's) -> why, per entry given for a model no
    request of the run calls (until December 2026 unsaid, while ``dedicated.replicas.<m>``
    of such a model was said)."""
    return {k: f"no tenant of it calls {m}" for k, m in _variant_models(cfg, keys)
            if m is not None and m not in workload.models}


def _pooled(cfg, workload, keys, setups) -> dict[str, str]:
    """A reserved-replica key of a model the run serves only on the pool (its setups the
    hybrid, without dedicated, whose placement puts the model on the pool) -> why (until
    December 2026 unsaid: ``setups=[hybrid] dedicated.replicas.llama31-8b=2`` ran as without)."""
    if "hybrid" not in setups or "dedicated" in setups:
        return {}
    from sim.platform.placement import dedicated_models

    n_user = len(workload.tenants) - int(workload.background_tenants)
    ded = dedicated_models(cfg, list(workload.models), workload.tenants[:n_user],
                           workload.tenant_models)
    why = ("the hybrid setup serves {} on the pool (hybrid.placement, hybrid.default_tier "
           f"{cfg.hybrid.default_tier}), with no reserved replica")
    out = {}
    for key in keys:
        parts = key.split(".")
        for prefix, at in ((("dedicated", "replicas"), 2), (("dedicated", "spot", "replicas"), 3)):
            if tuple(parts[:at]) == prefix and len(parts) > at:
                m = parts[at]
                if m in workload.models and m not in ded:
                    out[".".join(parts[:at + 1])] = why.format(m)
    for k, v in _variant_models(cfg, keys):
        if v in workload.models and v not in ded:
            out[k] = why.format(v)
    if not ded:  # no reserved pool at all: nothing to burst, spill from or mirror
        for key in keys:
            if key.startswith(("dedicated.", "hybrid.spillover.")) or key == "hybrid.shadow_fraction":
                out.setdefault(key, "the hybrid setup places no model dedicated (hybrid.placement, "
                                    f"hybrid.default_tier {cfg.hybrid.default_tier}): it reserves "
                                    "no replica, so nothing bursts, spills or is mirrored")
    return out


def _idle_pool_classes(cfg, workload, keys, setups) -> dict[str, str]:
    """``serverless.pool.<gpu>`` given for a GPU class no deployment of the run's models runs
    on: its nodes hold no replica (until December 2026 unsaid: 24 A100s beside an 8B on H100)."""
    if not {"serverless", "hybrid"} & set(setups):
        return {}
    gpus = set()
    for m in workload.models:
        dep = OmegaConf.select(cfg, f"deployments.{m}", default=None)
        if dep is None:  # a model without a deployment entry: its class is not known here
            return {}
        gpus.add(str(dep.gpu))
    return {f"serverless.pool.{g}": f"no deployment of the run's models runs on {g}; they "
            f"run on {', '.join(sorted(gpus))}"
            for g in dict.fromkeys(k.split(".")[2] for k in keys
                                   if k.startswith("serverless.pool.") and len(k.split(".")) > 2)
            if g not in gpus}


def _variant_models(cfg, keys) -> list[tuple[str, str]]:
    """``(dedicated.variants[i], model)`` of the variant lists the keys give."""
    out = []
    for lst in VARIANT_LISTS:
        if any(k == lst or k.startswith(lst + ".") or k.startswith(lst + "[") for k in keys):
            out += [(f"{lst}[{i}]", getattr(v, "model", None))
                    for i, v in enumerate(OmegaConf.select(cfg, lst, default=None) or [])]
    return out


def _no_output(cfg, keys) -> dict[str, str]:
    """key -> why, per tenant, or stage of a pipeline a tenant sends, calling an embedding
    model or reranker (no output tokens) whose ``output`` is set: given (``keys``), or in the
    config when it differs from the schema's default, the one value that cannot be told from
    unset. A trace's recorded outputs have their own note (sim/workload/lengths.py)."""
    from sim.config.workload import StageConfig, TenantConfig

    def unset(cls):
        return OmegaConf.to_container(OmegaConf.structured(cls).output, enum_to_str=True)

    tenant_unset = unset(TenantConfig)  # once: per tenant it took 10,000 tenants minutes
    calls = [(f"tenants.{name}.output", t.model, t.output, tenant_unset)
             for name, t in cfg.tenants.items() if t.model is not None and t.pipeline is None]
    sent = {str(t.pipeline) for t in cfg.tenants.values() if t.get("pipeline") is not None}
    stage_unset = unset(StageConfig) if sent else None
    calls += [(f"pipelines.{p}.stages.{s}.output", sc.model, sc.output, stage_unset)
              for p in (cfg.get("pipelines") or {}) if p in sent
              for s, sc in cfg.pipelines[p].stages.items()
              if str(sc.kind) == "model" and sc.model is not None]
    out = {}
    for key, model, output, default in calls:
        m = cfg.catalog.models.get(model)
        if m is None or str(m.kind) not in ("embedding", "reranker") or str(output.kind) == "trace":
            continue
        typed = any(k == key or k.startswith(key + ".") for k in keys)
        if typed or OmegaConf.to_container(output, resolve=True, enum_to_str=True) != default:
            what = "an embedding model" if str(m.kind) == "embedding" else "a reranker"
            out[key] = f"{model} is {what}: it produces no tokens, a request ends with its prefill"
    return out


def _calls_tokenless(cfg, workload) -> bool:
    """Does any request of the run call an embedding model or reranker (a few models to look
    at, where :func:`_no_output` looks at every tenant)?"""
    known = cfg.catalog.models
    return any(str(known[m].kind) in ("embedding", "reranker") for m in workload.models if m in known)


def simulate_notes(cfg, workload) -> list[str]:
    """The ``simulate`` job's notes: one naming the keys no setup of the run reads, one per
    other key the run does not read, with why."""
    given, file_keys = _given()
    setups = run_setups(cfg)
    out = []
    by_setup = _by_setup(setups, given, file_keys)
    if by_setup:
        out.append(f"not read by this run: {', '.join(by_setup)} (no setup of it uses them; "
                   f"setups: {', '.join(setups)})")
    keys = _leaf(given, file_keys)
    tokenless = _no_output(cfg, keys) if _calls_tokenless(cfg, workload) else {}
    said = set()  # one reason a key (a hybrid without a pool: not its billing's too)
    for found in (no_pool(cfg, workload, keys, setups), _off(cfg, keys), _uncalled(workload, keys),
                  _uncalled_variants(cfg, workload, keys), _pooled(cfg, workload, keys, setups),
                  _idle_pool_classes(cfg, workload, keys, setups), tokenless):
        out += [f"not read by this run: {k} ({why})" for k, why in found.items() if k not in said]
        said.update(found)
    return list(dict.fromkeys(out + router_note(cfg, setups)))


def record_run(cfg, setup: str, workload) -> None:
    """While a job is recorded (:func:`recording`): the keys the run of ``setup`` on
    ``cfg`` (a variant's config) over ``workload`` did not read, with why."""
    rec = READS.get()
    if rec is None:
        return
    keys = rec.keys
    unread = dict.fromkeys(_by_setup([setup], rec.given, rec.file_keys), _BY_SETUP)
    tokenless = _no_output(cfg, keys) if _calls_tokenless(cfg, workload) else {}
    for found in (no_pool(cfg, workload, keys, [setup]), _off(cfg, keys), _uncalled(workload, keys),
                  _uncalled_variants(cfg, workload, keys), _pooled(cfg, workload, keys, [setup]),
                  tokenless):
        unread.update({k: w for k, w in found.items() if k not in unread})
    rec.runs.append(unread)
    if setup not in rec.setups:
        rec.setups.append(setup)


def job_note(job: str) -> list[str]:
    """One note naming the keys given that no run of the job ``job`` read (each with why:
    the first run's), or none (also when the job ran no simulation). The runs recorded are
    then forgotten: a replicated job's next seed judges its own."""
    rec = READS.get()
    if rec is None or not rec.runs:
        return []
    runs, setups = rec.runs, rec.setups
    rec.runs, rec.setups = [], []
    never = [k for k in runs[0] if all(k in r for r in runs[1:])]
    if not never:
        return []
    said = []
    for k in never:
        why = next((r[k] for r in runs if r[k] is not _BY_SETUP), None)
        said.append(f"{k} ({why or 'no setup the job runs reads it; it runs ' + ', '.join(setups)})")
    n = len(runs)
    return [f"not read by any run of the {job} job ({n} run{'s' * (n != 1)}): {'; '.join(said)}"]


def _sources(given) -> list:
    """The folders Hydra finds config files in, in its order: the running app's, else this
    package's conf and the ``file://`` entries of a ``hydra.searchpath`` override."""
    try:
        from hydra.core.hydra_config import HydraConfig
        if HydraConfig.initialized():
            out = []
            for s in HydraConfig.get().runtime.config_sources:
                if s.schema == "file":
                    out.append(Path(s.path))
                elif s.schema == "pkg":
                    out.append(files(s.path))
            return out
    except Exception:  # noqa: BLE001 - no Hydra app (sim.run): the overrides say it
        pass
    out = [files("sim.conf")]
    for text in given:
        if text.split("=", 1)[0].lstrip("+") == "hydra.searchpath" and "=" in text:
            entries = yaml.safe_load(text.split("=", 1)[1])
            for e in entries if isinstance(entries, list) else []:
                if isinstance(e, str) and e.startswith("file://"):
                    out.append(Path(e[len("file://"):]))
    return out


def _chosen(given) -> str | None:
    try:
        from hydra.core.hydra_config import HydraConfig
        if HydraConfig.initialized():
            choice = HydraConfig.get().runtime.choices.get("experiment")
            return None if choice in (None, "null", DEFAULT) else str(choice)
    except Exception:  # noqa: BLE001 - no Hydra app (sim.run): the overrides say it
        pass
    names = [t.split("=", 1)[1] for t in given
             if "=" in t and t.split("=", 1)[0].lstrip("+") == "experiment"]
    return names[-1] if names and names[-1] != DEFAULT else None


def _file_leaves(sources, name: str, seen: set, depth: int = 0) -> list[str]:
    """The dotted keys the experiment file ``name`` (and those its defaults list builds on)
    sets, as Hydra would find it; none when it is not a global-package file on disk."""
    if name in seen or depth > _DEPTH:
        return []
    seen.add(name)
    text = None
    for src in sources:
        f = src.joinpath("experiment", f"{name}.yaml")
        if f.is_file():
            text = f.read_text(encoding="utf-8-sig")
            break
    if text is None or "@package _global_" not in "".join(text.splitlines(True)[:3]):
        return []
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:  # Hydra read it: a reader difference, not worth a run
        return []
    if not isinstance(doc, dict):
        return []
    out = []
    for d in doc.get("defaults") or []:
        if isinstance(d, str) and d != "_self_":
            out += _file_leaves(sources, d.removeprefix("/experiment/"), seen, depth + 1)

    def walk(prefix: str, node: dict) -> None:
        for k, v in node.items():
            if isinstance(v, dict) and v:
                walk(f"{prefix}{k}.", v)
            else:
                out.append(f"{prefix}{k}")

    walk("", {k: v for k, v in doc.items() if str(k) not in NOT_SETTINGS})
    return out


def with_variant(cfg, given) -> tuple[str, ...]:
    """``given`` (the overrides) and, after them, the ``key=value`` overrides of the chosen
    variant (``variant=NAME``, its ``variants.NAME`` map, sim/config/variants.py): the keys
    it sets are judged as the command line's. Until December 2026 they were not judged."""
    chosen = variant_overrides(cfg)
    return (*given, *(chosen[1] if chosen is not None else ()))


def experiment_keys(cfg, given) -> list[str]:
    """The dotted keys the chosen experiment's file sets that the config still holds (an
    override may delete one: ``~tenants.analyst``), once each."""
    name = _chosen(given)
    if name is None:
        return []
    out = []
    for key in _file_leaves(_sources(given), name, set()):
        try:
            held = OmegaConf.select(cfg, key, default=_BY_SETUP, throw_on_missing=False)
        except Exception:  # noqa: BLE001 - a key OmegaConf cannot address: not said
            continue
        if held is not _BY_SETUP:
            out.append(key)
    return list(dict.fromkeys(out))
