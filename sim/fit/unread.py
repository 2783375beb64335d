"""The ``--config`` keys ``sim.fit`` would take and never read, refused one line each.

The fit replays the logged requests through the roofline model (:mod:`sim.fit.replay`) of
one deployment, ``deployments.<model>`` on one GPU class at one precision, and bills
nothing. A key outside that (a measured perf table, another GPU's or model's catalog entry,
a price) changed nothing: until December 2026 ``--config deployments.<m>.perf.kind=table``
had its file checked, then the roofline fitted, its residuals byte-identical to a run
without the key.
"""

from __future__ import annotations

from sim.config.repeats import leaf_keys
from sim.errors import InputError
from sim.simulation.unread_why import why_off

# catalog fields that price or cite; the fit bills nothing
UNPRICED = ("on_demand_usd_per_hour", "reserved_usd_per_hour", "serverless_usd_per_s",
            "spot_usd_per_hour", "price_in_usd_per_mtok", "price_out_usd_per_mtok",
            "price_cached_in_usd_per_mtok", "sources")
# deployment keys of the prefix cache: the logged requests carry no prefixes
NO_PREFIXES = ("prefix_caching", "host_cache_gb")


def check_table(cfg, model: str) -> None:
    """A measured table as the deployment's perf model: refused (the fit moves the roofline's
    factors; a table has none, and the replay would run the roofline all the same)."""
    dep = cfg.deployments.get(model)
    if dep is not None and str(dep.perf.kind) == "table":
        raise InputError("sim.fit fits the roofline model's factors (catalog.gpus.<gpu> "
                         "efficiency and overheads); a measured table has none: fit with "
                         "perf.kind roofline (the default)", key=f"deployments.{model}.perf.kind")


def _why(cfg, key: str, model: str, gpu: str, precision: str, base) -> str | None:
    parts = key.split(".")
    if parts[:3] == ["deployments", model, "perf"] and len(parts) > 3 and parts[3] != "kind":
        return "sim.fit replays the roofline model, which reads no perf table"
    if parts[:2] == ["deployments", model] and len(parts) == 3 and parts[2] in NO_PREFIXES:
        # taken until December 2026: residuals byte-identical with prefix_caching=false
        return "the replay sends no prefix hashes, so no request hits a prefix cache"
    if parts[0] == "deployments":
        return why_off(cfg, key)
    if parts[0] != "catalog" or len(parts) < 3:
        return None
    kind, name = parts[1], parts[2]
    if kind == "gpus" and name != gpu:
        return f"the deployment fitted runs on {gpu}"
    if kind == "models" and name != model:
        return f"the deployment fitted serves {model}"
    if name not in base[kind]:  # a new entry, written whole: its name and prices are needed
        return None  # (refused as unread until December 2026: none could be fitted)
    if len(parts) > 3 and parts[3] in UNPRICED:
        return "sim.fit prices nothing"
    if len(parts) == 4 and parts[3] == "name":  # taken until December 2026, and written
        return "sim.fit reads no display name"
    if kind == "gpus" and len(parts) > 4 and parts[3] in ("tflops", "efficiency") and parts[4] != precision:
        return f"the deployment fitted runs at {precision}"
    return None


def check_read(cfg, texts: list[str], model: str, gpu: str, precision: str, base) -> None:
    """The first key the ``--config`` overrides ``texts`` set that the fit does not read
    (``base``: the default catalog), refused with why."""
    for text in texts:
        for key in leaf_keys(text):
            key = key.lstrip("+")
            why = _why(cfg, key, model, gpu, precision, base)
            if why is not None:
                raise InputError(f"not read by sim.fit ({why})", key=key)
