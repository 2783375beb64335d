"""The run's note when the serverless pool turns requests away at its wait bound
(``serverless.max_wait_s``) while it serves faster than offered: named as the wait bound (or
no room to place a replica), with the run's own counts, not as overload. Until December 2026
any mix other than cold-start timeouts alone read "unstable at this load ... Queues are
bounded by max_queue; add capacity or lower the load"."""

import pytest
from helpers.queueing import write_table

import sim

D = 0.01  # s an iteration: one sequence serves 1 / D = 100 output tok/s


def _run(tmp_path, tenants, extra=(), seqs_8b=16):
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    over = ["setups=[serverless]", "output.plots=false", "output.report=false",
            "horizon_s=300", "drain_s=600", "serverless.billing=gpu_second",
            "tenants={" + ", ".join(tenants) + "}"]
    perf = f"perf: {{kind: table, table_path: {table}, kv_capacity_tokens: 1000000}}"
    over += [f"deployments.llama31-8b={{gpu: H100, precision: fp8, tp: 1, max_num_seqs: {seqs_8b}, {perf}}}",
             f"deployments.llama2-7b={{gpu: H100, precision: bf16, tp: 1, max_num_seqs: 16, {perf}}}", *extra]
    return sim.run(over)


def _tenant(tmp_path, name, model, times, out):
    trace = tmp_path / f"{name}.csv"
    trace.write_text("timestamp\n" + "".join(f"{t}\n" for t in times))
    return (f"{name}: {{model: {model}, arrival: {{kind: trace, trace: {{path: {trace}, "
            "format: csv, csv: {time: timestamp, input: null, output: null}}}, "
            f"input: {{kind: fixed, mean: 1}}, output: {{kind: fixed, mean: {out}}}}}")


def _line(res):
    lines = [n for n in res.notes if n.startswith("serverless")]
    assert len(lines) == 1, res.notes
    return lines[0]


def _reasons(res):
    r = res.requests
    return r.loc[r["outcome"] == "rejected", "reason"].astype(str).value_counts().to_dict()


def test_cold_start_and_queued_timeouts_below_capacity_name_the_wait_bound(tmp_path):
    """Five 2,000-token requests (20 s each on one sequence) in 300 s: 33 tok/s offered
    against 100 sustainable. A 20 s bound is shorter than the cold start and than a wait
    behind one service."""
    res = _run(tmp_path, [_tenant(tmp_path, "a", "llama31-8b", [0, 5, 40, 41, 50], 2000)],
               ["serverless.max_wait_s=20", "serverless.pool={H100: {nodes: 1, gpus_per_node: 2}}"],
               seqs_8b=1)
    why = _reasons(res)
    assert set(why) == {"timeout_cold_start", "timeout_queued"}
    line = _line(res)
    assert "unstable" not in line and "max_queue" not in line
    n = sum(why.values())
    rs = ", ".join(f"{r} {k}" for r, k in sorted(why.items()))
    assert f"{n} of 5 requests gave up waiting ({rs})" in line
    assert f"{5 * 2000 / 300:,.0f} output tok/s offered against a sustainable {1 / D:,.0f}" in line
    assert "timeout_queued: serverless.max_wait_s is shorter than a wait" in line


def test_no_capacity_below_capacity_names_the_pool(tmp_path):
    """One GPU, eviction none: model b's request finds it held by model a's replica (kept 60
    s idle) and gives up after 80 s, b never placed: the never-placed line, saying when a
    longer wait helps. 1,100 tokens in 300 s: 4 tok/s against 100."""
    res = _run(tmp_path, [_tenant(tmp_path, "a", "llama31-8b", [0], 1000),
                          _tenant(tmp_path, "b", "llama2-7b", [5], 100)],
               ["serverless.pool={H100: {nodes: 1, gpus_per_node: 1}}",
                "serverless.eviction=none", "serverless.max_wait_s=80"])
    assert _reasons(res) == {"timeout_no_capacity": 1}
    line = _line(res)
    assert "unstable" not in line
    assert line.startswith("serverless: no replica of llama2-7b was ever placed on a GPU "
                           "(llama2-7b: 1 of 1 requests turned away or left unfinished)"), line
    assert "give the pool more GPUs" in line
    assert ("requests that gave up waiting (timeout_no_capacity 1) would be placed with a "
            "longer serverless.max_wait_s only if other replicas free a GPU") in line


def test_offered_above_sustainable_keeps_the_overload_wording(tmp_path):
    """A 2,000-token request every 5 s on one sequence: 400 tok/s offered against 100."""
    res = _run(tmp_path, [_tenant(tmp_path, "a", "llama31-8b", range(0, 300, 5), 2000)],
               ["serverless.max_wait_s=20", "serverless.pool={H100: {nodes: 1, gpus_per_node: 1}}"],
               seqs_8b=1)
    line = _line(res)
    assert line.startswith("serverless is unstable at this load: offered 400 output tok/s")
    assert "gave up waiting" not in line


@pytest.mark.parametrize("reason", ["timeout_queued", "timeout_no_capacity"])
def test_the_line_for_a_wait_bound_alone(reason):
    from sim.metrics.stabline import warning_line
    s = {"setup": "serverless", "reasons": {reason: 3}, "turned_away": 3, "requests": 10,
         "offered_tok_s": 10.0, "sustainable_tok_s": 50.0, "backlog_at_horizon": 0,
         "completed": 7}
    line = warning_line(s)
    assert line.startswith(f"serverless: 3 of 10 requests gave up waiting ({reason} 3)")


def test_rates_below_ten_keep_three_significant_figures():
    """3 requests of 10 output tokens in 150 s (0.2 tok/s) against 0.29 sustainable: rounded
    to whole numbers, until December 2026 the line read "serves faster than offered (0 output
    tok/s offered against a sustainable 0 ...)"."""
    from sim.metrics.stabline import warning_line
    s = {"setup": "serverless", "reasons": {"timeout_queued": 1}, "turned_away": 1,
         "requests": 3, "offered_tok_s": 30 / 150, "sustainable_tok_s": 0.29,
         "backlog_at_horizon": 0, "completed": 2}
    assert "(0.2 output tok/s offered against a sustainable 0.29, measured" in warning_line(s)
    s |= {"offered_tok_s": 11 / 3, "sustainable_tok_s": 1234.5}
    assert "(3.67 output tok/s offered against a sustainable 1,234, measured" in warning_line(s)
