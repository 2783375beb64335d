"""A new entry of a typed map given the way Hydra cannot type it: the message names the
entry by its full path and a form that composes, whatever the spacing inside the braces
(``{kind:tool}`` and ``{kind: tool}`` parse to the same map; the message came from a regex
on Hydra's line, which only matched a value without spaces)."""

import re

import pytest

import sim  # noqa: F401 - registers the schema
from sim.config import compose
from sim.config.messages import from_config_error
from sim.errors import InputError

BASE = ["experiment=compound"]


def _error(override: str) -> InputError:
    with pytest.raises(Exception) as e:
        compose([*BASE, override])
    err = e.value if isinstance(e.value, InputError) else from_config_error(e.value)
    assert err is not None, e.value
    return err


def _suggested(msg: str) -> str:
    """The override the message says to write (the text after the last 'write ' or ': ')."""
    m = re.search(r"(?:write |in braces \(with every field it needs\): )(\S+=\{.*\})$", msg)
    assert m, msg
    return m.group(1)


@pytest.mark.parametrize("tight,spaced,path", [
    ("+pipelines.rag.stages.extra={kind:tool,after:[answer]}",
     "+pipelines.rag.stages.extra={kind: tool, after: [answer]}", "pipelines.rag.stages.extra"),
    ("pipelines.rag.stages.extra={kind:tool,after:[answer]}",
     "pipelines.rag.stages.extra={kind: tool, after: [answer]}", "pipelines.rag.stages.extra"),
    ("+tenants.x={model:llama31-8b,pipeline:rag}", "+tenants.x={model: llama31-8b, pipeline: rag}",
     "tenants.x"),
])
def test_the_message_does_not_depend_on_spacing_and_its_form_composes(tight, spaced, path):
    a, b = _error(tight), _error(spaced)
    assert a.key == b.key == path
    assert "Invalid type assigned" not in str(a) or "through the map" in str(a)
    assert "does not exist yet" not in str(a)  # pipelines.rag and tenants exist
    assert "(override" not in str(a)
    for err, text in ((a, tight), (b, spaced)):
        form = _suggested(str(err))
        assert not form.startswith("+")
        cfg = compose([*BASE, form])  # the form the message names is taken
        node = cfg
        for part in path.split("."):
            node = node[part]
        assert node is not None


def test_a_field_of_a_missing_entry_names_that_entry_not_its_existing_parent():
    """pipelines.rag exists; its stage 'extra' does not: the message said 'pipelines.rag does
    not exist yet'."""
    err = _error("pipelines.rag.stages.extra.kind=tool")
    assert "pipelines.rag.stages.extra does not exist yet" in str(err)
    assert "pipelines.rag does not exist" not in str(err)
    assert _suggested(str(err)) == "pipelines.rag.stages={extra: {kind: tool}}"


@pytest.mark.parametrize("override,path", [
    ("+tenants.x=5", "tenants.x"), ("tenants.x=abc", "tenants.x"),
    ("+pipelines.rag.stages.extra=3", "pipelines.rag.stages.extra"),
])
def test_a_scalar_for_a_new_entry_names_the_entry_by_its_full_path(override, path):
    """A number or text where a map entry goes: OmegaConf named the entry's last part alone
    ('x'), a key the user never typed."""
    assert _error(override).key == path
