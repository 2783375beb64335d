"""YAML merge lists (``<<: [*a, *b]``): the spec's first-wins order against PyYAML's."""

import pytest

import sim

BASE = ("# @package _global_\ndefaults: [default, _self_]\ntenants:\n"
        "  a: &a {model: llama31-8b, arrival: {kind: poisson, rate_rps: 1.0}}\n"
        "  b: &b {model: llama31-8b, arrival: {kind: gamma, rate_rps: 5.0, cv: 2}}\n")


def _compose(tmp_path, text):
    (tmp_path / "experiment").mkdir(exist_ok=True)
    (tmp_path / "experiment" / "m.yaml").write_text(text)
    return sim.compose([f"hydra.searchpath=[file://{tmp_path}]", "experiment=m"])


def test_a_merge_list_whose_mappings_share_a_key_is_refused_at_its_line(tmp_path):
    """The spec gives c a's poisson 1 req/s; the run took b's gamma, unsaid."""
    with pytest.raises(sim.InputError) as e:
        _compose(tmp_path, BASE + "  c: {<<: [*a, *b]}\n")  # line 6 of the file
    assert str(e.value).startswith(f"{tmp_path / 'experiment' / 'm.yaml'}:6: ")
    assert "'arrival'" in str(e.value) and "mappings 1 and 2" in str(e.value)


def test_a_merge_list_of_distinct_keys_reads_as_both(tmp_path):
    text = BASE + ("  x: &x {model: llama31-8b}\n  y: &y {arrival: {kind: poisson, rate_rps: 3.0}}\n"
                   "  c: {<<: [*x, *y], slo_ttft_s: 2.5}\n")
    c = _compose(tmp_path, text).tenants.c
    assert (c.model, str(c.arrival.kind), c.arrival.rate_rps, c.slo_ttft_s) == (
        "llama31-8b", "poisson", 3.0, 2.5)
