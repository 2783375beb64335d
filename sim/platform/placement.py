"""Which models a setup serves on reserved replicas, for the hybrid's placement and for the
model a ``dedicated.failures.script`` entry without one fails."""

from __future__ import annotations

DEDICATED, SERVERLESS = "dedicated", "serverless"


def dedicated_models(cfg, models: list[str], user_tenants, tenant_models: dict) -> set[str]:
    """The models the hybrid serves on reserved replicas: those a user tenant calls that are
    placed dedicated (by their own entry or by ``default_tier``) and those a user tenant
    placed dedicated calls. A model only background tenants call gets none (they always go
    to the pool), as on the dedicated setup; before December 2026 it was reserved, idle, and
    its GPU-hours billed to the ``__background__`` row."""
    hc = cfg.hybrid
    placement = {k: str(v) for k, v in hc.placement.items()}
    default = str(hc.default_tier)
    called = {m for t in user_tenants for m in tenant_models.get(t, [])}
    ded = {m for m in models if m in called and placement.get(m, default) == DEDICATED}
    for t, tier in placement.items():
        if tier == DEDICATED and t in user_tenants:
            ded.update(m for m in tenant_models.get(t, []) if m in models)
    return ded


def run_dedicated_models(cfg, user_models: list[str], tenants: list[str], n_user: int | None,
                         tenant_models: dict) -> list[str]:
    """The run's models on reserved replicas, alphabetical: every one of ``user_models`` (the
    models the user tenants call) when the run has a dedicated setup (it reserves them all),
    else those the hybrid reserves. A ``dedicated.failures.script`` entry without ``model``
    fails the first of them, the same in every setup of the run."""
    if {"dedicated", "all"} & {str(s) for s in cfg.setups}:
        return sorted(user_models)
    return sorted(dedicated_models(cfg, user_models, set(tenants[:n_user]), tenant_models))


def script_elsewhere_notes(cfg, workload) -> list[str]:
    """A note on the ``dedicated.failures.script`` entries whose model the hybrid reserves no
    replica of while another setup of the run does (the checks refuse a model no setup
    reserves): they fail nothing there (until December 2026 an entry without ``model``
    failed the hybrid's own first reserved model, another than the dedicated setup's)."""
    setups = {str(s) for s in cfg.setups}
    fc = cfg.dedicated.failures
    if str(fc.mode) != "script" or not {"hybrid", "all"} & setups:
        return []
    tenants, n_user, tm = list(workload.tenants), workload.n_user_tenants, workload.tenant_models
    run_ded = run_dedicated_models(cfg, workload.user_models, tenants, n_user, tm)
    ded = dedicated_models(cfg, run_ded, set(tenants[:n_user]), tm)
    first = run_ded[0] if run_ded else ""
    away = [f"[{i}] ({ev.model or first})" for i, ev in enumerate(fc.script)
            if (ev.model or first) not in ded]
    if not away:
        return []
    return [f"hybrid: dedicated.failures.script{', '.join(away)} fails a model this setup "
            "reserves no replica of (hybrid.placement): nothing fails there"]
