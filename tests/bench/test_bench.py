"""``python -m sim.bench`` (the dedicated scenario) on a few thousand requests: the lines it
prints are the runs' own, and ``--prefix`` pairs the cache with a run without it."""

import json

from sim.bench import __main__ as bench


def test_prefix_pairs_caching_on_and_off_at_one_rate(monkeypatch, capsys):
    floor = bench.mmc_floor
    monkeypatch.setattr(bench, "mmc_floor", lambda: floor(customers=2000))
    bench.main(["--requests", "3000", "--engines", "fluid", "--prefix"])
    head, on, off, mmc = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    # offered what the pool carries without the cache (the smaller of the two saturated rates)
    assert head["saturated_rps_without_cache"] < head["saturated_rps"]
    assert abs(head["offered_rps"] - 0.7 * head["saturated_rps_without_cache"]) < 0.01
    assert "prefix_caching" not in on and off["prefix_caching"] is False
    assert on["requests"] == off["requests"] > 2000  # the same workload both times
    assert on["cache_hit_rate"] > 0.3 and off["cache_hit_rate"] == 0
    assert on["ttft_p50_s"] < off["ttft_p50_s"]  # the hits shorten prefills
    assert mmc["fluid_caching_on_over_off"] == round(on["requests_per_s"] / off["requests_per_s"], 3)
    cpu = round(on["requests_per_cpu_s"] / off["requests_per_cpu_s"], 3)
    assert mmc["fluid_caching_on_over_off_cpu"] == cpu and on["cpu_s"] > 0


def test_caching_pair_on_the_standard_workload(monkeypatch, capsys):
    """Without shared prefixes the cache finds nothing: the pair runs one workload at one
    rate and the two runs simulate the same thing (same TTFTs, no hits)."""
    floor = bench.mmc_floor
    monkeypatch.setattr(bench, "mmc_floor", lambda: floor(customers=2000))
    bench.main(["--requests", "3000", "--engines", "fluid", "--caching-pair"])
    head, on, off, mmc = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert "saturated_rps_without_cache" not in head
    assert off["prefix_caching"] is False and on["requests"] == off["requests"] > 2000
    assert on["cache_hit_rate"] == off["cache_hit_rate"] == 0
    assert (on["ttft_p50_s"], on["ttft_p99_s"]) == (off["ttft_p50_s"], off["ttft_p99_s"])
    assert mmc["fluid_caching_on_over_off_cpu"] == round(on["requests_per_cpu_s"] / off["requests_per_cpu_s"], 3)


def test_a_run_under_an_earlier_peak_has_no_bytes_per_request():
    """A process's peak RSS only grows: a run that stays under a peak set before it printed
    ``bytes_per_request`` 0 (the caching pair's second run, the step engine after fluid:
    304 then 0 and 0). Its own peak is not measured there: null, and the line says why."""
    held = bytearray(400 * 2 ** 20)
    held[:: 4096] = b"\1" * len(held[:: 4096])  # resident: the process's peak is now > 400 MB
    del held
    row = bench.bench("fluid", 1000, 10.0)
    assert row["requests"] > 900 and row["bytes_per_request"] is None
    assert "set before this run" in row["bytes_per_request_note"]
