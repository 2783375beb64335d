"""``python -m sim [experiment=NAME] [key=value ...]``: the Hydra application.

One run prints the comparison table. In a multirun (``-m``) each job writes its folder and
prints one line; a job that fails writes ``error.txt`` instead of stopping the sweep (the
sweep exits non-zero at the end), and a job whose folder already holds its finished result
(``done.json``) is not recomputed. The value returned to the sweeper is the job's objective
(see ``sim/sweep/objective.py``), which an optimising sweeper minimises.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import traceback
import warnings

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

import sim.app  # noqa: F401  (registers the schema, with every job's config)
from sim.app import execute
from sim.errors import InputError, from_config_error
from sim.report.console import print_result
from sim.sweep.aggregate import LAST_SWEEP
from sim.sweep.objective import objective_value
from sim.sweep.resume import record_failure

log = logging.getLogger("sim")
# conf/hydra/launcher/ray.yaml shares its name with the Ray plugin's own schema on purpose
# (`hydra/launcher=ray` then means the fixed preset); Hydra validates it against that schema
# and warns about the name match on every run
warnings.filterwarnings("ignore", message="(?s).*validated against ConfigStore schema with the same name")


@hydra.main(version_base="1.3", config_path="pkg://sim.conf", config_name="config")
def app(cfg):
    hc = HydraConfig.get()
    out_dir = hc.runtime.output_dir
    if hc.mode != RunMode.MULTIRUN:
        try:
            res = execute(cfg, out_dir, progress=bool(cfg.output.progress))
            value = objective_value(res.summary, cfg)
        except InputError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)

        print_result(res, cfg)
        return value
    # one job of a sweep: never take the sweep down, leave the reason in the job's folder

    label = f"job {hc.job.num} ({' '.join(hc.overrides.task)})"
    try:
        res = execute(cfg, out_dir, progress=False, resume=bool(cfg.output.resume))
        value = objective_value(res.summary, cfg)
    except InputError as e:
        record_failure(out_dir, f"InputError: {e}")
        print(f"{label}: error: {e}", file=sys.stderr)
        return math.inf
    except Exception:  # a bug: keep its traceback with the job
        record_failure(out_dir, traceback.format_exc())
        print(f"{label}: failed, see {out_dir}/error.txt", file=sys.stderr)
        return math.inf
    state = "already finished" if any("not recomputed" in n for n in res.notes) else "done"
    extra = f", objective {value:.6g}" if value is not None else ""
    print(f"{label}: {state}{extra}")
    return value


def main() -> None:
    # Hydra prints composition errors (a wrong key, type or option, in a run or in a sweep's
    # values) over several lines and exits 1; let them reach us instead and print one line
    # naming the key, exit 2, like every other input error. A user who sets
    # HYDRA_FULL_ERROR=1 still gets Hydra's full traceback.
    own = "HYDRA_FULL_ERROR" not in os.environ
    if own:
        os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        app()
    except Exception as e:
        err = e if isinstance(e, InputError) else from_config_error(e)
        if not own or err is None:
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    finally:
        if own:
            os.environ.pop("HYDRA_FULL_ERROR", None)

    if LAST_SWEEP.get("failed"):
        sys.exit(2 if LAST_SWEEP.get("input_errors") == LAST_SWEEP["failed"] else 1)


if __name__ == "__main__":
    main()
