"""experiments/platform/run.py on a short horizon: it runs, and the start setting does what it
says at t=0 (a warm pool has its replicas loaded at t=0, a cold one loads them then)."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "platform" / "run.py"


def _main():
    spec = importlib.util.spec_from_file_location("platform_run", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


def test_platform_script_cold_and_warm(capsys):
    main = _main()
    warm = main(["--start", "warm", "--horizon", "300", "--nodes", "8"])
    cold = main(["--start", "cold", "--horizon", "300", "--nodes", "8"])
    assert warm["requests"] == cold["requests"] > 5000  # the same workload
    assert warm["loads_at_t0"] > cold["loads_at_t0"] > 0
    assert warm["load_at_t0_max_s"] == 0.0 < cold["load_at_t0_max_s"]
    assert "__background__" in capsys.readouterr().out
