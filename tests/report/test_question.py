"""report.md's opening question: the experiment's ``notes.question`` describes its own
settings, so a run that changes what it asks about (tenants, models, GPUs, setups) says so
and names the keys; a run that changes only how it is measured keeps it as the question.
Until December 2026 ``python -m sim 'tenants={svc: {model: qwen3-32b, ...}}'`` opened with
"How does one replica serve a small chat service?"."""


import pandas as pd
from omegaconf import OmegaConf

import sim
from sim.config.given import GIVEN
from sim.records import ALL, Result
from sim.report.markdown import run_report
from sim.report.question import SHOWN, changed_keys, question_line

NOTES = {"question": "How does one replica serve chat?", "sweep_x": "tenants.chat.arrival.rate_rps"}


def test_measurement_keys_and_the_swept_axis_keep_the_question():
    given = ["seed=3", "horizon_s=60", "drain_s=5", "output.plots=true", "engine=fluid",
             "metrics.warmup_s=0", "replications=2", "name=mine", "notes.sweep_x=seed",
             "tenants.chat.arrival.rate_rps=7", "hydra.run.dir=/tmp/x", "variant=a"]
    assert changed_keys(given, ["tenants.chat.arrival.rate_rps"]) == ([], [])
    assert question_line(NOTES, given) == "**Question.** How does one replica serve chat?\n"


def test_replaced_tenants_mark_the_question_as_the_experiments():
    # what the command line turns `tenants={svc: ...}` into: a deletion, then the new map
    given = ["~tenants.chat", "tenants={svc: {model: qwen3-32b, arrival: {rate_rps: 3}}}",
             "horizon_s=60"]
    assert changed_keys(given) == (["tenants.svc.model", "tenants.svc.arrival.rate_rps"],
                                   ["tenants.chat"])
    line = question_line(NOTES, given)
    assert line.startswith("**The experiment's question**, written for its own settings "
                           "(this run removes `tenants.chat` and sets `tenants.svc.model`, "
                           "`tenants.svc.arrival.rate_rps`, so it may not describe this run")
    assert line.endswith(": How does one replica serve chat?\n") and "**Question.**" not in line


def test_many_keys_are_counted_and_a_given_question_is_the_users():
    given = [f"+catalog.gpus.H100.k{i}=1" for i in range(SHOWN + 3)]
    line = question_line(NOTES, given)
    assert f"`catalog.gpus.H100.k{SHOWN - 1}` and 3 more," in line and f"k{SHOWN}`" not in line
    mine = {"question": "Does qwen serve 3 req/s?"}
    assert question_line(mine, ["notes.question='Does qwen serve 3 req/s?'", "tenants.chat.model=x"]) \
        == "**Question.** Does qwen serve 3 req/s?\n"
    assert question_line({}, given) is None


def test_run_report_reads_the_running_jobs_overrides():
    cfg = sim.compose(["horizon_s=10"])
    res = Result(summary=pd.DataFrame([{"setup": "dedicated", "tenant": ALL, "requests": 1}]),
                 requests=pd.DataFrame())
    token = GIVEN.set(("deployments.llama31-8b.gpu=A100",))
    try:
        text = run_report(res, cfg)
    finally:
        GIVEN.reset(token)
    assert "(this run sets `deployments.llama31-8b.gpu`, so" in text
    assert "**Question.**" in run_report(res, cfg)  # no overrides: the experiment's own run


def test_a_run_with_replaced_tenants_writes_it(tmp_path):
    sim.run(["tenants={svc: {model: llama31-8b, arrival: {kind: poisson, rate_rps: 1}}}",
             "horizon_s=5", "output.plots=false", "output.parquet=false"], output_dir=tmp_path)
    head = (tmp_path / "report.md").read_text().splitlines()[2]
    assert head.startswith("**The experiment's question**") and "`tenants.svc.model`" in head
    assert OmegaConf.load(tmp_path / "config.yaml").tenants.keys() == {"svc"}


def test_a_sweeps_summary_says_its_jobs_question():
    from types import SimpleNamespace

    from sim.report.question import report_question
    from sim.report.sweep import sweep_markdown

    job = question_line(NOTES, ["~tenants.chat", "tenants.svc.model=qwen3-32b"])
    line = report_question(f"# servesim run: x\n\n{job}\nJob `simulate` ...\n")
    assert line == ("**The experiment's question**, written for its own settings (its jobs "
                    "remove `tenants.chat` and set `tenants.svc.model`, so it may not describe "
                    "them; `notes.question=...` asks your own): How does one replica serve chat?\n")
    assert report_question("# servesim run: x\n\nJob `simulate`\n") is None
    sj = SimpleNamespace(notes=NOTES, jobs=pd.DataFrame({"state": ["done"]}), varying=[],
                         constant={}, table=pd.DataFrame(), run_notes={}, question=line)
    assert sweep_markdown(sj).split("\n\n")[1] + "\n" == line
    sj.question = None  # no job report (output.report=false): the experiment's notes
    assert sweep_markdown(sj).split("\n\n")[1] == "**Question.** How does one replica serve chat?"


def test_a_sweep_x_label_written_for_the_experiments_setup_is_not_put_on_another(tmp_path, monkeypatch):
    """sweep_replicas labels its axis "... (1 H100 each)": a sweep over H200s drew it so."""
    from types import SimpleNamespace

    from sim.report import sweep
    from sim.report.sweep import axis_label, sweep_figures
    from tests.helpers.figures import capture_figures

    x = "dedicated.replicas.llama31-8b"
    notes = {"question": "How many replicas?", "sweep_x": x, "x_label": "replicas (1 H100 each)"}
    assert axis_label(x, notes) == "replicas (1 H100 each)"
    assert axis_label(x, notes, own=False) == x
    assert axis_label("seed", notes) == "seed"  # the label is of sweep_x only
    table = pd.DataFrame({"job": ["0", "1"], x: [1, 2], "setup": "dedicated", "tenant": ALL,
                          "ttft_p99_s": [0.5, 0.2], "cost_per_mtok_out_usd": [0.1, 0.2]})
    kept = capture_figures(monkeypatch, sweep)
    marked = question_line(notes, ["deployments.llama31-8b.gpu=H200"])
    for question, want in ((marked, x), ("**Question.** How many replicas?\n", notes["x_label"])):
        sj = SimpleNamespace(notes=notes, table=table, varying=[x], paired=[], question=question)
        sweep_figures(sj, tmp_path)
        assert {f.axes[0].get_xlabel().split(",")[0] for f in kept.values()} == {want}


def test_a_sweep_x_held_at_one_value_gives_way_to_the_swept_key():
    """`-m experiment=sweep_replicas tenants.chat.arrival.rate_rps=20,40
    dedicated.replicas.llama31-8b=2` drew both points at x = 2 replicas."""
    from types import SimpleNamespace

    from sim.report.sweep import x_key

    x, load = "dedicated.replicas.llama31-8b", "tenants.chat.arrival.rate_rps"
    table = pd.DataFrame({x: [2, 2], load: [20.0, 40.0]})
    sj = SimpleNamespace(notes={"sweep_x": x}, table=table, varying=[load], paired=[])
    assert x_key(sj) == load
    sj.varying = [load, x]
    assert x_key(sj.__class__(**{**vars(sj), "table": table.assign(**{x: [1, 2]})})) == x
    sj.varying = []  # one job: its own axis, one point
    assert x_key(sj) == x


def test_a_replicated_run_names_its_seeds():
    """With replications=3 the summary is the mean of seeds 4..6: the report said "seed 4"."""
    res = Result(summary=pd.DataFrame([{"setup": "dedicated", "tenant": ALL, "requests": 1}]),
                 requests=pd.DataFrame())
    text = run_report(res, sim.compose(["seed=4", "replications=3"]))
    assert "Job `simulate`, seeds 4..6 (3 replications), horizon 600 s" in text
    assert "Job `simulate`, seed 4, horizon" in run_report(res, sim.compose(["seed=4"]))
