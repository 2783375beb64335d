"""The Ray launcher, stoppable by SIGTERM as by Ctrl-C.

``ray.init`` replaces the launching process's SIGTERM handler (Ray's own, and a native one
that aborts the process: exit -6, no message, nothing marked), so a scheduler's stop did not
end a Ray sweep the way ``python -m sim`` ends every other run (KeyboardInterrupt, exit 130,
the unfinished jobs left to a resume). This launcher starts Ray itself, puts the handler
back, then launches as the plugin does. Chosen in ``conf/hydra/launcher/ray.yaml``.

Stopped (KeyboardInterrupt, from Ctrl-C or SIGTERM), it shuts the local Ray instance down
before the interrupt goes on to the sweeper, whose last pass adds the stopped batch's
finished jobs to the sweep-root tables (``sim/sweep/skip.py``): ``ray.shutdown`` returns
once the raylet has ended its workers, so no job can write its ``done.json`` after that pass.
Until December 2026 Ray shut down at the process's exit, after the pass: its workers ran on
for about 3.6 s and a job finishing then had a ``done.json`` and no row (1 stop in 4).
"""

from __future__ import annotations

import signal
from typing import Sequence

from hydra.core.utils import JobReturn

try:  # Hydra imports every module of hydra_plugins; Ray is an extra (.[ray])
    from hydra_plugins.hydra_ray_launcher.ray_launcher import (
        RayLauncher as _PluginRayLauncher,
    )
except ImportError:  # pragma: no cover - without the extra there is nothing to launch on
    _PluginRayLauncher = None

# what hydra_plugins.hydra_ray_launcher._core.launch sets when the config names no store size
_PLUGIN_OBJECT_STORE_BYTES = 78643200

if _PluginRayLauncher is not None:

    class RayLauncher(_PluginRayLauncher):
        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
            from hydra_plugins.hydra_ray_launcher._launcher_util import start_ray

            own = signal.getsignal(signal.SIGTERM)
            self.ray_cfg.init.setdefault("object_store_memory", _PLUGIN_OBJECT_STORE_BYTES)
            start_ray(self.ray_cfg.init)  # the plugin's launch then finds Ray running
            if own is not None:
                signal.signal(signal.SIGTERM, own)
            try:
                return super().launch(job_overrides, initial_job_idx)
            except KeyboardInterrupt:
                import ray

                ray.shutdown()  # its workers end with it: every job is finished or never will be
                raise
