"""Tenants generated from data: ``tenants_from.servegen`` turns ServeGen clients into tenants.

Each chosen client (``clients``: the busiest N over the replayed span, by expected requests;
or exactly ``client_ids``) becomes a user tenant ``sg-<client id>`` with ``arrival.kind:
servegen``: it replays its own 600 s windows, each a renewal process of the family (Gamma or
Weibull) and shape the data fitted for that window, at the window's measured rate x
``rate_scale`` (:func:`sim.workload.background.client_arrivals`, the same code the
background clients use). Its model is ``models.<client id>`` (the key's digits read as a
number: ``"051"`` is client 51), else ``models.default``; an entry for a client not chosen is
said in the run's notes (:func:`unread_model`); its
lengths are ``input`` / ``output``; its TTFT objective ``slo_ttft_s``. From then on it is a
tenant like any other: summary rows, SLO, costs and signals on every setup.

:func:`expand_tenants` runs once, before the config is built (``sim.app.execute``), on a
copy of the config; the tenants it adds are written with the run's config, so re-running
that config gives the same tenants (a tenant of the same name is replaced). The dedicated
setup serves every model with ``dedicated.replicas`` replicas (1 when unlisted): for the
generated tenants' models that count must be set, since no client's size is known in
advance; a model without it is an input error naming ``dedicated.replicas.<model>``.
"""

from __future__ import annotations

import logging
import os

import numpy as np
from omegaconf import OmegaConf, open_dict

from sim.config import TenantConfig
from sim.errors import InputError
from sim.paths import resolve
from sim.simulation.build.fields import check_fields, typed
from sim.simulation.build.workload import check_length
from sim.textfiles import require_file
from sim.workload.background import (
    WINDOW_S,
    busiest_clients,
    interval_text,
    load_client_windows,
    silent_client,
)

KEY = "tenants_from.servegen"
PREFIX = "sg-"
log = logging.getLogger(__name__)


def _wanted(cfg) -> bool:
    sg = cfg.tenants_from.servegen
    return int(sg.clients) > 0 or len(sg.client_ids) > 0


def servegen_tenants(cfg) -> list[tuple[str, int, str, float]]:
    """``(name, client id, model, expected requests)`` of each client tenant, checked."""
    check_fields(typed(cfg.tenants_from), "tenants_from")  # ranges first: they are used here
    sg = cfg.tenants_from.servegen
    if not sg.path:
        asked = KEY + (".client_ids" if len(sg.client_ids) else ".clients")  # named: it asked
        raise InputError(f"ServeGen tenants (asked for by {asked}) need a path "
                         "(*_client_windows.csv.gz)", key=KEY + ".path")
    path = resolve(str(sg.path))
    require_file(path, "ServeGen client-windows file", KEY + ".path")
    cid, wstart, rate, _, _ = load_client_windows(path)
    horizon = float(cfg.horizon_s)
    lo, hi = float(sg.start_s), float(sg.start_s) + horizon
    if int(sg.clients) > 0 and len(sg.client_ids) > 0:  # client_ids would win, unsaid
        raise InputError("give clients (the busiest N) or client_ids, not both",
                         key=KEY + ".clients")
    known = set(np.unique(cid).tolist())
    for c in sg.client_ids:
        if int(c) not in known:
            raise InputError(f"client {c} is not in the file", key=KEY + ".client_ids", path=path)
        why = silent_client(cid, wstart, rate, int(c), lo, hi)
        if why:
            raise InputError(why, key=KEY + ".client_ids", path=path)
    chosen = [int(c) for c in sg.client_ids] or busiest_clients(path, lo, horizon, int(sg.clients))
    if not chosen:
        raise InputError(f"no active client in {interval_text(lo, hi)}", key=KEY + ".start_s")
    if not sg.client_ids and len(chosen) < int(sg.clients):
        raise InputError(f"the busiest {int(sg.clients)} asked for, but only {len(chosen)} "
                         f"clients send requests in {interval_text(lo, hi)}: set clients to at most "
                         f"{len(chosen)}", key=KEY + ".clients", path=path)
    if len(set(chosen)) != len(chosen):
        raise InputError(f"client ids repeat: {list(sg.client_ids)}", key=KEY + ".client_ids")
    _refuse_twice(cfg, path, lo, hi, chosen)
    models = _models(cfg, sg)
    check_length(sg.input, KEY + ".input", None)
    check_length(sg.output, KEY + ".output", None)
    out = []
    overlap = np.clip(np.minimum(wstart + WINDOW_S, hi) - np.maximum(wstart, lo), 0.0, None)
    for c in chosen:
        m = models.get(c, models.get("default"))
        if m is None:
            raise InputError(f"client {c} has no model and there is no `default`", key=KEY + ".models")
        n = float((rate * overlap)[cid == c].sum()) * float(sg.rate_scale)
        if f"{PREFIX}{c}" in cfg.tenants:  # it would be replaced by the generated one
            raise InputError(f"a tenant of ServeGen client {c} ({KEY}) takes this name: rename "
                             "yours", key=f"tenants.{PREFIX}{c}")
        out.append((f"{PREFIX}{c}", c, m, n))
    setups = list(cfg.setups)
    if "dedicated" in setups or setups == ["all"]:
        for m in sorted({m for _, _, m, _ in out}):
            if m not in cfg.dedicated.replicas:
                raise InputError(f"the ServeGen tenants ({KEY}) call {m}: set its reserved "
                                 "replicas for the dedicated setup", key=f"dedicated.replicas.{m}")
    return out


def _client_key(k: str) -> int | None:
    """The client id a ``models`` key names (its digits read as a number: ``"051"`` is client
    51), or None for a key that is not one."""
    return int(k) if k.isascii() and k.isdigit() else None


def _models(cfg, sg) -> dict:
    """``models`` checked, keyed by client id (an int) and ``default``. Until December 2026 a
    key was looked up as written, so ``"051"`` passed the check and matched no client (client
    51 ran on the default model, unsaid); two keys naming one client are refused."""
    out, said = {}, {}
    for k, m in ((str(k), str(v)) for k, v in sg.models.items()):
        c = k if k == "default" else _client_key(k)
        if c is None:
            raise InputError(f"{k!r} is neither a client id nor `default`", key=f"{KEY}.models.{k}")
        if m not in cfg.catalog.models:
            raise InputError(f"unknown model {m!r}", key=f"{KEY}.models.{k}")
        if c in out:
            raise InputError(f"names client {c}, as {said[c]!r} does: keep one",
                             key=f"{KEY}.models.{k}")
        out[c], said[c] = m, k
    return out


def unread_model(cfg, k: str) -> str | None:
    """Why the run reads no ``tenants_from.servegen.models.<k>`` (on the config with its
    tenants added): no chosen client is ``k``, or every chosen client has its own entry
    (``default``); None when it is read or no client was chosen. Until December 2026 an entry
    for a client not chosen was ignored unsaid."""
    chosen = sorted(int(t.arrival.servegen.client_id) for name, t in cfg.tenants.items()
                    if str(t.arrival.kind) == "servegen" and t.arrival.servegen.client_id is not None
                    and name == f"{PREFIX}{t.arrival.servegen.client_id}")
    if not chosen:
        return None
    ids = ", ".join(map(str, chosen))
    if k == "default":
        own = {_client_key(str(x)) for x in cfg.tenants_from.servegen.models}
        return (None if set(chosen) - own else
                f"every client chosen ({ids}) has its own entry in {KEY}.models")
    c = _client_key(k)
    if c is None or c in chosen:
        return None
    return f"client {c} is not among the clients chosen ({ids}), so no tenant of it runs"


def _refuse_twice(cfg, path: str, lo: float, hi: float, chosen: list[int]) -> None:
    """A client that is both a user tenant here and a background tenant replaying the same
    file over an overlapping span would send its requests twice: refused naming both keys
    (until December 2026 both ran, unsaid: the noisy-neighbour experiment's background, the
    ten busiest clients, held the two busiest asked for as tenants)."""
    bg = cfg.background.servegen
    if not ((int(bg.clients) > 0 or len(bg.client_ids) > 0) and bg.path):
        return
    bpath = resolve(str(bg.path))
    try:
        same = os.path.samefile(bpath, path)
    except OSError:  # the background's own checks name a missing file
        return
    blo = float(bg.start_s)
    bhi = blo + float(cfg.horizon_s)
    if not same or bhi <= lo or hi <= blo:
        return
    theirs = [int(c) for c in bg.client_ids] or busiest_clients(bpath, blo, float(cfg.horizon_s),
                                                                 int(bg.clients))
    both = [c for c in chosen if c in set(theirs)]
    if both:
        asked = ".client_ids" if len(bg.client_ids) else ".clients"
        raise InputError(f"ServeGen client{'s' if len(both) > 1 else ''} "
                         f"{', '.join(map(str, both))} would be both user tenants here and "
                         f"background tenants (background.servegen{asked}) replaying the same "
                         "file over overlapping spans, so their requests would be sent twice: "
                         "list each client in one place (background.servegen.client_ids)",
                         key=KEY + (".client_ids" if len(cfg.tenants_from.servegen.client_ids)
                                    else ".clients"))


def expand_tenants(cfg):
    """``cfg`` with its generated tenants added (a copy), or ``cfg`` itself when it asks for
    none. Logs one line listing them."""
    if not _wanted(cfg):
        return cfg
    made = servegen_tenants(cfg)
    sg = cfg.tenants_from.servegen
    # the path as written (``${traces:}/...`` kept, as the tenants' own paths are), not as
    # resolved here: config.yaml named this checkout's traces folder, so the same run from
    # another checkout or SERVESIM_TRACES wrote another config.yaml and config_sha256
    given = OmegaConf.to_container(sg, resolve=False)["path"]
    if "${." in str(given):  # a relative interpolation would not resolve from the tenant
        given = str(sg.path)
    out = cfg.copy()
    with open_dict(out):
        for name, c, m, _ in made:
            out.tenants[name] = OmegaConf.merge(OmegaConf.structured(TenantConfig), {
                "model": m, "slo_ttft_s": sg.slo_ttft_s, "input": sg.input, "output": sg.output,
                "arrival": {"kind": "servegen", "servegen": {
                    "path": given, "client_id": c, "start_s": sg.start_s,
                    "rate_scale": sg.rate_scale}}})
    horizon = float(cfg.horizon_s)
    log.info("%s: %d tenants: %s", KEY, len(made), ", ".join(
        f"{name} ({m}, {n / horizon:.3g} req/s)" for name, _, m, n in made))
    return out
