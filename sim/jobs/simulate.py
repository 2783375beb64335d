"""The ``simulate`` job: one workload, every requested setup, tables and files."""

from __future__ import annotations

import time

import pandas as pd
from omegaconf import OmegaConf

from sim.analysis.signals import check_config, signals_table
from sim.analysis.standalone import standalone_rows
from sim.config.repeats import leaf_keys
from sim.jobs import GIVEN, job
from sim.metrics.events import events_frame, ledger_frame
from sim.metrics.overload import run_notes
from sim.platform.hybrid import background_only_notes
from sim.records import Result
from sim.report.outputs import write_outputs
from sim.simulation.build import run_setups, setup_serves_background
from sim.simulation.frames import frames, pipeline_tables, setup_tables
from sim.simulation.simulate import simulate_setups

# the config sections only some setups read (the hybrid setup runs a dedicated and a
# serverless part); background tenants go to setups with a shared pool
READ_BY = {"dedicated": ("dedicated", "hybrid"), "serverless": ("serverless", "hybrid"),
           "hybrid": ("hybrid",)}


def unread_notes(cfg, given) -> list[str]:
    """A note naming the overrides in ``given`` that no setup of this run reads
    (``setups=[dedicated] serverless.keepalive.idle_s=5``), or none."""
    setups = run_setups(cfg)
    keys = []
    for text in given:
        key = text.lstrip("+~").split("=", 1)[0]
        top = key.split(".", 1)[0]
        if top == "background":
            unread = not any(setup_serves_background(s) for s in setups)
        else:
            unread = top in READ_BY and not set(READ_BY[top]) & set(setups)
        if unread:
            keys.append(key)
    if not keys:
        return []
    return [f"not read by this run: {', '.join(dict.fromkeys(keys))} (no setup of it uses them; "
            f"setups: {', '.join(setups)})"]


# a section's keys read only when a switch turns its feature on: (section, the switch keys
# themselves, is it on, why not); a key given on the command line while it is off is said
SWITCHED = (
    ("dedicated.burst.", ("enabled",), lambda c: bool(c.dedicated.burst.enabled),
     "dedicated.burst.enabled is false"),
    ("dedicated.spot.", ("replicas",), lambda c: any(int(n) for n in c.dedicated.spot.replicas.values()),
     "no model has dedicated.spot.replicas"),
    ("dedicated.failures.", ("mode", "max_attempts"),  # spot reclaims read max_attempts too
     lambda c: c.dedicated.failures.mode != "none", "dedicated.failures.mode is none"),
    ("hybrid.spillover.", ("enabled",), lambda c: bool(c.hybrid.spillover.enabled),
     "hybrid.spillover.enabled is false"),
    ("serverless.keepalive.hybrid.", (), lambda c: c.serverless.keepalive.kind == "hybrid",
     "serverless.keepalive.kind is fixed"),
    ("output.requests_sample", (), lambda c: c.output.requests == "sample",
     "output.requests is not sample"),
    # the seventeenth sweep: settings of a feature the run leaves off, unsaid before
    ("dedicated.cache_router.", (), lambda c: str(c.dedicated.router) == "cache_aware",
     "dedicated.router is not cache_aware"),
    ("serverless.cache_router.", (), lambda c: str(c.serverless.router) == "cache_aware",
     "serverless.router is not cache_aware"),
    ("dedicated.batch.", (), lambda c: any(str(t.priority) == "batch" for t in c.tenants.values()),
     "no tenant has priority batch"),
    ("background.synthetic.", ("tenants",), lambda c: int(c.background.synthetic.tenants) > 0,
     "background.synthetic.tenants is 0"),
    ("serverless.min_increment_s", (), lambda c: str(c.serverless.billing) == "gpu_second",
     "serverless.billing is per_token, which bills tokens, not replica time"),
    ("serverless.batch_price_factor", (), lambda c: str(c.serverless.billing) == "per_token",
     "serverless.billing is gpu_second, which bills replica time, not tokens"),
    ("cold_start.snapshot_speedup", (), lambda c: bool(c.cold_start.snapshots) or "gpu_snapshot" in (
        c.cold_start.remote_tier, c.dedicated.burst.storage_tier, c.dedicated.spot.storage_tier,
        c.dedicated.failures.reload_tier), "cold_start.snapshots is false: no load restores a snapshot"),
)
# a burst or spillover setting that one trigger reads and the other does not
TRIGGER_FIELDS = {"slo_fraction": "slo", "wait_threshold_s": "wait"}
# tenants.<t>.arrival.<field>: the arrival setting that makes a run read it
ARRIVAL_FIELDS = {"cv": ("kind", "gamma"), "on_s": ("kind", "onoff"), "off_s": ("kind", "onoff"),
                  "off_rate_fraction": ("kind", "onoff"), "concurrency": ("kind", "closed"),
                  "requests_per_client": ("kind", "closed"), "period_s": ("curve", "sinusoid"),
                  "peak_to_trough": ("curve", "sinusoid"), "phase_s": ("curve", "sinusoid")}


def _why_off(cfg, key: str) -> str | None:
    """Why this run reads no value of the dotted ``key`` (its feature is off), or None."""
    parts = key.split(".")
    if key.startswith(("background.servegen.", "tenants_from.servegen.")) and len(parts) > 2:
        sg = OmegaConf.select(cfg, ".".join(parts[:2]))
        if parts[2] not in ("clients", "client_ids") and not (int(sg.clients) or len(sg.client_ids)):
            return f"{'.'.join(parts[:2])} chooses no client (clients 0, client_ids empty)"
    if (len(parts) == 4 and parts[0] == "deployments" and parts[2] == "perf"
            and parts[3] in ("table_path", "kv_capacity_tokens") and parts[1] in cfg.deployments
            and str(cfg.deployments[parts[1]].perf.kind) != "table"):
        return (f"deployments.{parts[1]}.perf.kind is roofline, which derives the KV capacity "
                "from the GPU's memory and gpu_memory_utilization")
    if len(parts) == 3 and parts[0] == "deployments" and parts[1] in cfg.deployments:
        d, at = cfg.deployments[parts[1]], f"deployments.{parts[1]}"
        if parts[2] == "swap_gb" and (str(d.admission), str(d.preemption)) != ("paged", "swap"):
            return f"{at} swaps only with admission paged and preemption swap"
        if parts[2] == "host_cache_gb" and not d.prefix_caching:
            return f"{at}.prefix_caching is false: the host tier holds cached prefixes"
    if (len(parts) > 2 and parts[0] == "tenants" and parts[2] in ("model", "input", "output")
            and parts[1] in cfg.tenants and cfg.tenants[parts[1]].pipeline is not None):
        p = cfg.tenants[parts[1]].pipeline  # its calls are its stages' (until December 2026 unsaid)
        return (f"tenants.{parts[1]} sends pipeline {p}: each stage's model, input and output "
                f"are read (pipelines.{p}.stages)")
    if len(parts) == 5 and parts[:3:2] == ["tenants", "prefix"] and parts[1] in cfg.tenants:
        px, at = cfg.tenants[parts[1]].prefix, f"tenants.{parts[1]}.prefix"
        if parts[3] == "docs" and parts[4] != "count" and not int(px.docs.count):
            return f"{at}.docs.count is 0"
        if parts[3:] == ["sessions", "think_s"] and not float(px.sessions.turns_mean) > 1:
            return f"{at}.sessions.turns_mean is {px.sessions.turns_mean:g}: one turn a session"
    if (len(parts) == 4 and parts[0] == "tenants" and parts[2] in ("input", "output")
            and parts[1] in cfg.tenants and parts[3] in ("cv", "mean")):
        kind, at = str(cfg.tenants[parts[1]][parts[2]].kind), f"tenants.{parts[1]}.{parts[2]}"
        if parts[3] == "cv" and kind != "lognormal":
            return f"{at}.kind is {kind}: only lognormal lengths have a cv"
        if parts[3] == "mean" and kind in ("empirical", "trace"):
            return f"{at}.kind is {kind}, whose lengths come from data, not a mean"
    if len(parts) > 1 and parts[0] == "pipelines" and parts[1] in cfg.pipelines and not any(
            str(t.pipeline) == parts[1] for t in cfg.tenants.values()):
        return f"no tenant sends pipeline {parts[1]} (tenants.<t>.pipeline)"
    fm = str(cfg.dedicated.failures.mode)  # random reads no script, script no rates
    if fm != "none" and (key.startswith("dedicated.failures.script") != (fm == "script")) and \
            len(parts) > 2 and parts[:2] == ["dedicated", "failures"] and parts[2] in (
                "script", "mtbf_gpu_hours", "mttr_s"):
        return f"dedicated.failures.mode is {fm}"
    if len(parts) == 3 and parts[2] in TRIGGER_FIELDS and parts[:2] in (["dedicated", "burst"],
                                                                          ["hybrid", "spillover"]):
        sec = OmegaConf.select(cfg, ".".join(parts[:2]))
        if bool(sec.enabled) and str(sec.trigger) != TRIGGER_FIELDS[parts[2]]:
            return f"{'.'.join(parts[:2])}.trigger is {sec.trigger}"
    for section, switches, on, why in SWITCHED:
        if key.startswith(section) and key[len(section):].split(".")[0] not in switches:
            return None if on(cfg) else why
    if (len(parts) > 4 and parts[0] == "tenants" and parts[2] == "arrival"
            and parts[3] in ("trace", "servegen") and parts[1] in cfg.tenants):
        a, at = cfg.tenants[parts[1]].arrival, f"tenants.{parts[1]}.arrival"
        if str(a.kind) != parts[3]:
            return f"{at}.kind is {a.kind}, not {parts[3]}"
        if parts[3] == "trace" and parts[4] == "csv" and str(a.trace.format) != "csv":
            return f"{at}.trace.format is {a.trace.format}, not csv"
    if len(parts) == 4 and parts[0] == "tenants" and parts[2] == "arrival" and parts[1] in cfg.tenants:
        a = cfg.tenants[parts[1]].arrival
        if parts[3] == "rate_rps" and str(a.kind) not in ("poisson", "gamma", "onoff"):
            return (f"tenants.{parts[1]}.arrival.kind is {a.kind}, which sets its own rate"
                    + (" (trace.rate_scale scales a trace)" if str(a.kind) == "trace" else ""))
        field, value = ARRIVAL_FIELDS.get(parts[3], (None, None))
        if field is not None and str(a[field]) != value:
            return f"tenants.{parts[1]}.arrival.{field} is {a[field]}, not {value}"
    return None


def off_notes(cfg, given) -> list[str]:
    """A note per override in ``given`` whose feature this run's config leaves off
    (``dedicated.burst.max_replicas=4`` without ``dedicated.burst.enabled=true``)."""
    out = []
    for key in (k.lstrip("+") for text in given for k in leaf_keys(text)):  # {...} values too
        why = _why_off(cfg, key)
        if why is not None:
            out.append(f"not read by this run: {key} ({why})")
    return list(dict.fromkeys(out))


def no_output_notes(cfg, given) -> list[str]:
    """A note per tenant, or stage of a pipeline a tenant sends, calling an embedding model
    or reranker (no output tokens) whose ``output`` is set: on the command line, or in the
    config (an experiment file) when it differs from the schema's default, the one value
    that cannot be told from unset. A trace's recorded outputs have their own note
    (sim/workload/lengths.py)."""
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
    out = []
    for key, model, output, default in calls:
        m = cfg.catalog.models.get(model)
        if m is None or str(m.kind) not in ("embedding", "reranker") or str(output.kind) == "trace":
            continue
        typed = any(k.lstrip("+") == key or k.lstrip("+").startswith(key + ".")
                    for text in given for k in leaf_keys(text))
        if typed or OmegaConf.to_container(output, resolve=True, enum_to_str=True) != default:
            what = "an embedding model" if str(m.kind) == "embedding" else "a reranker"
            out.append(f"not read by this run: {key} ({model} is {what}: it produces no "
                       "tokens, a request ends with its prefill)")
    return out


# dotted keys naming a model (or, for hybrid.placement, a model or a tenant) in one place
PER_MODEL = {("deployments",): 1, ("dedicated", "replicas"): 2, ("dedicated", "spot", "replicas"): 3,
             ("serverless", "autoscaler", "min_replicas"): 3, ("hybrid", "placement"): 2,
             ("cold_start", "engine_init_s_by_model"): 2}


def uncalled_notes(workload, given) -> list[str]:
    """A note per override in ``given`` that sets something for a model no request of the
    run calls (``dedicated.replicas.llama33-70b=1`` when every tenant calls llama31-8b)."""
    out = []
    # every key a map value sets too: the command line gives a new entry as a map
    # (deployments={qwen3-32b: {...}}), which was not looked into (the seventeenth sweep)
    for key in (k.lstrip("+") for text in given for k in leaf_keys(text)):
        parts = key.split(".")
        for prefix, at in PER_MODEL.items():
            if tuple(parts[:at]) == prefix and len(parts) > at:
                name = parts[at]
                if name not in workload.models and name not in workload.tenants:
                    out.append(f"not read by this run: {'.'.join(parts[:at + 1])} (no tenant of it calls "
                               f"{name})")
    return list(dict.fromkeys(out))


@job("simulate")
def simulate_job(cfg, out_dir, progress) -> Result:
    t0 = time.perf_counter()
    workload, runs, catalog = simulate_setups(cfg, progress)
    summary, requests = frames(cfg, workload, runs, catalog, built=False)
    res = Result(summary=summary, requests=requests,
                 notes=unread_notes(cfg, GIVEN.get()) + off_notes(cfg, GIVEN.get())
                 + uncalled_notes(workload, GIVEN.get()) + no_output_notes(cfg, GIVEN.get())
                 + run_notes(cfg, workload, runs)
                 + background_only_notes(cfg, workload))
    res.tables.update(setup_tables(runs, workload))
    if cfg.tenants:
        check_config(cfg)
        alone = (standalone_rows(cfg, [t for t in workload.tenants if t in cfg.tenants])
                 if cfg.signals.standalone else None)
        res.tables["signals"] = signals_table(cfg, workload, runs, summary, alone)
    res.tables["replicas"] = ledger_frame(runs)
    res.tables.update(pipeline_tables(runs, res))
    events = events_frame(runs)
    if len(events):
        res.tables["events"] = events
    res.tables["wall"] = pd.DataFrame({"requests": [len(workload)],
                                       "wall_s": [round(time.perf_counter() - t0, 3)]})
    if out_dir is not None:
        res.tables.pop("wall")  # wall time is not deterministic; keep files byte-identical
        write_outputs(res, cfg, out_dir)
    return res
