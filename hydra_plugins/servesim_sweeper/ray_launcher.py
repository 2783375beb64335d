"""The Ray launcher, stoppable by SIGTERM as by Ctrl-C.

``ray.init`` replaces the launching process's SIGTERM handler (Ray's own, and a native one
that aborts the process: exit -6, no message, nothing marked), so a scheduler's stop did not
end a Ray sweep the way ``python -m sim`` ends every other run (KeyboardInterrupt, exit 130,
the unfinished jobs left to a resume). This launcher starts Ray itself, puts the handler
back, then launches as the plugin does. Chosen in ``conf/hydra/launcher/ray.yaml``.
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
            return super().launch(job_overrides, initial_job_idx)
