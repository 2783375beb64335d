"""Fidelity of real-trace replay: what the run serves is what the files hold, and whatever a
run leaves out or changes is counted.

Each check reads the shared trace files itself (csv/json/gzip) or compares against a
run that keeps everything, never against the project's own readers' output.
"""

from __future__ import annotations

from helpers import TRACES

import sim
from sim.simulation.build import build_workload

SERVEGEN_MID = TRACES / "servegen" / "m-mid_client_windows.csv.gz"


def test_background_thinning_keeps_the_changed_flags_of_the_kept_requests():
    # prompts capped at 600 tokens: about a third of the lognormal draws are clipped
    bg = ["horizon_s=300", f"background.servegen.path={SERVEGEN_MID}",
          "background.servegen.clients=2", "background.servegen.rate_scale=0.05",
          "background.servegen.input={kind: lognormal, mean: 600, cv: 1, max: 600}"]
    full = build_workload(sim.compose(bg))
    half = build_workload(sim.compose(bg + ["background.scale=0.5"]))
    for w in (full, half):
        assert w.changed_req.size == len(w)

    def flags(w):
        bgm = ~w.user_mask()
        return {(w.tenants[t], a): c for t, a, c in zip(
            w.tenant[bgm].tolist(), w.arrival_s[bgm].tolist(), w.changed_req[bgm].tolist())}

    f_full, f_half = flags(full), flags(half)
    assert 0 < len(f_half) < len(f_full)
    # a kept request was changed exactly when it was changed at full scale
    assert all(f_full[k] == v for k, v in f_half.items())
    assert any(f_half.values())
    for name in half.tenants[half.n_user_tenants:]:
        assert half.changed[name] == sum(v for (t, _), v in f_half.items() if t == name)
