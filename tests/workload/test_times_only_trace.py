"""A ``format: csv`` request log of arrival times only, replayed with lengths drawn from the
tenant's distributions (December 2026: such a log was refused, ``missing column(s)``, and a
log with empty token fields was refused even when its lengths were drawn)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim

N = 1500  # rows of the log
A = "tenants.chat.arrival"
DRAWN = ["tenants.chat.input={kind: lognormal, mean: 800, cv: 1.0}",
         "tenants.chat.output={kind: geometric, mean: 120}"]


def _stamps() -> list[str]:
    """Times in seconds with 9 fraction digits, irregular gaps of 3 to 47 ms and some odd ns."""
    t, out = Decimal("1700000000.000000001"), []
    for i in range(N):
        out.append(f"{t:.9f}")
        t += Decimal((i * 7919) % 45 + 3) / 1000 + Decimal((i * 31) % 997) / 10**9
    return out


def _write(tmp_path: Path, name: str, lengths: str | None) -> Path:
    """The log with only its time column (``lengths`` None) or with token columns: ``full``
    (filled) or ``holes`` (every fifth row's fields empty, a log that did not measure them)."""
    p = tmp_path / name
    if lengths is None:
        p.write_text("sent_at\n" + "".join(f"{s}\n" for s in _stamps()))
    else:
        p.write_text("sent_at,prompt,completion\n" + "".join(
            f"{s},,\n" if lengths == "holes" and i % 5 == 4 else f"{s},{100 + i % 900},{1 + i % 300}\n"
            for i, s in enumerate(_stamps())))
    return p


def _run(p: Path, out: Path | None = None, csv: str = "input: prompt, output: completion",
         lengths: list[str] = DRAWN):
    return sim.run(["horizon_s=40", "setups=[dedicated]", "output.plots=false",
                    f"{A}={{kind: trace, trace: {{path: {p}, format: csv, "
                    f"csv: {{time: sent_at, {csv}}}}}}}", *lengths], output_dir=out)


def test_a_log_of_times_only_replays_with_drawn_lengths(tmp_path):
    res = _run(_write(tmp_path, "times.csv", None), csv="input: null, output: null")
    r = res.requests.sort_values("arrival_s")
    first = Decimal(_stamps()[0])
    want = np.array([float(Decimal(s) - first) for s in _stamps()])
    want = want[want < 40.0]
    assert len(r) == want.size > 500
    assert np.abs(r["arrival_s"].to_numpy() - want).max() < 1e-9  # to 1 ns against the file
    n = len(r)
    # lognormal mean 800, cv 1 (sd 800); geometric mean 120 (sd sqrt(1 - p) / p, p = 1/120);
    # rounding to whole tokens moves neither mean by more than 0.5: 4 standard errors
    ins, outs = r["input_tokens"].to_numpy(float), r["output_tokens"].to_numpy(float)
    assert abs(ins.mean() - 800) < 4 * 800 / np.sqrt(n) + 0.5
    assert abs(outs.mean() - 120) < 4 * np.sqrt(1 - 1 / 120) * 120 / np.sqrt(n) + 0.5
    assert len(set(ins)) > 100  # drawn, not one fixed value
    assert any("the trace gives the arrival times only" in x and "lognormal, mean 800" in x
               for x in res.notes)


def test_the_drawn_lengths_note_does_not_offer_columns_the_log_lacks(tmp_path):
    # a log said to have no length columns: the note says so, and does not tell the user to
    # replay its recorded lengths with kind: trace (which is refused: it records none)
    res = _run(_write(tmp_path, "times.csv", None), csv="input: null, output: null")
    note = next(x for x in res.notes if "the trace gives the arrival times only" in x)
    assert "kind=trace" not in note and "lengths the trace records" not in note
    assert ("the log records none (tenants.chat.arrival.trace.csv.input: null, "
            "tenants.chat.arrival.trace.csv.output: null)") in note
    # one side null, the other's column there but drawn: only that side is offered
    res = _run(_write(tmp_path, "half.csv", "full"), csv="input: prompt, output: null")
    note = next(x for x in res.notes if "the trace gives the arrival times only" in x)
    assert "csv.output: null)" in note and "set tenants.chat.input.kind=trace" in note
    assert "output.kind=trace" not in note


@pytest.mark.parametrize("csv, side, why", [
    ("input: prompt, output: completion", "input", r"missing column\(s\) \['prompt', 'completion'\]"),
    ("input: null, output: completion", "input", r"csv.input is null"),
])
def test_reading_lengths_from_a_log_that_has_none_names_the_key(tmp_path, csv, side, why):
    p = _write(tmp_path, "times.csv", None)
    with pytest.raises(sim.InputError, match=rf"config key 'tenants.chat.{side}.kind': .*{why}.*"
                       rf"name the file's column in {A}.trace.csv.{side}, or draw the lengths"):
        _run(p, csv=csv, lengths=["tenants.chat.input.kind=trace", "tenants.chat.output.kind=trace"])
    # the output read from the log, the input drawn: the output's column is the one missing
    with pytest.raises(sim.InputError, match=r"config key 'tenants.chat.output.kind'"):
        _run(p, lengths=["tenants.chat.output.kind=trace"])


def test_drawn_lengths_are_the_same_bytes_whatever_the_log_records(tmp_path):
    """Lengths drawn over a log with filled token columns (read and ignored before December
    2026), with empty fields (refused before), with none, and with columns said null: the
    same summary.csv and requests.parquet, byte for byte; the values pinned were measured
    before the change, on the log with filled columns."""
    runs = {
        "full": (_write(tmp_path, "full.csv", "full"), "input: prompt, output: completion"),
        "holes": (_write(tmp_path, "holes.csv", "holes"), "input: prompt, output: completion"),
        "null": (_write(tmp_path, "full2.csv", "full"), "input: null, output: null"),
        "times": (_write(tmp_path, "times.csv", None), "input: prompt, output: completion"),
    }
    files = {}
    for k, (p, csv) in runs.items():
        _run(p, tmp_path / k, csv)
        files[k] = [(tmp_path / k / f).read_bytes() for f in ("summary.csv", "requests.parquet")]
    assert all(files[k] == files["full"] for k in runs)
    r = pd.read_parquet(tmp_path / "full" / "requests.parquet").sort_values("arrival_s")
    assert (len(r), int(r["input_tokens"].sum()), int(r["output_tokens"].sum())) == PINNED[0]
    assert r["input_tokens"].head(4).tolist() == PINNED[1]


PINNED = ((1500, 1170083, 178333), [114, 263, 1279, 443])  # main before the change


def test_the_drawn_lengths_note_names_an_empirical_file_not_an_unread_mean(tmp_path):
    # an empirical length is drawn from its file: the note gave the schema's mean (256) for
    # a PMF whose mean is 150
    pmf = tmp_path / "pmf.csv"
    pmf.write_text("tokens,probability\n100,0.5\n200,0.5\n")
    res = _run(_write(tmp_path, "times.csv", None), csv="input: null, output: null",
               lengths=[DRAWN[0], f"tenants.chat.output={{kind: empirical, path: {pmf}}}"])
    note = next(x for x in res.notes if "the trace gives the arrival times only" in x)
    assert f"output (empirical, from {pmf})" in note and "mean 256" not in note
    assert res.requests["output_tokens"].isin([100, 200]).all()
