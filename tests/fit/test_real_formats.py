"""``sim.fit`` reads the files the benchmark clients really write, in the shapes of their
versions, checked against the clients' source (December 2026):

* vLLM ``vllm bench serve --save-result --save-detailed`` (``vllm/benchmarks/serve.py``): one
  ``json.dump`` object, or with ``--append-result`` several, each on its own line after the
  first; per-request lists for every request sent, a failed one with ``output_lens`` 0,
  ``ttfts`` 0.0, ``itls`` [] and its error (which may be "" when the server gave no reason);
  ``latencies`` and ``queue_times`` kept even without ``--save-detailed``; ``start_times``
  (``time.perf_counter()`` when sent) from January 2026 (vllm-project/vllm#32667); a
  ramp-up run writes ``request_rate`` "inf" with ``ramp_up_strategy``, ``ramp_up_start_rps``
  and ``ramp_up_end_rps``; ``burstiness`` may be Infinity (evenly spaced sends).
* vLLM ``benchmarks/benchmark_serving.py`` of 2025: no ``latencies``, no ``start_times``, the
  key ``"request_goodput:"`` with its stray colon.
* SGLang ``python -m sglang.bench_serving --output-file F --output-details``: one line per run,
  appended, the per-request lists at the top level (``bench_serving.py``) or under
  ``"details"`` (``sglang/benchmark/metrics.py`` of the refactored client); ``request_rate`` a number, ``Infinity`` (``json.dumps`` of inf) or ``"trace"``
  (``--use-trace-timestamps``); ``server_info`` a nested object; a failed request with
  ``output_lens`` 0, ``ttfts`` 0.0 and a traceback as its error; with ``--disable-stream`` no
  ITLs at all and TTFT equal to the whole latency.
"""

import json
import math

import numpy as np
import pytest
from helpers.cli import assert_one_clear_line

from sim.errors import InputError
from sim.fit.__main__ import main
from sim.fit.logs import log_format, read_log
from sim.fit.replay import arrivals

DEPLOY = ["--model", "llama31-8b", "--gpu", "H100", "--precision", "fp8", "--tp", "1"]
TRACEBACK = ('Traceback (most recent call last):\n  File "bench_serving.py", line 212, in '
             'async_request_openai_completions\naiohttp.client_exceptions.ServerDisconnectedError:'
             ' Server disconnected\n')


def _requests(n=6):
    """(input, output, ttft, itls) of n successful requests, and the indices that failed."""
    rng = np.random.default_rng(5)
    return [(int(rng.integers(50, 900)), int(rng.integers(2, 40)), float(rng.uniform(0.02, 0.3)),
             [float(x) for x in rng.uniform(0.005, 0.02, size=3)]) for _ in range(n)]


def vllm_bench_serve(reqs, failed=(1, 4), start=True, latencies=True, **traffic):
    """The object ``vllm bench serve --save-result --save-detailed`` dumps (serve.py, 2026)."""
    ok = [j for j in range(len(reqs)) if j not in failed]
    doc = {"date": "20261201-101010", "endpoint_type": "openai", "backend": "openai", "label": None,
           "model_id": "meta-llama/Llama-3.1-8B-Instruct", "tokenizer_id": "meta-llama/Llama-3.1-8B-Instruct",
           "num_prompts": len(reqs), "request_rate": "inf", "burstiness": 1.0, "max_concurrency": None,
           **traffic,
           "duration": 3.2, "completed": len(ok), "failed": len(failed), "total_input_tokens": 1,
           "total_output_tokens": 1, "request_throughput": 1.0, "request_goodput": None,
           "output_throughput": 1.0, "total_token_throughput": 1.0,
           "input_lens": [r[0] for r in reqs],
           "output_lens": [r[1] if j in ok else 0 for j, r in enumerate(reqs)],
           "ttfts": [r[2] if j in ok else 0.0 for j, r in enumerate(reqs)],
           "itls": [r[3] if j in ok else [] for j, r in enumerate(reqs)]}
    if latencies:
        doc["latencies"] = [r[2] + sum(r[3]) if j in ok else 0.0 for j, r in enumerate(reqs)]
    if start:
        doc["start_times"] = [353399.7258 + 0.25 * j for j in range(len(reqs))]
    doc.update({"queue_times": [0.0] * len(reqs), "generated_texts": [" x" * r[1] for r in reqs],
                # a refused request: the server's reason, or "" when it gave none
                "errors": ["" if j in ok else ("Bad Request" if j == failed[0] else "")
                           for j in range(len(reqs))],
                "max_output_tokens_per_s": 40.0, "max_concurrent_requests": 4, "rtfx": 0.0,
                "mean_ttft_ms": 120.0, "median_ttft_ms": 110.0, "std_ttft_ms": 9.0,
                "p99_ttft_ms": 190.0})
    return doc


def sglang_line(reqs, failed=(2,), stream=True, nested=False, **args):
    """One line of ``sglang.bench_serving --output-file F --output-details`` (2025-26); with
    ``nested`` as ``sglang/benchmark/metrics.py`` writes it, the lists under "details"."""
    ok = [j for j in range(len(reqs)) if j not in failed]
    res = {"tag": None, "backend": "sglang", "dataset_name": "random", "request_rate": float("inf"),
           "max_concurrency": None, "sharegpt_output_len": None, "random_input_len": 1024,
           "random_output_len": 1024, "random_range_ratio": 0.0,
           "server_info": {"version": "0.5.2", "internal_states": [{"avg_spec_accept_length": None}]},
           "duration": 2.0, "completed": len(ok), "total_input_tokens": 1, "mean_ttft_ms": 100.0,
           "concurrency": 3.1, "accept_length": None, "max_output_tokens_per_s": 80.0, **args}
    lat = [r[2] + sum(r[3]) for r in reqs]
    details = {"input_lens": [r[0] for r in reqs],
               "output_lens": [r[1] if j in ok else 0 for j, r in enumerate(reqs)],
               # --disable-stream: the whole answer in one piece, TTFT its latency, no ITLs
               "ttfts": [(r[2] if stream else lat[j]) if j in ok else 0.0 for j, r in enumerate(reqs)],
               "itls": [r[3] if j in ok and stream else [] for j, r in enumerate(reqs)],
               "generated_texts": ["" for _ in reqs],
               "errors": ["" if j in ok else TRACEBACK for j in range(len(reqs))]}
    return json.dumps(res | ({"details": details} if nested else details))


def _tpot(r):
    return sum(r[3]) / (r[1] - 1)


def test_vllm_bench_serve_with_failures_and_send_times(tmp_path):
    reqs = _requests()
    p = tmp_path / "openai-infqps-Llama-3.1-8B-Instruct-20261201-101010.json"
    p.write_text(json.dumps(vllm_bench_serve(reqs)))
    log = read_log(str(p))
    ok = [0, 2, 3, 5]
    assert (len(log), log.dropped, log.notes) == (4, 2, ["2 failed requests dropped"])
    assert log.n_in.tolist() == [reqs[j][0] for j in ok]
    np.testing.assert_allclose(log.tpot_s, [_tpot(reqs[j]) for j in ok])
    np.testing.assert_allclose(log.arrival_s, [0.25 * j for j in ok], atol=1e-9)
    assert arrivals(log).description == "recorded send times"


def test_vllm_appended_results_are_runs_one_a_line(tmp_path, capsys):
    """``--append-result`` writes a newline and then the next object: the file as a whole is
    not one JSON document ("Extra data" before December 2026)."""
    a, b = _requests(6), _requests(9)
    p = tmp_path / "appended.json"
    p.write_text(json.dumps(vllm_bench_serve(a)) + "\n" + json.dumps(vllm_bench_serve(b, failed=(0,))))
    assert (len(read_log(str(p))), len(read_log(str(p), run=0))) == (8, 4)
    with pytest.raises(InputError, match="run 2: the file holds 2 runs"):
        read_log(str(p), run=2)
    # one object pretty-printed over many lines is still one run
    p.write_text(json.dumps(vllm_bench_serve(a), indent=2))
    assert len(read_log(str(p))) == 4
    # --run is for a file of several runs; a single vLLM object has one
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(p), *DEPLOY, "--run", "0", "--out", str(tmp_path / "o")])
    assert_one_clear_line(e.value.code, capsys.readouterr().err, "--run picks one run (line) of")


def test_vllm_2025_result_without_latencies_or_send_times(tmp_path):
    reqs = _requests()
    doc = vllm_bench_serve(reqs, start=False, latencies=False, request_rate=2.5, burstiness=0.5,
                           max_concurrency=4)
    doc["request_goodput:"] = doc.pop("request_goodput")  # the key as benchmark_serving.py spelt it
    (tmp_path / "v.json").write_text(json.dumps(doc))
    log = read_log(str(tmp_path / "v.json"))
    assert (log.arrival_s, log.rate_rps, log.burstiness, log.max_concurrency) == (None, 2.5, 0.5, 4)
    np.testing.assert_allclose(log.tpot_s, [_tpot(reqs[j]) for j in (0, 2, 3, 5)])


def test_a_vllm_ramp_up_without_send_times_is_replayed_as_a_ramp(tmp_path):
    """vLLM's ramp-up writes request_rate "inf"; before January 2026 it wrote no send times,
    and the replay sent every request at once."""
    n = 3000
    reqs = [(100, 10, 0.1, [0.01] * 9)] * n
    doc = vllm_bench_serve(reqs, failed=(7,), start=False, ramp_up_strategy="linear",
                           ramp_up_start_rps=1, ramp_up_end_rps=10)
    (tmp_path / "ramp.json").write_text(json.dumps(doc))
    arr = arrivals(read_log(str(tmp_path / "ramp.json")), seed=4)
    assert "linear ramp from 1 to 10 requests/s" in arr.description and not arr.paired
    # the client's rate for request j of n: 1 + 9 j / (n - 1); its gap has mean 1 / rate
    keep = [j for j in range(n) if j != 7]
    want = sum(1.0 / (1 + 9 * j / (n - 1)) for j in keep[1:])
    assert arr.times_s[-1] == pytest.approx(want, rel=0.03)
    half = len(keep) // 2  # the first half is slower than the second
    assert arr.times_s[half] > 1.5 * (arr.times_s[-1] - arr.times_s[half])
    doc["ramp_up_strategy"], doc["ramp_up_start_rps"] = "exponential", 2
    (tmp_path / "exp.json").write_text(json.dumps(doc))
    arr = arrivals(read_log(str(tmp_path / "exp.json")), seed=4)
    want = sum(1.0 / (2 * 5 ** (j / (n - 1))) for j in keep[1:])
    assert arr.times_s[-1] == pytest.approx(want, rel=0.03)
    # --request-rate still overrides the log's settings
    assert "at 3 requests/s" in arrivals(read_log(str(tmp_path / "exp.json")), 3.0).description


def test_failed_requests_keep_their_places_in_drawn_send_times(tmp_path):
    """The client drew a gap for every request it sent, failed ones too: the kept requests take
    their own send times (until December 2026 the gaps were drawn over the kept requests only,
    100 requests at 4/s with every second one failed replayed over 13.75 s, not ~24.75 s)."""
    reqs = _requests(40)
    failed = tuple(range(1, 40, 2))
    keep = [j for j in range(40) if j not in failed]
    for traffic in ({"request_rate": 4.0}, {"request_rate": 4.0, "burstiness": 0.5},
                    {"ramp_up_strategy": "linear", "ramp_up_start_rps": 1, "ramp_up_end_rps": 10}):
        (tmp_path / "all.json").write_text(json.dumps(vllm_bench_serve(reqs, (), False, **traffic)))
        (tmp_path / "half.json").write_text(json.dumps(vllm_bench_serve(reqs, failed, False,
                                                                         **traffic)))
        full = arrivals(read_log(str(tmp_path / "all.json")), seed=3).times_s
        half = arrivals(read_log(str(tmp_path / "half.json")), seed=3).times_s
        np.testing.assert_allclose(half, full[keep] - full[keep[0]], rtol=1e-12)
    # a ramp at burstiness Infinity, request 2 of 5 failed: rates 1, 3.25, 5.5, 7.75, 10 and
    # the gap before request j is 1 / its rate (the client sent at 0, 0.3077, 0.6185, 0.7185)
    doc = vllm_bench_serve(_requests(5), (2,), False, burstiness=float("inf"),
                           ramp_up_strategy="linear", ramp_up_start_rps=1, ramp_up_end_rps=10)
    (tmp_path / "ramp.json").write_text(json.dumps(doc))
    sent = np.cumsum([0, 1 / 3.25, 1 / 5.5, 1 / 7.75, 1 / 10])
    np.testing.assert_allclose(arrivals(read_log(str(tmp_path / "ramp.json"))).times_s,
                               sent[[0, 1, 3, 4]], rtol=1e-12)


def test_vllm_infinite_burstiness_sends_evenly(tmp_path):
    reqs = _requests()
    doc = vllm_bench_serve(reqs, start=False, request_rate=4.0, burstiness=float("inf"))
    (tmp_path / "v.json").write_text(json.dumps(doc))  # json writes Infinity
    arr = arrivals(read_log(str(tmp_path / "v.json")))
    np.testing.assert_allclose(arr.times_s, [0.0, 0.5, 0.75, 1.25])  # sends 0, 2, 3, 5 of 0.25 s
    assert arr.paired  # nothing drawn


def test_sglang_jsonl_runs_with_infinity_and_failures(tmp_path):
    reqs = _requests(8)
    p = tmp_path / "sglang_1201_8_1024_1024.jsonl"
    p.write_text(sglang_line(reqs, request_rate=4.0, max_concurrency=2) + "\n"
                 + sglang_line(reqs) + "\n" + sglang_line(reqs, nested=True) + "\n")
    first, second, last = (read_log(str(p), run=0), read_log(str(p), run=1), read_log(str(p)))
    assert (first.rate_rps, first.max_concurrency, math.isinf(second.rate_rps)) == (4.0, 2, True)
    for log in (second, last):  # the lists at the top, or under "details" (refused before)
        assert (len(log), log.dropped) == (7, 1)
        np.testing.assert_allclose(log.tpot_s, [_tpot(r) for j, r in enumerate(reqs) if j != 2])


def test_sglang_trace_timestamps_are_not_recorded_so_a_rate_must_be_given(tmp_path, capsys):
    """``--use-trace-timestamps`` writes request_rate "trace" (refused as not a number before
    December 2026, with no way round it); so does SGLang's own mooncake replay (which ignored
    the rate it wrote)."""
    reqs = _requests(8)
    for name, line in (("t.jsonl", sglang_line(reqs, request_rate="trace")),
                       ("m.jsonl", sglang_line(reqs, dataset_name="mooncake", request_rate=16.0))):
        p = tmp_path / name
        p.write_text(line + "\n")
        log = read_log(str(p))
        with pytest.raises(InputError, match="does not record.*give --request-rate"):
            arrivals(log)
        assert "at 2 requests/s" in arrivals(log, 2.0).description
        with pytest.raises(SystemExit) as e:
            main(["--requests", str(p), *DEPLOY, "--out", str(tmp_path / "o")])
        assert_one_clear_line(e.value.code, capsys.readouterr().err, f"{p}:1: ")


def test_a_run_without_streaming_has_no_decode_times_and_is_refused(tmp_path, capsys):
    """SGLang's ``--disable-stream``: no ITLs, TTFT the whole latency; every TPOT was read as 0."""
    p = tmp_path / "nostream.jsonl"
    p.write_text(sglang_line(_requests(8), stream=False) + "\n")
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(p), *DEPLOY, "--out", str(tmp_path / "o")])
    assert_one_clear_line(e.value.code, capsys.readouterr().err,
                          f"{p}:1: itls: no inter-token times for any request of two or more tokens")


def test_a_failed_requests_entries_are_not_read_but_a_successful_ones_are(tmp_path):
    reqs = _requests()
    doc = vllm_bench_serve(reqs)
    for k in ("output_lens", "ttfts", "itls", "latencies"):  # whatever a failure left there
        doc[k][1] = None
    (tmp_path / "v.json").write_text(json.dumps(doc))
    assert (len(read_log(str(tmp_path / "v.json"))), read_log(str(tmp_path / "v.json")).dropped) == (4, 2)
    doc["ttfts"][3] = None  # a successful request without its TTFT
    (tmp_path / "v.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"v.json:1: ttfts\[3\]: not a number \(None\)"):
        read_log(str(tmp_path / "v.json"))


@pytest.mark.parametrize("name, fmt", [("log.csv", "csv"), ("log.CSV.gz", "csv"), ("r.json", "vllm"),
                                       ("r.json.gz", "vllm"), ("r.jsonl.gz", "sglang")])
def test_the_format_is_told_through_a_gz_suffix(name, fmt):
    assert log_format(name) == fmt
