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


def test_a_merge_list_naming_one_node_twice_over_is_read_once(tmp_path):
    """b merges a, and c merges a and b: both give c a's very arrival, nothing is ambiguous
    (refused as "mappings 1 and 2" by the first version of the check)."""
    text = BASE.replace("  b: &b {model: llama31-8b, arrival: {kind: gamma, rate_rps: 5.0, cv: 2}}\n",
                        "  b: &b {<<: *a, slo_ttft_s: 3}\n") + "  c: {<<: [*a, *b]}\n"
    c = _compose(tmp_path, text).tenants.c
    assert (str(c.arrival.kind), c.arrival.rate_rps, c.slo_ttft_s) == ("poisson", 1.0, 3)


def test_a_chain_of_merge_lists_is_read_once_a_node(tmp_path, monkeypatch):
    """a_i merges [a_(i-1), a_(i-1)]: the first version of the check walked 2^26 nodes for
    26 such lines (50 s; each line more doubled it). Each node's keys are read once now."""
    from sim.config import yaml_guard

    calls = []
    keys = yaml_guard._keys
    monkeypatch.setattr(yaml_guard, "_keys", lambda node, memo: calls.append(1) or keys(node, memo))
    lines = ["# @package _global_", "defaults: [default, _self_]", "notes:", "  a0: &a0 {k: 1}"]
    lines += [f"  a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}" for i in range(1, 27)]
    with pytest.raises(sim.InputError):  # its 27 levels of merged maps
        _compose(tmp_path, "\n".join(lines) + "\n")
    assert len(calls) < 27 * 27 * 2


def test_two_merge_keys_in_one_mapping_are_refused(tmp_path):
    """PyYAML keeps the last ``<<`` of a mapping (any other key twice is refused): c ran b's
    gamma arrival, a's dropped unsaid."""
    with pytest.raises(sim.InputError) as e:
        _compose(tmp_path, BASE + "  c: {<<: *a, <<: *b}\n")
    assert ":6: a second merge key (<<)" in str(e.value)


def test_an_empty_map_in_a_long_experiment_file_is_refused_too(tmp_path):
    """Past about 4 KB PyYAML had dropped the file's header (# @package _global_) from what
    the check read, and tenants: {} composed the default's tenants, unsaid."""
    text = ("# @package _global_\n# " + "x" * 4200 + "\ndefaults: [default, _self_]\n"
            "horizon_s: 60\ntenants: {}\n")
    with pytest.raises(sim.InputError) as e:
        _compose(tmp_path, text)
    assert ":5: tenants: an empty map {} changes nothing" in str(e.value)
