"""What ``python -m sim.fit`` writes to reproduce its fit: ``catalog/fitted.yaml`` and
``overrides.txt``.

Both hold every catalog value the fit's replays used that the default catalog does not:
the ``--config catalog.*`` keys given (as the composed config has them) and the fitted
factors (:func:`sim.fit.solve.fitted_keys`, unrounded), and the deployment, engine and
replicas the replays used (:func:`run_settings`). Until December 2026 the given keys
were left out: a fit with ``--config catalog.gpus.H100.bandwidth_tbps=4.0`` wrote only its
factors, and a run with them on the real catalog's 3.35 TB/s gave TPOT errors of 10 / 22 %
against the 0.0 / 0.1 % printed; and the deployment was left out too (a fit at
``--max-num-seqs 64``, run with its files at the default 256, was off by TPOT p50 124 %),
then written field by field, refused for a model the default experiment does not deploy and
merged into an experiment's other keys for the model (breakeven's FP8 KV cache: TTFT 40.7 %
off); it is written whole now.
"""

from __future__ import annotations

import shlex
from enum import Enum
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf

from sim.config.repeats import leaf_keys
from sim.config.variants import format_value
from sim.errors import InputError
from sim.fit.solve import fitted_keys
from sim.io import atomic_write
from sim.simulation.unread_why import why_off


def _plain(v):
    if isinstance(v, (DictConfig, ListConfig)):
        return OmegaConf.to_container(v, resolve=True, enum_to_str=True)
    return v.value if isinstance(v, Enum) else v


def _given(texts: list[str]) -> list[str]:
    """The dotted keys the ``--config`` overrides ``texts`` set. A deletion is refused: the
    written files set keys on the defaults and cannot say it."""
    keys = []
    for text in texts:
        if text.startswith("~"):
            raise InputError("sim.fit writes the keys it was given into overrides.txt and "
                             "catalog/fitted.yaml, which set keys and cannot delete one: set its "
                             "value instead", key=text[1:].split("=", 1)[0])
        keys += [k.lstrip("+") for k in leaf_keys(text)]
    return keys


def given_catalog(cfg, texts: list[str], base) -> dict:
    """The catalog keys the ``--config`` overrides ``texts`` set (without ``catalog.``) and
    their values in the composed ``cfg``; those of an entry the default catalog ``base``
    lacks as one map (``python -m sim`` builds no new entry field by field)."""
    given: dict = {}
    for k in _given(texts):
        parts = k.split(".")
        if parts[0] == "catalog":
            v = _plain(OmegaConf.select(cfg, k))
            if parts[2] in base[parts[1]]:
                given[k.removeprefix("catalog.")] = v
            else:
                _put(given.setdefault(".".join(parts[1:3]), {}), ".".join(parts[3:]), v)
    return given


def run_settings(cfg, model: str, engine: str, replicas: int) -> dict:
    """The settings the fit replayed with, as ``python -m sim`` keys and their values: the
    deployment whole (every field its settings read, as the composed ``cfg`` has it, so that
    it replaces an experiment's entry for the model, or adds one), the engine and the
    replicas (behind the default central router, as the replay's one queue)."""
    fields = _flat(_plain(cfg.deployments[model]))
    read = {k: v for k, v in fields.items() if why_off(cfg, f"deployments.{model}.{k}") is None}
    return {f"deployments.{model}": _nested(read), "engine": engine,
            f"dedicated.replicas.{model}": replicas}


def _flat(tree: dict, at: str = "") -> dict:
    flat: dict = {}
    for k, v in tree.items():
        flat.update(_flat(v, f"{at}{k}.") if isinstance(v, dict) else {f"{at}{k}": v})
    return flat


def _compact(v) -> str:
    """``v`` as an override value without spaces, which ``$(cat overrides.txt)`` would split."""
    if isinstance(v, dict):
        return "{" + ",".join(f"{format_value(str(k))}:{_compact(x)}" for k, x in v.items()) + "}"
    return format_value(v)


def _put(tree: dict, key: str, v) -> None:
    """Set the dotted ``key`` of the nested ``tree`` to ``v``."""
    *parents, last = key.split(".")
    for k in parents:
        tree = tree.setdefault(k, {})
    tree[last] = v


def _nested(flat: dict) -> dict:
    tree: dict = {}
    for key, v in flat.items():
        _put(tree, key, v)
    return tree


def write_fit(out: Path, dep, p: dict, given: dict, settings: dict, source: str) -> list[str]:
    """Write ``out/catalog/fitted.yaml`` and ``out/overrides.txt`` for the factors ``p`` of
    ``dep`` on top of the ``given`` catalog keys, with the run ``settings``
    (:func:`run_settings`) as overrides; the overrides, as written."""
    values = dict(given)
    for k, v in fitted_keys(dep, p).items():  # a factor given by --config: the fitted value
        new = ".".join(k.split(".")[:2])  # a new GPU's entry, written as one map
        if isinstance(values.get(new), dict):
            _put(values[new], k.removeprefix(new + "."), v)
        else:
            values[k] = v
    run = [f"{k}={_compact(v)}" for k, v in settings.items()]
    overrides = run + [f"catalog.{k}={_compact(v)}" for k, v in values.items()]
    path = out / "catalog" / "fitted.yaml"
    # quoted for Hydra (a comma or a quote in the folder) and for the shell
    search = f"hydra.searchpath={format_value([f'file://{out.resolve()}'])}"
    text = (f"# The default catalog with {dep.gpu.key} {dep.precision} factors fitted by python -m "
            f"sim.fit to\n# {source}" + (", and the --config catalog keys the fit used" if given else "")
            + f".\n# Use: python -m sim {' '.join(map(shlex.quote, [search, 'catalog=fitted', *run]))}\n"
            "defaults:\n  - default\n  - _self_\n\n" + OmegaConf.to_yaml(_nested(values)))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda q: q.write_text(text))
    atomic_write(out / "overrides.txt", lambda q: q.write_text(" ".join(overrides) + "\n"))
    return overrides
