"""No hidden tenants: an experiment's tenants and deployments are exactly the ones its file
names (each field either from the file or the schema's default, never from another file);
``tenants={...}`` replaces, ``tenants.<t>={...}`` adds, and a new catalog entry given field
by field fails with one line naming the form that works.

The expected values are read from the YAML files with PyYAML, not through Hydra.
"""

from __future__ import annotations

import os

import pytest
import yaml
from helpers import ROOT
from helpers.cli import assert_one_clear_line, cli, run_main
from omegaconf import OmegaConf

import sim
from sim.config import DeploymentConfig, TenantConfig
from sim.errors import InputError

EXPERIMENTS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))


def _file(name: str) -> dict:
    """The experiment's YAML; one that lists other experiments in its ``defaults`` (e.g.
    ``plan`` builds on ``hybrid``) gets their tenants and deployments first, its own on top."""
    raw = yaml.safe_load((ROOT / "conf" / "experiment" / f"{name}.yaml").read_text()) or {}
    out: dict = {}
    for base in raw.get("defaults", []):
        if isinstance(base, str) and base != "_self_":
            inherited = _file(base)
            for key in ("tenants", "deployments"):
                out.setdefault(key, {}).update(inherited.get(key) or {})
    for key in ("tenants", "deployments"):
        if key in out or key in raw:
            raw = {**raw, key: {**out.get(key, {}), **(raw.get(key) or {})}}
    return raw


def _expected(schema, raw: dict) -> dict:
    """The schema's defaults with the file's values on top, resolved."""
    return OmegaConf.to_container(OmegaConf.merge(OmegaConf.structured(schema), raw), resolve=True)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_an_experiment_runs_exactly_the_tenants_and_deployments_its_file_names(name):
    raw = _file(name)
    cfg = sim.compose([f"experiment={name}"])
    for key, schema in (("tenants", TenantConfig), ("deployments", DeploymentConfig)):
        want = raw.get(key) or {}
        assert list(cfg[key]) == list(want), (name, key)
        for entry, fields in want.items():
            got = OmegaConf.to_container(cfg[key][entry], resolve=True)
            assert got == _expected(schema, fields), (name, key, entry)


def test_the_base_config_holds_no_tenants_and_the_default_run_has_one():
    base = yaml.safe_load((ROOT / "conf" / "config.yaml").read_text())
    assert "tenants" not in base and "deployments" not in base
    cfg = sim.compose([])
    assert list(cfg.tenants) == ["chat"] and cfg.tenants.chat.model == "llama31-8b"
    assert cfg.tenants.chat.arrival.rate_rps == 4.0
    assert sim.compose(["tenants.chat.arrival.rate_rps=8"]).tenants.chat.arrival.rate_rps == 8.0


@pytest.mark.parametrize("experiment", [[], ["experiment=hybrid"]])
def test_a_whole_tenants_map_replaces_the_experiments_tenants(experiment):
    cfg = sim.compose([*experiment, "tenants={x: {model: qwen3-32b, arrival: {rate_rps: 2}}}"])
    assert list(cfg.tenants) == ["x"]
    x = cfg.tenants.x
    assert OmegaConf.get_type(x) is TenantConfig  # still typed: defaults filled in
    assert (x.model, x.arrival.rate_rps, x.slo_ttft_s) == ("qwen3-32b", 2.0, TenantConfig.slo_ttft_s)


def test_a_replaced_tenant_is_still_checked_by_the_schema():
    with pytest.raises(InputError, match=r"tenants\.x\.modle"):
        sim.run(["tenants={x: {modle: qwen3-32b}}"])


def test_a_dotted_map_entry_adds_and_updates():
    cfg = sim.compose(["tenants.x={model: qwen3-32b}", "tenants.chat={arrival: {rate_rps: 8}}"])
    assert list(cfg.tenants) == ["chat", "x"]
    assert cfg.tenants.chat.arrival.rate_rps == 8.0 and cfg.tenants.chat.model == "llama31-8b"
    cfg = sim.compose(["catalog.models.tiny={layers: 2}", "catalog.models.tiny.hidden=512"])
    assert (cfg.catalog.models.tiny.layers, cfg.catalog.models.tiny.hidden) == (2, 512)


def test_a_new_catalog_model_given_field_by_field_fails_naming_the_map_form(tmp_path, monkeypatch,
                                                                           capsys):
    status, err = run_main(["catalog.models.tiny.layers=2"], tmp_path, monkeypatch, capsys)
    assert_one_clear_line(status, err, "catalog.models.tiny={layers: 2}")


def test_cfg_job_shows_the_replacing_tenants(tmp_path):
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    p = cli("--cfg", "job", "experiment=hybrid", "tenants={x: {model: qwen3-32b}}", cwd=tmp_path,
            env=env)
    assert p.returncode == 0, p.stderr
    assert list(yaml.safe_load(p.stdout)["tenants"]) == ["x"]


def _table_row(key: str) -> str:
    """The meaning of README's Configuration-table row whose first key is ``key``."""
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("\n## Configuration", 1)[1].split("\n## Experiments", 1)[0]
    rows = [m.group(1) for m in re.finditer(rf"^\| `{re.escape(key)}`[^|]* \| (.*) \|$", table, re.M)]
    assert len(rows) == 1, key
    return rows[0]


@pytest.mark.parametrize("key,cls", [("cold_start", "ColdStartConfig"), ("output", "OutputConfig"),
                                     ("deployments.<model>", "DeploymentConfig")])
def test_the_configuration_table_names_every_field_and_choice(key, cls):
    """README's sweep (December 2026): ``cold_start.loader`` (optimized | stock: a stock loader
    waits 42.65 s p99 for a cold start where the optimized one waits 27.07 s), precision and
    kv_dtype ``fp16`` and ``output.resume`` were accepted by the schema and named nowhere in
    the table. Every field of the section, and every choice of an enum field, is named in
    its row."""
    import dataclasses
    import enum
    import re
    import typing

    import sim.config as config
    import sim.config.serverless as serverless

    klass = getattr(config, cls, None) or getattr(serverless, cls)
    row, hints = _table_row(key), typing.get_type_hints(klass)
    missing = [f.name for f in dataclasses.fields(klass) if not re.search(rf"\b{f.name}\b", row)]
    missing += [f"{f.name}: {v.value}" for f in dataclasses.fields(klass)
                if isinstance(hints[f.name], type) and issubclass(hints[f.name], enum.Enum)
                for v in hints[f.name] if not re.search(rf"\b{v.value}\b", row)]
    assert missing == []


def test_the_table_says_where_a_batch_deadlines_default_comes_from():
    # --cfg job prints deadline_s: null; the 24 h is the code's BATCH_DEADLINE_S
    from sim.config.workload import BATCH_DEADLINE_S

    assert BATCH_DEADLINE_S == 24 * 3600
    row = _table_row("tenants.<t>.priority")
    assert "default 24 h" in row and "BATCH_DEADLINE_S" in row and "null" in row
