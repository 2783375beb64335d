"""Why a run reads no value of a key it was given: the rules :mod:`sim.simulation.unread`
applies to each key an override or an experiment file sets (a feature switched off, a setup
the run does not include)."""

from __future__ import annotations

from omegaconf import OmegaConf

from sim.platform.hybrid import tier_models
from sim.platform.storage import TIER_ORDER
from sim.simulation.build import run_setups
from sim.simulation.build.models import deployment_config
from sim.simulation.build.tenants_from import unread_model
from sim.workload.background import models_past_clients


def _spot(cfg) -> bool:
    """Whether a model has spot replicas (their reclaims interrupt requests too)."""
    return any(int(n) for n in cfg.dedicated.spot.replicas.values())


# the config sections only some setups read (the hybrid setup runs a dedicated and a
# serverless part); background tenants go to setups with a shared pool
READ_BY = {"dedicated": ("dedicated", "hybrid"), "serverless": ("serverless", "hybrid"),
           "hybrid": ("hybrid",)}


def _snapshot_read(c) -> bool:
    """Whether a load may restore a GPU snapshot (its speed-up and its tier's rates read)."""
    return bool(c.cold_start.snapshots) or "gpu_snapshot" in (
        c.cold_start.remote_tier, c.dedicated.burst.storage_tier, c.dedicated.spot.storage_tier,
        c.dedicated.failures.reload_tier)


# a section's keys read only when a switch turns its feature on: (section, the switch keys
# themselves, is it on, why not); a key given on the command line while it is off is said
SWITCHED = (
    ("dedicated.burst.", ("enabled",), lambda c: bool(c.dedicated.burst.enabled),
     "dedicated.burst.enabled is false"),
    ("dedicated.spot.", ("replicas",), lambda c: _spot(c), "no model has dedicated.spot.replicas"),
    ("dedicated.failures.", ("mode", "max_attempts"),  # spot reclaims read max_attempts too
     lambda c: c.dedicated.failures.mode != "none", "dedicated.failures.mode is none"),
    ("hybrid.spillover.", ("enabled",), lambda c: bool(c.hybrid.spillover.enabled),
     "hybrid.spillover.enabled is false"),
    ("serverless.keepalive.hybrid.", (), lambda c: c.serverless.keepalive.kind == "hybrid",
     "serverless.keepalive.kind is fixed"),
    ("output.requests_sample", (), lambda c: c.output.requests == "sample" and c.output.parquet,
     "output.requests is not sample, or output.parquet is false: no row is kept"),
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
    ("cold_start.snapshot_speedup", (), _snapshot_read,
     "cold_start.snapshots is false: no load restores a snapshot"),
    ("cold_start.tiers.gpu_snapshot.", (), _snapshot_read,
     "cold_start.snapshots is false: no load restores a snapshot"),
)


# a burst or spillover setting that one trigger reads and the other does not
TRIGGER_FIELDS = {"slo_fraction": "slo", "wait_threshold_s": "wait"}
# tenants.<t>.arrival.<field>: the arrival setting that makes a run read it
ARRIVAL_FIELDS = {"cv": ("kind", "gamma"), "on_s": ("kind", "onoff"), "off_s": ("kind", "onoff"),
                  "off_rate_fraction": ("kind", "onoff"), "concurrency": ("kind", "closed"),
                  "requests_per_client": ("kind", "closed"), "period_s": ("curve", "sinusoid"),
                  "peak_to_trough": ("curve", "sinusoid"), "phase_s": ("curve", "sinusoid")}


def why_off(cfg, key: str) -> str | None:
    """Why this run reads no value of the dotted ``key`` (its feature is off), or None."""
    parts = key.split(".")
    if key.startswith(("background.servegen.", "tenants_from.servegen.")) and len(parts) > 2:
        sg = OmegaConf.select(cfg, ".".join(parts[:2]))
        if parts[2] not in ("clients", "client_ids") and not (int(sg.clients) or len(sg.client_ids)):
            return f"{'.'.join(parts[:2])} chooses no client (clients 0, client_ids empty)"
        if parts[:3] == ["tenants_from", "servegen", "models"] and len(parts) == 4:
            return unread_model(cfg, parts[3])
    if key == "background.servegen.models":
        return models_past_clients(cfg)
    if (len(parts) == 4 and parts[0] == "deployments" and parts[2] == "perf"
            and parts[3] in ("table_path", "kv_capacity_tokens") and parts[1] in cfg.deployments
            and str(cfg.deployments[parts[1]].perf.kind) != "table"):
        return (f"deployments.{parts[1]}.perf.kind is roofline, which derives the KV capacity "
                "from the GPU's memory and gpu_memory_utilization")
    if len(parts) == 3 and parts[0] == "deployments" and parts[1] in cfg.deployments:
        d, at = cfg.deployments[parts[1]], f"deployments.{parts[1]}"
        if parts[2] == "swap_gb" and (str(d.admission), str(d.preemption)) != ("paged", "swap"):
            return f"{at} swaps only with admission paged and preemption swap"
        if parts[2] == "preemption" and str(d.admission) != "paged":
            return (f"{at}.admission is {d.admission}, which reserves every output token when "
                    "it admits a request, so no sequence is ever preempted")
        if parts[2] == "host_cache_gb" and not d.prefix_caching:
            return f"{at}.prefix_caching is false: the host tier holds cached prefixes"
        if parts[2] == "block_size" and not d.prefix_caching:
            return (f"{at}.prefix_caching is false: blocks set only which cached tokens a hit "
                    "reuses and an eviction frees; memory is counted a token at a time")
    if (len(parts) > 2 and parts[0] in ("dedicated", "serverless") and parts[1] == "cache_router"
            and str(cfg[parts[0]].router) == "cache_aware" and caching_off(cfg)):
        return ("no deployment caches prefixes (prefix_caching false), so no replica holds a "
                "cached prefix: cache_aware routes to the least loaded replica whatever these say")
    if (len(parts) == 3 and parts[0] == "tenants" and parts[2] == "slo_ttft_s"
            and parts[1] in cfg.tenants and str(cfg.tenants[parts[1]].priority) == "batch"):
        return (f"tenants.{parts[1]}.priority is batch: its objective is its deadline "
                f"(tenants.{parts[1]}.deadline_s), and its slo_ttft_s is left empty")
    if (len(parts) == 3 and parts[0] == "tenants" and parts[2] == "slo_tpot_s"
            and str(cfg.job) != "plan"):  # until December 2026 unsaid
        return f"the TPOT objective is read by job=plan alone; this job is {cfg.job}"
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
    if len(parts) > 4 and parts[0] == "pipelines" and parts[2] == "stages":
        return _stage_off(cfg, parts)
    if len(parts) > 2 and parts[:2] == ["dedicated", "failures"]:
        fm = str(cfg.dedicated.failures.mode)
        # random reads no script; script no rates nor reload tier (its down_s includes the reload)
        if (parts[2] in ("script", "mtbf_gpu_hours", "mttr_s", "reload_tier") and fm != "none"
                and (parts[2] == "script") != (fm == "script")):
            return f"dedicated.failures.mode is {fm}" + (
                ": a scripted down_s includes the reload" if parts[2] == "reload_tier" else "")
        if parts[2] == "max_attempts" and fm == "none" and not _spot(cfg):  # read by retries
            return ("dedicated.failures.mode is none and no model has dedicated.spot.replicas: "
                    "no request is interrupted")
    if len(parts) == 3 and parts[2] in TRIGGER_FIELDS and parts[:2] in (["dedicated", "burst"],
                                                                          ["hybrid", "spillover"]):
        sec = OmegaConf.select(cfg, ".".join(parts[:2]))
        if bool(sec.enabled) and str(sec.trigger) != TRIGGER_FIELDS[parts[2]]:
            return f"{'.'.join(parts[:2])}.trigger is {sec.trigger}"
    if (key == "serverless.batch_price_factor" and str(cfg.serverless.billing) == "per_token"
            and not any(str(t.priority) == "batch" for t in cfg.tenants.values())):
        return "no tenant has priority batch: the batch price bills a batch tenant's tokens"
    if parts[0] == "cold_start" and len(parts) > 1:
        why = _cold_off(cfg, parts)
        if why is not None:
            return why
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


def _cold_off(cfg, parts) -> str | None:
    """Why a ``cold_start.*`` key is not read (until December 2026 unsaid, where
    ``serverless.keepalive.idle_s`` on a dedicated run was said): a run whose only setup,
    the dedicated one, loads no weights (its replicas are up from the start: it loads only
    for a burst, a spot replacement or a failure's reload); a storage tier no load reads; the
    node provisioning time of a run that provisions no node."""
    setups = set(run_setups(cfg))
    pooled = bool({"serverless", "hybrid"} & setups)
    d = cfg.dedicated
    on = {"burst": bool(d.burst.enabled), "spot": any(int(n) for n in d.spot.replicas.values()),
          "failures": str(d.failures.mode) != "none"} if {"dedicated", "hybrid"} & setups else {}
    ded = {"burst": ("storage_tier", d.burst.need_node), "spot": ("storage_tier", d.spot.need_node),
           "failures": ("reload_tier", False)}
    loads = {f"dedicated.{k}.{ded[k][0]}": str(d[k][ded[k][0]]) for k, v in on.items() if v}
    if not pooled and not loads:
        return ("the dedicated setup loads no weights: its replicas are up from the start, and it "
                "loads only for a burst (dedicated.burst.enabled), a spot replica "
                "(dedicated.spot.replicas) or a failure (dedicated.failures.mode)")
    if parts[1] == "tiers" and len(parts) > 2:
        read = set(loads.values()) | ({*TIER_ORDER, str(cfg.cold_start.remote_tier)} if pooled else set())
        if parts[2] not in read:
            said = [f"{k}={v}" for k, v in loads.items()]
            said += [f"cold_start.remote_tier={cfg.cold_start.remote_tier}"] if pooled else []
            return f"no load of the run reads {parts[2]} ({', '.join(said)})"
    if parts[1] == "node_provision_s":
        grows = pooled and any(pc.max_nodes is not None and int(pc.max_nodes) > int(pc.nodes)
                               for pc in cfg.serverless.pool.values())
        if not grows and not any(bool(ded[k][1]) for k, v in on.items() if v):
            return ("no node is provisioned: " + (
                "no serverless.pool class has max_nodes above its nodes" if pooled else "")
                + (" and " if pooled and on else "")
                + ("no dedicated burst or spot replacement needs a node (need_node)" if on else ""))
    return None


def caching_off(cfg) -> bool:
    """No deployment a request of the run may call caches prefixes: each model a tenant, a
    pipeline stage or synthetic background tenants call is listed with prefix_caching false
    (an unlisted model's default caches; ServeGen clients' models come from data, so a run
    choosing any counts as caching)."""
    for sec in ("background.servegen", "tenants_from.servegen"):
        sg = OmegaConf.select(cfg, sec)
        if int(sg.clients) or len(sg.client_ids):
            return False
    models = {t.model for t in cfg.tenants.values()}
    models |= {st.model for p in cfg.pipelines.values() for st in p.stages.values()}
    if int(cfg.background.synthetic.tenants):
        models |= set(cfg.background.synthetic.models)
    models.discard(None)
    return all(m in cfg.deployments and not cfg.deployments[m].prefix_caching for m in models)


def router_note(cfg, setups) -> list[str]:
    """A note when the dedicated pools route ``cache_aware`` but nothing caches: no replica
    matches a prefix nor holds one, so the policy picks the fewest outstanding requests,
    the lowest position on a tie, as ``jsq`` does (until December 2026 unsaid)."""
    if (str(cfg.dedicated.router) != "cache_aware" or not set(READ_BY["dedicated"]) & set(setups)
            or not caching_off(cfg)):
        return []
    return ["dedicated.router is cache_aware, but no deployment caches prefixes (prefix_caching "
            "false): it routes as jsq, to the replica with the fewest outstanding requests"]


def _stage_off(cfg, parts) -> str | None:
    """Why a pipeline stage's key is not read: a tool's model or lengths, a model stage's
    latency, a cv its distribution has none of (until December 2026 unsaid)."""
    stages = cfg.pipelines[parts[1]].stages if parts[1] in cfg.pipelines else {}
    if parts[3] not in stages:
        return None
    st, at, field = stages[parts[3]], f"pipelines.{parts[1]}.stages.{parts[3]}", parts[4]
    tool = str(st.kind) == "tool"
    if tool and field in ("model", "input", "output"):
        return f"{at}.kind is tool: it calls no model, it waits its latency"
    if not tool and field == "latency":
        return f"{at}.kind is model: latency is a tool stage's"
    if len(parts) == 6 and field in ("input", "output", "latency"):
        kind = str(st[field].kind)
        if parts[5] == "cv" and kind != "lognormal":
            return f"{at}.{field}.kind is {kind}: only a lognormal {field} has a cv"
        if parts[5] == "mean" and kind in ("empirical", "trace"):
            return f"{at}.{field}.kind is {kind}, whose lengths come from data, not a mean"
    return None


def no_pool(cfg, workload, keys, setups) -> dict[str, str]:
    """``serverless.*`` keys given to a run whose only pool-reading setup is a hybrid that
    runs no pool (every model its tenants call placed dedicated, no tenant placed on the pool
    nor background, nothing spilled or mirrored) -> why; the reverse of a hybrid placing no
    model dedicated (until December 2026 unsaid: ``serverless.keepalive.idle_s=7`` beside
    ``hybrid.placement.llama31-8b=dedicated hybrid.spillover.enabled=false`` ran as without)."""
    if "hybrid" not in setups or "serverless" in setups:
        return {}

    def gpu_tp(m: str) -> tuple[str, int]:  # from the config: no catalog is built here
        dc = deployment_config(cfg, m)
        return str(dc.gpu), int(dc.tp)

    n_user = len(workload.tenants) - int(workload.background_tenants)
    _, pooled = tier_models(cfg, list(workload.models), list(workload.tenants), n_user, gpu_tp,
                            workload.tenant_models)
    if pooled:
        return {}
    return {k: ("the hybrid setup runs no serverless pool: it places every model dedicated "
                f"(hybrid.placement, hybrid.default_tier {cfg.hybrid.default_tier}), no tenant "
                "on the pool, and spills and mirrors nothing to it")
            for k in keys if k.startswith("serverless.")}
