"""The question ``report.md`` opens with: the experiment's ``notes.question`` describes the
experiment's own settings, so a run whose command line changed what the question is about
(its tenants, models, GPUs, prices, setups ...) gets it marked as the experiment's, with the
keys the run set, rather than as the question its own numbers answer."""

from __future__ import annotations

from sim.config.given import GIVEN
from sim.config.repeats import leaf_keys

# keys that change how long, how often or where a run is measured and written, not what
# the question asks about (an assumption: the experiments' questions name no seed, horizon,
# engine or output setting). ``notes.*`` other than the question is the report's own text.
NEUTRAL = ("experiment", "name", "seed", "horizon_s", "drain_s", "engine", "replications",
           "output", "metrics", "hydra", "notes", "variant")
CHANGED = "**The experiment's question**"  # how a question line marked as not this run's opens
SHOWN = 8  # changed keys named in the report; the rest are counted


def _set_keys(overrides) -> tuple[list[str], list[str]]:
    """The dotted keys ``overrides`` set, and those they delete, in order, once each."""
    kept: list[str] = []
    gone: list[str] = []
    for text in overrides:
        if not isinstance(text, str):
            continue
        if text.startswith("~"):  # a deletion (also how a replaced map drops its old keys)
            found, into = [text[1:].split("=", 1)[0]], gone
        else:
            found, into = [k.lstrip("+") for k in leaf_keys(text)], kept
        into += [k for k in found if k not in into]
    return kept, gone


def _under(key: str, roots) -> bool:
    return any(key == r or key.startswith(r + ".") or key.startswith(r + "/") for r in roots)


def changed_keys(overrides, own_axes=()) -> tuple[list[str], list[str]]:
    """The keys ``overrides`` set and delete that a question may depend on: all but
    :data:`NEUTRAL` ones and ``own_axes`` (the keys the experiment itself sweeps: its
    question is about them)."""
    def asked(keys):
        return [k for k in keys if not _under(k, NEUTRAL) and not _under(k, own_axes)]
    kept, gone = _set_keys(overrides)
    return asked(kept), asked(gone)


def _own_axes(notes: dict) -> list[str]:
    """The keys the experiment sweeps: ``notes.sweep_x`` and, in a Hydra job, the sweeper's
    ``params`` (the experiment file's ``hydra.sweeper.params``)."""
    axes = [notes["sweep_x"]] if isinstance(notes.get("sweep_x"), str) else []
    try:
        from hydra.core.hydra_config import HydraConfig
        if HydraConfig.initialized():
            params = HydraConfig.get().sweeper.get("params") or {}
            axes += [str(k) for k in params]
    except Exception:  # noqa: BLE001 - no Hydra job (sim.run): no sweeper
        pass
    return axes


def question_line(notes: dict, overrides=None) -> str | None:
    """The markdown line ``report.md`` opens with, or None when there is no question.
    ``overrides``: those the run was composed from (default: the running job's)."""
    question = notes.get("question")
    if not question:
        return None
    given = GIVEN.get() if overrides is None else tuple(overrides)
    if "notes.question" in _set_keys(given)[0]:  # the user's own question
        return f"**Question.** {question}\n"
    kept, gone = changed_keys(given, _own_axes(notes))
    if not kept and not gone:
        return f"**Question.** {question}\n"
    said = [f"removes {_named(gone)}"] * bool(gone) + [f"sets {_named(kept)}"] * bool(kept)
    return (f"{CHANGED}, written for its own settings (this run "
            f"{' and '.join(said)}, so it may not describe this run; `notes.question=...` "
            f"asks your own): {question}\n")


def _named(keys: list[str]) -> str:
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return ", ".join(f"`{k}`" for k in keys[:SHOWN]) + more


def report_question(report: str) -> str | None:
    """The question line a run's ``report.md`` (its text) opens with, as a sweep's summary
    says it of its jobs (their overrides name the same keys), or None."""
    for line in report.splitlines()[:6]:
        if line.startswith(("**Question.** ", CHANGED)):
            return (line.replace("(this run removes", "(its jobs remove")
                    .replace("(this run sets", "(its jobs set").replace(" and sets ", " and set ")
                    .replace("may not describe this run;", "may not describe them;") + "\n")
    return None
