"""``python -m sim.fit --requests LOG --model M --gpu G --precision P --tp N [...]``.

Replays a per-request benchmark log (:mod:`sim.fit.logs`: a plain CSV, vLLM's
``benchmark_serving.py --save-result --save-detailed`` JSON, SGLang's ``bench_serving
--output-details`` JSONL) through the deployment's engine and fits the catalog's factors for
its GPU class and precision (:mod:`sim.fit.solve`). Prints the fitted values, the TTFT and
TPOT error percentiles before and after, and the overrides to paste; writes into ``--out``:

* ``catalog/fitted.yaml``: the catalog with the fitted factors, used as
  ``python -m sim hydra.searchpath=[file:///abs/path/OUT] catalog=fitted ...``;
* ``overrides.txt``: the same as ``catalog.gpus.G...=value`` command-line overrides, after
  the deployment, engine and replicas replayed (``deployments.<model>.*``, ``engine``,
  ``dedicated.replicas.<model>``), which ``fitted.yaml``'s ``Use:`` line gives too;
* ``residuals.csv``: each request's logged and simulated TTFT and TPOT (before and after).

Exit status 2 with one line naming the file:line or key for bad input.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from sim.config import compose
from sim.config.messages import from_config_error
from sim.config.repeats import check_twice, leaf_keys
from sim.errors import ArgumentParser, InputError, ascii_number, stdout_may_close
from sim.fit.logs import FORMATS, MIN_RATE_RPS, read_log
from sim.fit.replay import PARAMS, arrivals, replay, with_params
from sim.fit.solve import (
    BOUNDS,
    CLOSE,
    FEW_VALUES,
    FLOOR_S,
    RESTART_GAIN,
    TTFT_FINAL_WEIGHT,
    TTFT_WEIGHT,
    check_identifiable,
    errors,
    fit_log,
    fitted_values,
    floored,
    percentiles,
)
from sim.fit.unread import check_read, check_table
from sim.fit.write import given_catalog, run_settings, write_fit
from sim.io import atomic_write, shared_folder
from sim.simulation.build import build_catalog, perf_factory
from sim.simulation.build.fields import check_fields, typed

DEPLOYMENT_FLAGS = {"gpu": str, "precision": str, "tp": ascii_number(int), "kv_dtype": str,
                    "max_num_seqs": ascii_number(int), "max_batched_tokens": ascii_number(int),
                    "gpu_memory_utilization": ascii_number(float), "admission": str}


def parse(argv: list[str]) -> argparse.Namespace:
    ap = ArgumentParser(prog="python -m sim.fit", description=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", required=True, metavar="LOG", help="the per-request log")
    ap.add_argument("--format", choices=FORMATS, default="auto",
                    help="auto: .csv, .json (vLLM), .jsonl (SGLang)")
    ap.add_argument("--run", type=ascii_number(int), default=None, help="SGLang JSONL, or vLLM JSON written with "
                    "--append-result: which run (line), 0-based; default the last")
    ap.add_argument("--model", required=True, help="a catalog model key, e.g. llama31-8b")
    for flag, kind in DEPLOYMENT_FLAGS.items():
        ap.add_argument("--" + flag.replace("_", "-"), type=kind, default=None,
                        help=f"deployments.<model>.{flag} (default: the config's)")
    ap.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                    help="a catalog.* or deployments.<model>.* override the fit reads, applied "
                    "last, e.g. catalog.gpus.H100.bandwidth_tbps=3.0")
    ap.add_argument("--request-rate", type=ascii_number(float), default=None,
                    help="the client's rate (requests/s) if the log records no send times")
    ap.add_argument("--max-concurrency", type=ascii_number(int), default=None,
                    help="the client's concurrency cap if the log does not say")
    ap.add_argument("--replicas", type=ascii_number(int), default=1, help="replicas behind the endpoint")
    ap.add_argument("--engine", choices=("fluid", "step"), default="fluid")
    ap.add_argument("--seed", type=ascii_number(int), default=None, help="synthetic arrivals only (default 0)")
    ap.add_argument("--max-evaluations", type=ascii_number(int), default=1500)
    ap.add_argument("--out", default="fit", help="folder for the outputs (default ./fit)")
    return ap.parse_args(argv)


def _compose(overrides: list[str]):
    try:
        return compose(overrides)
    except Exception as e:
        err = from_config_error(e)
        if err is None:
            raise
        raise err from None


def _keys(text: str) -> list[str]:
    """The dotted keys the override ``text`` sets, through a ``{...}`` value too (a deletion:
    its key)."""
    return [k.lstrip("+") for k in leaf_keys(text)] or [text.lstrip("+~").split("=", 1)[0]]


def deployment(a: argparse.Namespace):
    """The deployment of ``--model``: the config's ``deployments.<model>`` (if any) with the
    command line's flags on top, then ``--config`` overrides; checked like any run's."""
    return _deployment(a)[0]


def _deployment(a: argparse.Namespace):
    """:func:`deployment` and the composed config it was built from."""
    m = a.model
    base = _compose([])
    known = base.deployments
    keys = {k: getattr(known[m], k) for k in DEPLOYMENT_FLAGS} if m in known else {}
    flags = {k: getattr(a, k) for k in DEPLOYMENT_FLAGS if getattr(a, k) is not None}
    # one key given twice by --config: Hydra keeps the last (max_num_seqs 128 then 64 fitted
    # 64, unsaid until December 2026)
    check_twice(a.config)
    for text in a.config:  # one key given by a flag and by --config: one of them would be lost
        if "=" not in text:
            raise InputError(f"--config {text}: needs KEY=VALUE, e.g. {text}=...")
        # each key it sets, through a {...} too: deployments.<m>={gpu: A100} fitted an A100
        # over --gpu H100, unsaid, until December 2026
        for key in _keys(text):
            if key and key.split(".")[0] != "catalog" and not (key + ".").startswith(f"deployments.{m}."):
                raise InputError(f"--config {text}: sim.fit reads catalog.* and deployments.{m}.* "
                                 "only (the log gives the rest)")  # was ignored, unsaid
            k = key.removeprefix(f"deployments.{m}.")
            if k in flags and k != key:
                raise InputError(f"--{k.replace('_', '-')} {flags[k]} and --config {text} set one "
                                 f"key ({key}); give it once")
    keys.update(flags)
    body = ", ".join(f"{k}: {getattr(v, 'value', v)}" for k, v in keys.items())
    cfg = _compose([f"deployments={{{m}: {{{body}}}}}", *a.config])
    t = typed(cfg)
    if m in t.deployments:
        check_fields(t.deployments[m], f"deployments.{m}")
    check_table(cfg, m)  # before its file is checked: the fit would not read it
    catalog = build_catalog(cfg)
    deployment_for, _ = perf_factory(cfg, catalog)
    dep = deployment_for(m)
    check_read(cfg, a.config, m, dep.gpu.key, dep.precision, base.catalog)
    return dep, cfg


_EXAMPLE = {"gpu": "H100", "precision": "fp8", "kv_dtype": "bf16", "admission": "reserve"}


def check_flags(a: argparse.Namespace) -> None:
    for flag, value, ok in (("--replicas", a.replicas, a.replicas >= 1),
                            ("--max-evaluations", a.max_evaluations, a.max_evaluations >= 1),
                            ("--max-concurrency", a.max_concurrency,
                             a.max_concurrency is None or a.max_concurrency >= 1),
                            ("--request-rate", a.request_rate,
                             a.request_rate is None or a.request_rate > 0)):
        if not ok:
            raise InputError(f"{flag} must be positive, not {value}")
    if a.request_rate is not None and a.request_rate < MIN_RATE_RPS:  # as a log's request_rate
        raise InputError(f"--request-rate must be at least {MIN_RATE_RPS:.3g} requests/s (one a "
                         f"day), not {a.request_rate:g}")
    # catalog keys hold no dot (README): "my.m" was read as nested keys, catalog.models.my.m
    if not re.fullmatch(r"[A-Za-z0-9][\w-]*", a.model, re.ASCII):  # was Hydra's grammar error
        raise InputError(f"--model must name a catalog model such as llama31-8b (letters, digits, "
                         f"'_' and '-'; a catalog key holds no dot), got {a.model!r}")
    for flag in ("gpu", "precision", "kv_dtype", "admission"):  # as --model: Hydra's grammar
        value = getattr(a, flag)  # error named the config key 'deployments', not the flag
        if value is not None and not re.fullmatch(r"[A-Za-z0-9][\w-]*", value, re.ASCII):
            raise InputError(f"--{flag.replace('_', '-')} must be a name such as "
                             f"{_EXAMPLE[flag]}, got {value!r}")
    if a.seed is not None and a.seed < 0:
        raise InputError(f"--seed must be a non-negative integer, not {a.seed}")


def _input_notes(a: argparse.Namespace, log, dep, fit) -> list[str]:
    """What the run took without being told: log runs, requests' TPOTs, deployment keys,
    start points (each was unsaid before December 2026)."""
    notes = []
    if log.runs > 1 and a.run is None:
        notes.append(f"{a.requests} holds {log.runs} runs (lines); fitted the last (--run "
                     f"{log.runs - 1}); --run N picks another")
    if log.no_decode:
        notes.append(f"{log.no_decode} request(s) of two or more tokens log no inter-token times "
                     "(itls: []) nor latency: their decode time is unknown, so their TPOT is left "
                     "out of the fit (they are still replayed, loading the server)")
    given = {k.removeprefix(f"deployments.{a.model}.") for t in a.config for k in _keys(t)}
    unsaid = [k for k in ("gpu", "precision", "tp") if getattr(a, k) is None and k not in given]
    if unsaid:
        value = {"gpu": dep.gpu.key, "precision": dep.precision, "tp": dep.tp}
        notes.append(f"{', '.join('--' + k for k in unsaid)} not given: fitted "
                     + ", ".join(f"{k} {value[k]}" for k in unsaid)
                     + f" (the config's deployments.{a.model}, or its defaults)")
    for k, (was, bound) in (fit.moved or {}).items():
        notes.append(f"{k} {was:g} is outside the fit's bounds {BOUNDS[k]}: the search started "
                     f"at {bound:g}")
    return notes


def make_out(text: str) -> Path:
    """``--out`` made (with its ``catalog/``) before the fit, which takes minutes, so that a
    folder that cannot be written stops the run now rather than when its results are. An
    empty one, the working directory or the root is refused as ``sim.run`` refuses them
    (until December 2026 ``--out ''`` wrote catalog/, overrides.txt and residuals.csv among
    the working directory's files)."""
    if not text.strip():
        raise InputError("--out is empty: give a folder for the fit's files")
    if shared_folder(text):
        raise InputError(f"--out {text!r} is {shared_folder(text)}: give a folder of the fit's "
                         "own (its files would mix with the folder's others)")
    out = Path(text)
    try:
        (out / "catalog").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"--out: cannot make the folder {e.filename or out} ({e.strerror})") from None
    return out


def run(a: argparse.Namespace) -> dict:
    check_flags(a)
    log = read_log(a.requests, a.format, -1 if a.run is None else a.run)
    if a.run is not None and log.runs < 2 and log.fmt != "sglang":  # the flag would go unread
        raise InputError(f"--run picks one run (line) of an SGLang JSONL log or of a vLLM JSON "
                         f"written with --append-result; {a.requests} is read as {log.fmt}, one run")
    if a.replicas > len(log):
        raise InputError(f"--replicas {a.replicas} is more than the log's {len(log)} requests (a "
                         "replica more than one a request serves nothing)")
    dep, cfg = _deployment(a)
    given = given_catalog(cfg, a.config, _compose([]).catalog)
    arr = arrivals(log, a.request_rate, a.max_concurrency, 0 if a.seed is None else a.seed)
    if a.seed is not None and arr.paired:  # nothing drawn: the seed would go unread
        raise InputError(f"--seed draws synthetic send times, and this replay draws none "
                         f"({arr.description})")
    check_identifiable(log)  # before --out is made: a one-request log stops here
    out = make_out(a.out)
    fit = fit_log(dep, log, arr, a.engine, a.replicas, a.max_evaluations)
    before = percentiles(errors(dep, log, arr, fit.start, a.engine, a.replicas))
    after = percentiles(fit.residuals)
    settings = run_settings(cfg, a.model, a.engine, a.replicas)
    ov = write_fit(out, dep, fit.params, given, settings, f"{a.requests} ({len(log)} requests, {arr.description})")
    ttft0, tpot0 = replay(with_params(dep, fit.start), log, arr, a.engine, a.replicas)
    ttft1, tpot1 = replay(with_params(dep, fit.params), log, arr, a.engine, a.replicas)
    frame = pd.DataFrame({"input_tokens": log.n_in, "output_tokens": log.n_out,
                          "ttft_s": log.ttft_s, "tpot_s": log.tpot_s,
                          "ttft_catalog_s": ttft0, "tpot_catalog_s": tpot0,
                          "ttft_fitted_s": ttft1, "tpot_fitted_s": tpot1,
                          # synthetic send times: the errors pair sorted columns, not rows
                          "compared": "by request" if arr.paired else "by rank (sorted columns)"})
    atomic_write(out / "residuals.csv", lambda q: frame.to_csv(q, index=False))
    print(f"log: {a.requests} ({log.fmt}), {len(log)} requests"
          + (f", {log.dropped} failed dropped" if log.dropped else "") + f"; arrivals: {arr.description}"
          + ("" if arr.paired else "; compared by rank"))
    print(f"deployment: {dep.label}, {a.replicas} replica(s), {a.engine} engine; "
          f"{fit.evaluations} replays, objective {fit.start_loss:.3g} -> {fit.loss:.3g} "
          f"({fit.check['replays']} more replays checking it from other starts)")
    print(f"{'factor':<18}{'catalog':>12}{'fitted':>12}")
    for k in fit.params:
        print(f"{k:<18}{fit.start[k]:>12.4g}{fit.params[k]:>12.4g}")
    print(f"{'|error| %':<18}{'catalog':>12}{'fitted':>12}")
    for k in after:
        print(f"{k.replace('_abs_error_pct', ''):<18}{before[k]:>12.1f}{after[k]:>12.1f}")
    for line in _input_notes(a, log, dep, fit):
        print(f"note: {line}")
    low = floored(log)
    if any(low.values()):
        print(f"note: {low['ttft']} logged TTFT(s) and {low['tpot']} TPOT(s) under "
              f"{FLOOR_S * 1e3:g} ms are measured as {FLOOR_S * 1e3:g} ms in these errors and the "
              "fit (assumption: client timer noise); residuals.csv holds them as logged")
    tpots, groups = fitted_values(log)
    if tpots + groups < FEW_VALUES:
        print(f"note: {a.requests} gives {tpots + groups} values to fit ({tpots} TPOT(s), {groups} "
              f"mean TTFT(s)) for {len(PARAMS)} factors, fewer than {FEW_VALUES // len(PARAMS)} a "
              "factor: the fit can match them with factors the log does not determine; log more "
              "requests, of varied lengths and load")
    if fit.stopped is not None:
        s = fit.stopped
        drop = 100 * (s["before"] - s["after"]) / s["before"] if s["before"] > 0 else 0.0
        print(f"note: the fit stopped at its budget, --max-evaluations {s['budget']} replays, before "
              f"converging (when a restart improves its objective by under {RESTART_GAIN:.1%}): "
              f"over its last {s['last']} replays and the {fit.check['replays']} checking it "
              f"from other starts the final stage's objective went from "
              f"{s['before']:.4g} to {s['after']:.4g} ({drop:.2g} % lower); raise "
              "--max-evaluations for settled factors")
    if fit.loss > fit.start_loss * (1 + LOSS_NOISE_REL) + LOSS_NOISE:  # written anyway: said
        print(f"warning: the fitted factors match the log worse than the catalog's by the "
              f"objective printed ({fit.start_loss:.3g} -> {fit.loss:.3g}; the fit's last stage "
              f"weighs TTFT {TTFT_FINAL_WEIGHT:g}, the printed objective {TTFT_WEIGHT:g}): the "
              "log is not one this deployment reproduces; check the deployment's flags "
              "(--gpu, --precision, --tp, --max-batched-tokens, ...) against the server that "
              "wrote the log before using them")
    c = fit.check
    if c["far"] is not None:
        e, gap = c["far"]
        print(f"warning: searches started from the fit's factors with memory efficiency and the "
              f"overheads moved 25 % ended at factors that match the log about as well (final-"
              f"stage objective {e:.3g} against {c['best']:.3g}, within {CLOSE:g}x) but differ by "
              + ", ".join(f"{k} {100 * g:+.1f} %" for k, g in gap.items())
              + ": this log does not pin the factors to 3 % (under one steady load memory "
              "efficiency and the overheads trade); log phases of light load with long prompts")
    for k, (lo, hi) in BOUNDS.items():
        if not lo * 1.01 < fit.params[k] < hi * 0.99:
            print(f"warning: {k} ended at its bound ({fit.params[k]:.4g}): the log does not "
                  "determine it, or the deployment given does not match the one logged")
    print(f"overrides: {' '.join(ov)}")
    print(f"wrote {out / 'catalog' / 'fitted.yaml'}, {out / 'overrides.txt'}, "
          f"{out / 'residuals.csv'}")
    return {"params": fit.params, "before": before, "after": after, "overrides": ov, "check": c,
            "floored": low, "stopped": fit.stopped, "values": (tpots, groups)}


# The objective's float noise: a replayed latency is a sum of up to ~10^4 iteration times,
# each rounded to 2.2e-16 relative, so its relative error carries ~1e-12 of rounding, and its
# square (the objective's terms) ~1e-24; two factor sets equal to within rounding (the
# catalog's, and the fit's exp(log(x))) may differ by that. Only a rise beyond it is the fit
# matching worse (until December 2026 "9.84e-28 -> 4.93e-27" was warned of).
LOSS_NOISE = 1e-22
LOSS_NOISE_REL = 1e-9


def main(argv: list[str] | None = None) -> None:
    with stdout_may_close():  # | head
        a = parse(sys.argv[1:] if argv is None else argv)
        try:
            run(a)
        except InputError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)


if __name__ == "__main__":
    main()
