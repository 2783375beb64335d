"""The ``hydra:`` node of a config composed by :func:`sim.config.compose` (``sim.run``),
read aside and removed: what ``sim.run`` does not read of it is said in the run's notes.

``sim.run`` runs no Hydra job: a sweep experiment's ``hydra.sweeper.params`` sweep nothing
there (one run with the base values), and an experiment's ``hydra.run.dir``, ``hydra.job``
or launcher keys are not read. Until December 2026 both went unsaid through the API (the
command line said the first; the same keys given as overrides were refused).
"""

from __future__ import annotations

from contextvars import ContextVar

from omegaconf import OmegaConf, open_dict, read_write

# the hydra node of the last composition, as a plain container, its interpolations unresolved
LAST: ContextVar[dict | None] = ContextVar("servesim_hydra_section", default=None)
_BASE: list[dict] = []  # the node composed from conf/config.yaml alone, once
# Hydra's own bookkeeping of a composition (what was chosen, from where), the help texts
# and the search path sim.run reads: not a setting a file made that sim.run ignores
# and the sweeper's settings, read by a sweep alone (the note of a sweep run as one job
# says it); job.override_dirname is made from the overrides
_NOT_SETTINGS = ("runtime", "overrides", "searchpath", "help", "hydra_help", "sweeper",
                 "job.override_dirname")


def kept(cfg):
    """``cfg`` without its ``hydra`` node, which is kept in :data:`LAST`."""
    if "hydra" not in cfg:
        return cfg
    LAST.set(OmegaConf.to_container(cfg.hydra, resolve=False))
    with read_write(cfg), open_dict(cfg):
        del cfg["hydra"]
    return cfg


def _leaves(node, prefix="") -> dict:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            out.update(_leaves(v, f"{prefix}.{k}" if prefix else str(k)))
        return out or {prefix: {}}
    return {prefix: node}


def unread_keys(node: dict, base: dict) -> list[str]:
    """The ``hydra.`` keys ``node`` sets to other values than ``base`` does, Hydra's
    bookkeeping (:data:`_NOT_SETTINGS`) left out."""
    mine, theirs = _leaves(node), _leaves(base)
    changed = [k for k in mine.keys() | theirs.keys() if mine.get(k, None) != theirs.get(k, None)]
    kept = [k for k in changed if not any(k == n or k.startswith(n + ".") for n in _NOT_SETTINGS)]
    # a launcher's dozen settings said by their two first levels
    return sorted({"hydra." + ".".join(k.split(".")[:2]) for k in kept})


def api_notes(compose_raw, task: list[str]) -> list[str]:
    """The notes of ``sim.run`` about the last composition's hydra node: the sweep it does
    not run, and the keys a config file set that it does not read. ``compose_raw`` composes
    the baseline (conf/config.yaml alone) the first time."""
    from sim.config.variants import unswept_note

    node = LAST.get()
    if node is None:
        return []
    notes = []
    swept = (node.get("sweeper") or {}).get("params") or {}
    note = unswept_note(list(swept), task)
    if note:
        notes.append(note.removeprefix("note: "))
    if not _BASE:
        token = LAST.set(None)
        compose_raw([])
        _BASE.append(LAST.get() or {})
        LAST.reset(token)
    keys = unread_keys(node, _BASE[0])
    if keys:
        notes.append(f"the config's hydra: section sets {', '.join(keys)}, which sim.run does "
                     "not read (it runs no Hydra job: no launcher, sweeper, logging or "
                     "working-directory change; its files go to output_dir): ignored")
    return notes
