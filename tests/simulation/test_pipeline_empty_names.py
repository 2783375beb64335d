"""A stage or a pipeline named "": the tables label the requests outside a pipeline with "",
so the run's stage and pipeline columns had that label twice and the run ended in pandas'
"Categorical categories must be unique" (exit 1, a traceback, no tables) until December
2026. Now refused when the config is checked: one line naming the key, exit 2. (Hydra's
override grammar cannot write an empty key: the configs are files.)"""

import pytest
from helpers.cli import assert_one_clear_line, run_main

STAGE = """# @package _global_
defaults:
  - compound
  - _self_
job: simulate
horizon_s: 5
pipelines:
  rag:
    stages:
      "": {kind: tool, after: [answer], latency: {kind: fixed, mean_s: 0.5}}
"""

PIPELINE = """# @package _global_
defaults:
  - compound
  - _self_
job: simulate
horizon_s: 5
tenants:
  chat:
    pipeline: ""
pipelines:
  "":
    stages:
      a: {kind: tool, latency: {kind: fixed, mean_s: 0.5}}
compound:
  pipeline: ""
"""


@pytest.mark.parametrize("text, key, what", [
    (STAGE, "pipelines.rag.stages", "a stage name may not be empty"),
    (PIPELINE, "tenants.chat.pipeline", "a pipeline name may not be empty"),
])
@pytest.mark.parametrize("job", ["simulate", "compound"])
def test_an_empty_name_is_refused_naming_its_key(text, key, what, job, tmp_path, monkeypatch,
                                                 capsys):
    conf = tmp_path / "conf" / "experiment"
    conf.mkdir(parents=True)
    (conf / "empty.yaml").write_text(text.replace("job: simulate", f"job: {job}"))
    setups = ["setups=[dedicated]"] if job == "simulate" else []  # compound: its own
    status, err = run_main(["--config-dir", str(tmp_path / "conf"), "experiment=empty", *setups],
                           tmp_path, monkeypatch, capsys)
    assert_one_clear_line(status, err, f"'{key}': {what}")
