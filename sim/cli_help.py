"""``python -m sim --help`` without Hydra's help machinery.

Hydra renders the help template of ``conf/config.yaml`` (``hydra.help``) after listing the
options of every config group, its own ones included, and each listing deep-copies its
whole config repository (our schema with it): about 4.5 CPU seconds of the 5.8 that
``--help`` took on a 2-core machine. The template names only the application's groups
(``$APP_CONFIG_GROUPS``), which are the folders of ``conf/`` holding YAML options, so they are
listed here from the package's files and the template filled in the same way; the text is
the one Hydra prints (tests/test_app.py compares them, with ``SERVESIM_HYDRA_HELP=1``, which
leaves ``--help`` to Hydra).
"""

from __future__ import annotations

import os
from importlib.resources import files

import yaml

FLAGS = ("--help", "-h")


def wanted(argv: list[str]) -> bool:
    return any(a in FLAGS for a in argv) and not os.environ.get("SERVESIM_HYDRA_HELP")


def app_config_groups() -> str:
    """``group: option, option`` per line, groups and options sorted (Hydra's format)."""
    root = files("sim.conf")
    lines = []
    for group in sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "hydra"):
        options = sorted(p.name[:-5] for p in root.joinpath(group).iterdir()
                         if p.is_file() and p.name.endswith(".yaml"))
        if options:
            lines.append(f"{group}: {', '.join(options)}")
    return "\n".join(lines) + "\n"


def text() -> str:
    help_cfg = yaml.safe_load(files("sim.conf").joinpath("config.yaml").read_text())["hydra"]["help"]
    out = help_cfg["template"]
    for key in ("header", "footer"):
        out = out.replace("${hydra.help.%s}" % key, help_cfg[key])
    return out.replace("$APP_CONFIG_GROUPS", app_config_groups())
