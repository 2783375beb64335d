"""The lengths note says how many of the requests whose lengths were changed are still beyond
the context and so rejected, and names the setting that made each change. Until December
2026 it said all of them "were changed to be served" with "(workload.overlength=reject)",
though input.max had cut them and the run rejected them (llama2-7b on the Mooncake
conversation trace over 60 s: 43 prompts cut to 16,000, all 43 still over 4,096)."""

from __future__ import annotations

import sim

T = "tenants.chat"
# four rows by hand, on llama2-7b (4,096 tokens of context), input.max 4,500:
# 100 + 10 is served as is; 5,000 and 20,000 are cut to 4,500, still over 4,096 with their
# 10 output tokens; the output of 0 tokens is raised to one and served (3,000 + 1)
ROWS = [(0.0, 100, 10), (1.0, 5000, 10), (2.0, 20000, 10), (3.0, 3000, 0)]


def _base(tmp_path, policy: str) -> list[str]:
    p = tmp_path / "t.csv"
    p.write_text("timestamp,input_tokens,output_tokens\n"
                 + "".join(f"{t},{i},{o}\n" for t, i, o in ROWS))
    return [f"{T}.model=llama2-7b", "deployments={llama2-7b: {gpu: H100, precision: bf16, tp: 1}}",
            "~deployments.llama31-8b", "setups=[dedicated]", "horizon_s=10",
            f"{T}.arrival={{kind: trace, trace: {{path: {p}, format: csv}}}}",
            f"{T}.input={{kind: trace, max: 4500}}", f"{T}.output={{kind: trace}}",
            f"workload.overlength={policy}"]


def test_changed_requests_still_over_the_context_are_said_rejected(tmp_path):
    res = sim.run(_base(tmp_path, "reject"))
    r = res.requests.sort_values("arrival_s")
    assert r["outcome"].tolist() == ["completed", "rejected", "rejected", "completed"]
    s = res.summary.set_index("tenant").loc["chat"]
    assert (s["clipped"], s["rejected"]) == (3, 2)  # clipped: every changed request, as before
    assert [n for n in res.notes if "changed to be served" in n] == [
        "tenant chat: 3 requests' lengths were changed to be served: 2 prompts above input.max "
        "4,500 cut to it, 1 output of 0 tokens raised to one; 2 of them still exceed the "
        "model's context and are rejected on arrival (workload.overlength=reject); "
        "column `clipped`"]


def test_a_context_cut_names_overlength_clip_and_nothing_is_rejected(tmp_path):
    res = sim.run(_base(tmp_path, "clip"))
    r = res.requests.sort_values("arrival_s")
    assert (r["outcome"] == "completed").all()
    assert (r["input_tokens"] + r["output_tokens"]).tolist() == [110, 4096, 4096, 3001]
    assert [n for n in res.notes if "changed to be served" in n] == [
        "tenant chat: 3 requests' lengths were changed to be served: 2 prompts above input.max "
        "4,500 cut to it, 1 output of 0 tokens raised to one, 2 requests cut to the context "
        "4,096 (workload.overlength=clip); column `clipped`"]
