"""How the NIM concurrency rows' mean TTFT depends on the clients' phases.

    python experiments/calibration/phases.py [--budgets 8192 2048] [--turnaround 0 0.001 0.01]

A closed loop of identical clients (the NIM 70B rows: 5000 in / 500 out) is a
deterministic dynamical system: whether two clients' prefills collide depends on where
each one re-enters the engine relative to the iteration in progress. Two settings decide
it and neither is published for the NIM runs:

* the client turnaround (``tenants.<t>.arrival.think_s``, mean of an exponential delay
  between a response's last token and the next request). Zero re-enters exactly at an
  iteration boundary; any positive value makes the client wait out the iteration in
  progress, which may be another client's whole prefill;
* the token budget per iteration (``max_batched_tokens``): with 8192 a 5000-token prompt is
  one long iteration that stalls every decode; with a smaller budget it is split into
  chunks that share iterations with the decodes.

Prints, for every NIM 70B concurrency row, the predicted mean TTFT (and its error against
the published figure) for each budget and turnaround. It simulates (a few seconds per
budget); the calibration table itself uses the row's own settings and a 1 ms turnaround.
"""

from __future__ import annotations

import argparse
import copy
import math

from sim.analysis.calibration import concurrency, load_rows
from sim.errors import ArgumentParser, InputError, number_arg


def _seconds(text: str) -> float:
    """A turnaround in seconds: finite and >= 0 (a NaN or negative one ran as 0, labelled as
    given)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"must be finite and >= 0, got {text}")
    return v


def main(argv: list[str] | None = None) -> None:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budgets", type=number_arg(int, 1, low_open=False), nargs="+", default=[8192, 2048],
                    help="tokens per iteration (max_batched_tokens) to compare")
    ap.add_argument("--turnaround", type=_seconds, nargs="+", default=[0.0, 0.001, 0.01],
                    help="mean client turnaround in seconds (think_s) to compare")
    ap.add_argument("--engine", choices=["fluid", "step"], default="fluid",
                    help="engine implementation (the two agree; step is slower)")
    args = ap.parse_args(argv)

    rows = [r for r in load_rows() if r["id"].startswith("nim-70b")]
    extra = ["engine=step"] if args.engine == "step" else []
    head = "| budget | concurrency | published TTFT s | " + " | ".join(
        f"turnaround {t * 1e3:g} ms" for t in args.turnaround) + " |"
    print(head)
    print("|" + "---|" * (3 + len(args.turnaround)))
    for budget in args.budgets:
        for row in rows:
            r = copy.deepcopy(row)
            r["max_batched_tokens"] = budget
            pub = row["metrics"]["ttft_s"]
            cells = []
            for t in args.turnaround:
                try:
                    got = concurrency(r, extra=extra, turnaround_s=t)["ttft_s"]
                except (InputError, RuntimeError, ValueError) as e:  # a budget the deployment
                    # refuses, or one so small that the row's requests do not finish
                    why = str(e)
                    if str(getattr(e, "key", "") or "").startswith("catalog."):
                        why = why.split(": ", 1)[1]  # the shipped catalog: the budget is why
                    ap.error(f"argument --budgets: {budget}: {why}")
                cells.append(f"{got:.3f} ({100 * (got / pub - 1):+.0f} %)")
            print(f"| {budget} | {row['concurrency']} | {pub:.3f} | " + " | ".join(cells) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
