"""``python -m sim [experiment=NAME] [key=value ...]``: the Hydra application."""

from __future__ import annotations

import logging
import sys

import hydra
from hydra.core.hydra_config import HydraConfig

import sim.config  # noqa: F401  (registers the schema)
from sim.errors import InputError

log = logging.getLogger("sim")


@hydra.main(version_base="1.3", config_path="pkg://sim.conf", config_name="config")
def app(cfg) -> None:
    from sim.runner import execute

    out_dir = HydraConfig.get().runtime.output_dir
    try:
        res = execute(cfg, out_dir, progress=bool(cfg.output.progress))
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    from sim.report.console import print_result

    print_result(res, cfg)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
