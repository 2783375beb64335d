"""experiments/platform_scaling/run.py: the slope it prints is the log-log slope, and a quick
run writes one benchmark line per point with the swept value as asked."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "platform_scaling" / "run.py"


def _module():
    spec = importlib.util.spec_from_file_location("platform_scaling_run", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_slope_of_a_power_law():
    slope = _module().slope
    x = [1, 3, 10, 30, 100]
    assert slope(x, [3 * v ** 2 for v in x]) == pytest.approx(2.0)
    assert slope(x, [5.0] * 5) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
def test_quick_run_writes_every_point(tmp_path):
    _module().main(["--quick", "--out", str(tmp_path)])
    df = pd.read_csv(tmp_path / "scaling.csv")
    assert sorted(df[df.axis == "models"]["models"]) == [1, 3]
    assert sorted(df[df.axis == "gpus"]["gpus"]) == [24, 64]
    assert list(df[df.axis == "requests"]["hours"]) == [0.05, 0.1]
    assert (df["requests"] > 0).all() and (tmp_path / "scaling.png").stat().st_size > 0


def test_redraw_summarises_a_saved_run(tmp_path, capsys):
    import json
    rows = [{"axis": "requests", "requests": n, "wall_s": 2e-5 * n, "peak_rss_mb": 100 + n / 1e4}
            for n in (10 ** 5, 10 ** 6, 10 ** 7)]
    rows += [{"axis": "gpus", "gpus": g, "wall_s": 4.0, "peak_rss_mb": 150.0} for g in (24, 1024)]
    csv = tmp_path / "scaling.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    _module().main(["--redraw", str(csv)])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["slopes"]["requests"]["wall"] == pytest.approx(1.0)
    assert out["slopes"]["gpus"]["wall"] == pytest.approx(0.0, abs=1e-9)
    assert out["wall_s_per_million_requests"] == pytest.approx(20.0)
    assert "cpu" not in out["slopes"]["requests"]  # no CPU column, no CPU slope
    assert (tmp_path / "scaling.png").stat().st_size > 0


def test_redraw_with_cpu_seconds(tmp_path, capsys):
    import json
    rows = [{"axis": "requests", "requests": n, "wall_s": 3e-5 * n, "cpu_s": 1e-5 * n ** 1.0,
             "peak_rss_mb": 150.0} for n in (10 ** 5, 10 ** 6)]
    csv = tmp_path / "s.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    _module().main(["--redraw", str(csv)])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["slopes"]["requests"]["cpu"] == pytest.approx(1.0)
    assert out["cpu_s_per_million_requests"] == pytest.approx(10.0)
    assert (tmp_path / "s.png").exists()


@pytest.mark.parametrize("args, named", [
    # ran hours 0.05 and 0.1, unsaid
    (["--quick", "--axes", "requests", "--hours", "0.01", "0.02"], "argument --hours: not read by --quick"),
    (["--axes", "models", "--hours", "1"], "argument --hours: not read without the requests axis"),
    # wrote X.png beside the CSV, the three flags unread
    (["--redraw", "{csv}", "--out", "{out}", "--quick", "--hours", "5"],
     "argument --out, --quick, --hours: not read by --redraw"),
])
def test_a_flag_not_read_is_one_line_exit_2(args, named, tmp_path, capsys):
    """Until December 2026 these ran (or redrew) with the flags ignored or replaced, exit 0."""
    csv = tmp_path / "x.csv"
    pd.DataFrame([{"axis": "gpus", "gpus": g, "wall_s": 4.0, "peak_rss_mb": 150.0}
                  for g in (24, 1024)]).to_csv(csv, index=False)
    mod = _module()
    mod.bench = lambda argv: pytest.fail(f"ran the benchmark {argv}")
    with pytest.raises(SystemExit) as e:
        mod.main([a.format(csv=csv, out=tmp_path / "o") for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and named in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]  # nothing written
