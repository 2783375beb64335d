"""``arrival.trace.where``: a CSV trace's rows filtered by the text of named columns before
they are parsed and checked for order, their times counted from the file's first row (so
tenants splitting one file keep its timing); every refusal names the key and the file."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import later_wins

import sim
from sim.workload.arrivals import replay, replay_notes
from sim.workload.trace_filter import where_spec
from sim.workload.traces import load_trace

BURST = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
# both models and both log types, as BurstGPT_1.csv holds them; a field with spaces around it
ROWS = ("5,ChatGPT,472,18,490,Conversation log\n"
        "7,GPT-4,100,10,110,API log\n"
        "9, ChatGPT ,200,20,220,API log\n"
        "9,GPT-4,300,30,330,Conversation log\n"
        "12,ChatGPT,400,40,440,Conversation log\n"
        "15,GPT-4,500,50,550,API log\n")


def _burst(tmp_path, text=BURST + ROWS, name="b.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_a_burstgpt_file_of_both_models_filtered_to_one(tmp_path):
    p = _burst(tmp_path)
    t = load_trace(p, "burstgpt", "default", (), (("Model", ("ChatGPT",)),))
    # rows at 5, 9 and 12 s, counted from the file's first row (at 5 s: a ChatGPT row)
    assert t.t_s.tolist() == [0.0, 4.0, 7.0]
    assert t.input_tokens.tolist() == [472, 200, 400] and t.output_tokens.tolist() == [18, 20, 40]
    assert t.kept == "kept 3 of 6 rows where Model is ChatGPT"
    # the two rows at 9 s are one per model: no equal times are left to spread
    assert t.ties is None
    g = load_trace(p, "burstgpt", "default", (), (("Model", ("GPT-4",)),))
    # GPT-4's rows at 7, 9 and 15 s: 2 s after the file's first row, on the same clock
    assert g.t_s.tolist() == [2.0, 4.0, 10.0] and g.input_tokens.tolist() == [100, 300, 500]
    whole = load_trace(p, "burstgpt", "default")
    assert whole.kept is None and whole.ties.tolist() == [False] * 3 + [True] + [False] * 2


def test_a_list_of_values_and_two_columns_at_once(tmp_path):
    p = _burst(tmp_path)
    both = load_trace(p, "burstgpt", "default", (), (("Model", ("GPT-4", "ChatGPT")),))
    assert both.input_tokens.tolist() == [472, 100, 200, 300, 400, 500]
    assert both.kept == "kept 6 of 6 rows where Model is GPT-4 or ChatGPT"
    two = load_trace(p, "burstgpt", "default", (),
                     (("Model", ("ChatGPT",)), ("Log Type", ("API log", "Nothing"))))
    assert two.t_s.tolist() == [4.0] and two.input_tokens.tolist() == [200]
    assert two.kept == ("kept 1 of 6 rows where Model is ChatGPT and Log Type is API log or "
                        "Nothing")


def test_case_counts_and_rows_left_out_are_not_read(tmp_path):
    # a bad time on a GPT-4 row is not refused when only ChatGPT is replayed; on a kept row
    # the refusal names that row's line in the file
    # (the file's first and last rows aside, whose times are read: the replay's origin and end)
    p = _burst(tmp_path, BURST + ROWS + "soon,GPT-4,1,1,2,API log\n")
    o = _burst(tmp_path, BURST + ROWS + "soon,GPT-4,1,1,2,API log\n16,GPT-4,1,1,2,API log\n", "o.csv")
    assert load_trace(o, "burstgpt", "default", (), (("Model", ("ChatGPT",)),)).t_s.size == 3
    with pytest.raises(sim.InputError, match=r"b.csv:8: .*left out by arrival.trace.where, but its"):
        load_trace(p, "burstgpt", "default", (), (("Model", ("ChatGPT",)),))
    q = _burst(tmp_path, BURST + ROWS + "soon,ChatGPT,1,1,2,API log\n", "c.csv")
    with pytest.raises(sim.InputError, match=r"c.csv:8: Timestamp must be a number"):
        load_trace(q, "burstgpt", "default", (), (("Model", ("ChatGPT",)),))
    # a row of bare commas sends the file to the exact reader: the line is still the file's
    r = _burst(tmp_path, BURST + ",,,,,\n" + ROWS + "soon,ChatGPT,1,1,2,API log\n", "d.csv")
    with pytest.raises(sim.InputError, match=r"d.csv:9: Timestamp must be a number"):
        load_trace(r, "burstgpt", "default", (), (("Model", ("ChatGPT",)),))
    with pytest.raises(sim.InputError, match=r"b.csv, config key 'arrival.trace.where.Model': no row "
                                             r"of the 7 has Model 'chatgpt' \(its values: 'ChatGPT', 'GPT-4'\)"):
        load_trace(p, "burstgpt", "default", (), (("Model", ("chatgpt",)),))


def _run(p, *extra):
    return sim.run(later_wins(["horizon_s=30", "setups=[dedicated]", "tenants.chat.arrival.kind=trace",
                    f"tenants.chat.arrival.trace.path={p}", "tenants.chat.arrival.trace.format=burstgpt",
                    "tenants.chat.input={kind: trace}", "tenants.chat.output={kind: trace}", *extra]))


def test_refusals_name_the_key_and_the_file(tmp_path):
    p = _burst(tmp_path)
    with pytest.raises(sim.InputError, match=r"b.csv:1, config key 'tenants.chat.arrival.trace.where.model': "
                                             r"the filter's column 'model' is not in the trace file"):
        _run(p, "tenants.chat.arrival.trace.where={model: ChatGPT}")
    with pytest.raises(sim.InputError, match=r"b.csv, config key 'tenants.chat.arrival.trace.where': "
                                             r"no row of the 6 has all of Model is GPT-4 and Request tokens "
                                             r"is 472 or 9; the filter keeps no request"):
        _run(p, "tenants.chat.arrival.trace.where={Model: GPT-4, Request tokens: [472, 9]}")
    with pytest.raises(sim.InputError, match=r"b.csv, config key 'tenants.chat.arrival.trace.where.Model'"):
        _run(p, "tenants.chat.arrival.trace.where={Model: Claude}")
    for value, why in (("[]", "an empty list keeps no row"), ("1.5", "quote a number"),
                       ("[GPT-4, true]", "got True")):
        with pytest.raises(sim.InputError, match=rf"config key 'tenants.chat.arrival.trace.where.Model': .*{why}"):
            _run(p, f"tenants.chat.arrival.trace.where={{Model: {value}}}")
    m = tmp_path / "m.jsonl"
    m.write_text('{"timestamp": 0, "input_length": 10, "output_length": 2}\n')
    with pytest.raises(sim.InputError, match=r"m.jsonl, config key 'tenants.chat.arrival.trace.where': "
                                             r"a row filter applies to CSV traces"):
        _run(m, "tenants.chat.arrival.trace.format=mooncake", "tenants.chat.arrival.trace.where={a: b}")


def test_a_filtered_burstgpt_replay_says_what_it_kept(tmp_path):
    res = _run(_burst(tmp_path), "tenants.chat.arrival.trace.where={Log Type: API log}")
    r = res.requests.sort_values("arrival_s")
    assert r["arrival_s"].tolist() == pytest.approx([2.0, 4.0, 10.0])
    assert r["input_tokens"].tolist() == [100, 200, 500]
    assert ("tenant chat: trace b.csv: kept 3 of 6 rows where Log Type is API log "
            "(arrival.trace.where; times count from the file's first row, the first kept row "
            "at 2 s)") in res.notes


def test_a_users_own_log_filtered_by_its_model_column(tmp_path):
    # 60 requests 250 ms apart for three models; the replay keeps the two listed, as recorded
    p = tmp_path / "log.csv"
    models = ["llama", "qwen", "mistral"]
    p.write_text("t_ms,model,prompt,completion\n" + "".join(
        f"{1000 + i * 250},{models[i % 3]},{100 + i},{10 + i}\n" for i in range(60)))
    res = sim.run(["horizon_s=30", "setups=[dedicated]",
                   f"tenants.chat.arrival={{kind: trace, trace: {{path: {p}, format: csv, "
                   "csv: {time: t_ms, input: prompt, output: completion, time_unit: ms}, "
                   "where: {model: [qwen, mistral]}}}",
                   "tenants.chat.input={kind: trace}", "tenants.chat.output={kind: trace}"])
    kept = [i for i in range(60) if i % 3]
    r = res.requests.sort_values("arrival_s")
    assert r["arrival_s"].tolist() == pytest.approx([i * 0.25 for i in kept])
    assert r["input_tokens"].tolist() == [100 + i for i in kept]
    assert r["output_tokens"].tolist() == [10 + i for i in kept]
    assert any("kept 40 of 60 rows where model is qwen or mistral" in n for n in res.notes)


def test_an_azure_file_with_more_columns_filtered_by_an_integer(tmp_path):
    # as the 2025 multimodal trace adds columns; the config's integer 0 is compared as "0"
    p = tmp_path / "mm.csv"
    p.write_text("TIMESTAMP,ContextTokens,GeneratedTokens,NumImages\n"
                 "2025-05-01 00:00:00.5,100,10,2\n2025-05-01 00:00:01.25,200,20,0\n"
                 "2025-05-01 00:00:01.25,250,25,1\n2025-05-01 00:00:03,300,30, 0\n")
    t = load_trace(str(p), "azure", "default", (), where_spec({"NumImages": 0}))
    # the two rows at 01.25 are not equal times once one is left out (azure refuses those)
    assert t.t_s.tolist() == [0.75, 2.5] and t.input_tokens.tolist() == [200, 300]
    assert t.kept == "kept 2 of 4 rows where NumImages is 0"
    # kept, they are: replayed as recorded and marked (a note counts them), and refused by
    # `duplicates: error` naming the second one's line in the file
    both = load_trace(str(p), "azure", "default", (), where_spec({"NumImages": [0, "1"]}))
    assert both.t_s.tolist() == [0.75, 0.75, 2.5] and both.ties.tolist() == [False, True, False]
    with pytest.raises(sim.InputError, match=r"mm.csv:4: duplicate timestamp"):
        load_trace(str(p), "azure", "error", (), where_spec({"NumImages": [0, "1"]}))


def test_two_tenants_splitting_one_log_keep_its_timing(tmp_path):
    """Two services of one log, each a tenant with its own ``where``: every request arrives
    at its recorded time from the file's first row, so the two stay as they were recorded
    relative to each other (each counted from its own first kept row before: the GPT-4
    tenant's requests came 2 s early against the ChatGPT tenant's). A file whose first row is
    not its earliest is refused as out of order, naming the kept row."""
    p = _burst(tmp_path)
    spec = "{{kind: trace, trace: {{path: {p}, format: burstgpt, where: {{Model: {m}}}}}}}"
    res = sim.run(["horizon_s=30", "setups=[dedicated]",
                   f"tenants.chat.arrival={spec.format(p=p, m='ChatGPT')}",
                   f"tenants.gpt4={{model: llama31-8b, arrival: {spec.format(p=p, m='GPT-4')}}}",
                   "tenants.chat.input={kind: trace}", "tenants.chat.output={kind: trace}",
                   "tenants.gpt4.input={kind: trace}", "tenants.gpt4.output={kind: trace}"])
    r = res.requests.sort_values(["arrival_s", "tenant"])
    # the file's rows at 5, 7, 9, 9, 12 and 15 s, counted from 5 s
    assert r["arrival_s"].tolist() == pytest.approx([0.0, 2.0, 4.0, 4.0, 7.0, 10.0])
    assert r["tenant"].tolist() == ["chat", "gpt4", "chat", "gpt4", "chat", "gpt4"]
    late = _burst(tmp_path, BURST + "20,GPT-4,1,1,2,API log\n" + ROWS, "late.csv")
    with pytest.raises(sim.InputError, match=r"late.csv:3: the first row kept by arrival.trace.where "
                                             r"is 15 s before the file's first row"):
        load_trace(late, "burstgpt", "default", (), (("Model", ("ChatGPT",)),))


def test_a_bad_time_on_the_first_row_left_out_says_why_it_is_read(tmp_path):
    # the first row is left out by where, but its time is the replay's origin: a refusal of
    # it must say so (the message read as if a row left out had been checked by mistake)
    from sim.errors import InputError
    for bad in ("", "xx"):
        p = _burst(tmp_path, BURST + f"{bad},GPT-4,1,1,2,API log\n" + ROWS, f"o{bad}.csv")
        with pytest.raises(InputError) as e:
            load_trace(p, "burstgpt", "default", (), (("Model", ("ChatGPT",)),))
        assert e.value.line == 2 and "left out by arrival.trace.where" in str(e.value)
    # a bad time on a kept first row is refused as before, without that remark
    p = _burst(tmp_path, BURST + "xx,ChatGPT,1,1,2,API log\n" + ROWS, "k.csv")
    with pytest.raises(InputError) as e:
        load_trace(p, "burstgpt", "default", (), (("Model", ("ChatGPT",)),))
    assert e.value.line == 2 and "left out" not in str(e.value)


def test_two_tenants_splitting_one_log_loop_it_whole(tmp_path):
    """Looped, each pass of a tenant filtered by ``where`` lasts the file's span (its first
    row to its last, plus 1 ns), so the two services keep their recorded timing on every
    pass (each looped to its own last kept row before: the ChatGPT tenant's passes were 7 s,
    the GPT-4 tenant's 10 s, and the two drifted apart from the second pass)."""
    p = _burst(tmp_path)
    spec = ("{{kind: trace, trace: {{path: {p}, format: burstgpt, loop: true, "
            "where: {{Model: {m}}}}}}}")
    res = sim.run(["horizon_s=25", "setups=[dedicated]",
                   f"tenants.chat.arrival={spec.format(p=p, m='ChatGPT')}",
                   f"tenants.gpt4={{model: llama31-8b, arrival: {spec.format(p=p, m='GPT-4')}}}"])
    r = res.requests
    # rows at 5, 9, 12 s (ChatGPT) and 7, 9, 15 s (GPT-4), from 5 s, in passes of 10 s + 1 ns
    for name, rec in (("chat", [0, 4, 7]), ("gpt4", [2, 4, 10])):
        want = sorted(x + k * (10 + 1e-9) for k in range(3) for x in rec if x + k * 10 < 25)
        got = sorted(r.loc[r["tenant"] == name, "arrival_s"])
        assert got == pytest.approx(want, abs=1e-12)


# BurstGPT times in whole seconds (``spread`` gives a last run of equal times 1 s): ChatGPT
# at 0 s and twice at 2 s, the file's last time; GPT-4 at 1 s
ENDS_TIED = ("0,ChatGPT,1,1,2,API log\n1,GPT-4,1,1,2,API log\n2,ChatGPT,1,1,2,API log\n"
             "2,ChatGPT,1,1,2,API log\n")


def _looped(p, model=None, start_s=0.0, loop=True, horizon=10.0):
    tr = load_trace(p, "burstgpt", "spread", (), (("Model", (model,)),) if model else ())
    t, i = replay(tr, horizon, 1.0, 1.0, start_s, loop, None)
    said = [n for n in replay_notes("x", tr, i, horizon, 1.0, 1.0, start_s, loop)
            if "arrival.trace.loop" in n]
    return t, i, said


def test_tenants_splitting_one_log_keep_its_period_when_spread_moves_a_last_row(tmp_path):
    """Looped, the period is the file's recorded span plus 1 ns for every tenant filtering
    it, and a last run of equal times is spread at most up to the next pass's first row, so
    every pass holds its rows in order. Until December 2026 ``spread`` moved ChatGPT's second
    row at 2 s to 2.5 s and its passes were 2.5 s (4 passes, 11 requests over 10 s) while
    GPT-4's were 2 s, and both notes said 5 passes of 2 s."""
    p = _burst(tmp_path, BURST + ENDS_TIED)
    period = 2 + 1e-9
    t, i, said = _looped(p, "ChatGPT")
    # each pass: 0, 2 and halfway from 2 to the next pass's first row (at the period)
    want = [k * period + x for k in range(5) for x in (0.0, 2.0, 2.0 + 0.5e-9)]
    want = [x for x in want if x < 10]
    assert len(want) == 13 and t.tolist() == pytest.approx(want, abs=1e-12)
    assert i.tolist() == np.resize([0, 1, 2], 13).tolist()  # pass after pass, none mixed
    assert said == ["tenant x: arrival.trace.loop replays the trace's 3 rows from start_s=0 s in "
                    "5 passes of 2 s, the last cut at horizon_s=10 s: 13 requests"]
    t, i, said = _looped(p, "GPT-4")
    assert t.tolist() == pytest.approx([1 + k * period for k in range(5)], abs=1e-12)
    assert "in 5 passes of 2 s" in said[0] and said[0].endswith(": 5 requests")
    # the whole file looped: the same period (it was 2.5 s + 1 ns, to the spread last row)
    t, i, said = _looped(p)
    assert t[:5].tolist() == pytest.approx([0, 1, 2, 2 + 0.5e-9, period], abs=1e-12)
    assert t.size == 4 * 4 + 2 and "in 5 passes of 2 s" in said[0]  # the fifth: 8 and 9 s
    # not looped, the last run keeps its 1 s slot
    assert _looped(p, "ChatGPT", loop=False)[0].tolist() == [0.0, 2.0, 2.5]


def test_a_spread_last_run_that_fits_before_the_next_pass_keeps_its_slot(tmp_path):
    """From start_s 2, ChatGPT's rows at 3, 5, 5 s replay at 1, 3 and 3.5 s (the last run
    over its 1 s slot) in passes of 3 s + 1 ns: the next pass's first row, 1 s into it,
    comes after 3.5 s, so the slot stays (the period was 3.5 s + 1 ns before). Over 10 s the
    fourth pass's first row would come at 10 s + 3 ns: three passes, 9 requests."""
    p = _burst(tmp_path, BURST + "0,ChatGPT,1,1,2,API log\n3,ChatGPT,1,1,2,API log\n"
               "5,ChatGPT,1,1,2,API log\n5,ChatGPT,1,1,2,API log\n")
    period = 3 + 1e-9
    t, i, said = _looped(p, start_s=2.0)
    want = [x + k * period for k in range(4) for x in (1.0, 3.0, 3.5) if x + k * period < 10]
    assert t.tolist() == pytest.approx(want, abs=1e-12) and i.tolist() == np.resize([1, 2, 3], 9).tolist()
    assert "in 3 passes of 3 s" in said[0] and said[0].endswith(": 9 requests")


def test_a_loop_over_rows_recorded_at_one_time_is_refused(tmp_path):
    """Its period, the recorded span plus 1 ns, would be 1 ns (``spread`` used to lengthen it
    to its last run's slot: 0.5 s for two rows at 0 s); refused naming the key."""
    p = _burst(tmp_path, BURST + "0,ChatGPT,1,1,2,API log\n0,ChatGPT,1,1,2,API log\n")
    with pytest.raises(sim.InputError) as e:
        sim.run([f"tenants.chat.arrival={{kind: trace, trace: {{path: {p}, format: burstgpt, "
                 "loop: true}}", "horizon_s=5", "setups=[dedicated]"])
    assert e.value.key == "tenants.chat.arrival.trace.loop" and "lasts 0 s as recorded" in str(e.value)
