"""Messages of config group options and empty maps (the twenty-first sweep's API findings):
each names the override or file:line the user wrote, and its hint works when followed."""

import re

import pytest

import sim

BASE = ("# @package _global_\ndefaults: [default, _self_]\nhorizon_s: 7\n"
        "tenants:\n  chat: {model: llama31-8b, arrival: {kind: poisson, rate_rps: 1.0}}\n")


def _folder(tmp_path, files: dict):
    (tmp_path / "experiment").mkdir(exist_ok=True)
    for name, text in files.items():
        (tmp_path / "experiment" / name).write_text(text)
    return f"hydra.searchpath=[file://{tmp_path}]"


@pytest.mark.parametrize("override, key", [("experiment=${oc.env:SERVESIM_NO_SUCH_VAR}", "experiment"),
                                           ("catalog=${nope}", "catalog")])
def test_an_options_interpolation_that_fails_names_its_override(override, key, monkeypatch):
    """Named Hydra's placeholder, config key '_dummy_'."""
    monkeypatch.delenv("SERVESIM_NO_SUCH_VAR", raising=False)
    with pytest.raises(sim.InputError) as e:
        sim.compose([override])
    assert e.value.key == key and "_dummy_" not in str(e.value)
    assert override.split("=", 1)[1] in str(e.value)


@pytest.mark.parametrize("name", ["2026", "nan"])
def test_an_option_read_as_a_number_is_hinted_quoted_and_the_hint_runs(tmp_path, name):
    """experiment=2026 said it must name an option of a folder holding 2026.yaml."""
    path = _folder(tmp_path, {f"{name}.yaml": BASE})
    with pytest.raises(sim.InputError) as e:
        sim.compose([path, f"experiment={name}"])
    hint = re.search(r"experiment='[^']+'", str(e.value)).group(0)
    assert hint == f"experiment='{name}'"
    assert sim.compose([path, hint]).horizon_s == 7  # the file's own value: it was chosen


@pytest.mark.parametrize("key, entry", [("tenants.chat.arrival", None), ("output", None),
                                        ("dedicated.replicas", "llama31-8b")])
def test_an_empty_maps_hint_is_one_the_run_takes(key, entry):
    """tenants.chat.arrival={} hinted ~tenants.chat.arrival.<name>, a deletion refused for
    a key of the schema."""
    with pytest.raises(sim.InputError) as e:
        sim.compose(["experiment=hybrid", f"{key}={{}}"])
    hint = re.search(r"\((remove an entry with|set one of its keys with) (\S+)\)", str(e.value))
    assert hint, str(e.value)
    if entry is None:  # a key of the schema: a key of it is set, never deleted
        assert hint.group(2) == f"{key}.<key>=value"
        field = "kind" if key.endswith("arrival") else "plots"
        with pytest.raises(sim.InputError):
            sim.compose(["experiment=hybrid", f"~{key}.{field}"])
    else:  # a map the user extends: its entries are removed, as hinted
        assert hint.group(2) == f"~{key}.<name>"
        cfg = sim.compose(["experiment=hybrid", hint.group(2).replace("<name>", entry)])
        assert entry not in cfg.dedicated.replicas


def test_an_empty_map_in_an_experiment_file_is_refused_as_on_the_command_line(tmp_path):
    """tenants: {} ran the tenants the file builds on, unsaid; the command line refuses {}."""
    path = _folder(tmp_path, {"e.yaml": BASE.replace("horizon_s: 7\n", "horizon_s: 7\noutput: {}\n"),
                              "ok.yaml": BASE + "  other: {}\n"})
    with pytest.raises(sim.InputError) as e:
        sim.compose([path, "experiment=e"])
    assert str(e.value).startswith(f"{tmp_path / 'experiment' / 'e.yaml'}:4: output: an empty map")
    with pytest.raises(sim.InputError, match="changes nothing"):
        sim.compose(["output={}"])
    # an entry of a map the user extends may be new: a tenant of defaults, not refused here
    assert "other" in sim.compose([path, "experiment=ok"]).tenants


@pytest.mark.parametrize("key", ["keepalive.fixed_idle_s", "setups"])
def test_an_empty_map_for_a_list_key_hints_no_map_form(key):
    """A list: neither a deletion (~key.<name>) nor key.<key>=value works on it."""
    with pytest.raises(sim.InputError) as e:
        sim.compose(["experiment=keepalive", f"{key}={{}}"])
    assert "~" not in str(e.value) and "<key>" not in str(e.value)
    assert "a list is given in brackets" in str(e.value)


@pytest.mark.parametrize("override", ["+experiment=2026", "+experiment=true"])
def test_an_added_group_option_read_as_a_number_or_boolean_is_one_line(override):
    """The ``+`` spelling reached Hydra's ValueError, a traceback (the plain one was said)."""
    with pytest.raises(sim.InputError) as e:
        sim.compose([override])
    assert e.value.key == "experiment" and "which Hydra reads as a" in str(e.value)


def test_a_range_of_group_options_is_one_line():
    """``-m experiment=range(1,3)`` ended in Hydra's ValueError traceback."""
    from sim.config.overrides import check_keys

    with pytest.raises(sim.InputError) as e:
        check_keys(["experiment=range(1,3)"], ())
    assert e.value.key == "experiment" and "a range of numbers" in str(e.value)
