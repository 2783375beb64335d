"""Bounds on the YAML of the config files Hydra reads (an experiment, a catalog on
``hydra.searchpath``), checked as each file is parsed, before OmegaConf copies it.

OmegaConf builds one node per value *after* YAML aliases are expanded, so a few lines of
nested anchors ("billion laughs": nine aliases of nine aliases ...) held a run for minutes
while memory filled; a file nested thousands of levels deep ended in a ``RecursionError``
traceback. Each is refused here as a :class:`RefusedYAML`, which the command line prints as
``file:line: ...``. And a file starting with a byte-order mark hid its ``# @package`` line
from Hydra (which put the whole file under the group's name and blamed a key): the header
is read after the mark, as every data reader of the project reads past one.
"""

from __future__ import annotations

import omegaconf._utils as _utils
import omegaconf.nodes as _nodes
import yaml
from hydra.plugins.config_source import ConfigSource

# assumptions: no config of this project comes near either (the platform benchmark's
# generated experiment at its largest, --models 32767, repeats one alias a model and passes;
# the deepest file under sim/conf nests 7 levels)
MAX_ALIAS_VALUES = 1_000_000  # values aliases may add beyond the file's own
MAX_DEPTH = 32  # levels of nesting (OmegaConf recursed past Python's limit at about 60)


class RefusedYAML(yaml.YAMLError):
    """A YAML file that parses but is refused (its size once expanded, its depth);
    ``problem`` and ``problem_mark`` like PyYAML's own errors."""

    def __init__(self, problem: str, mark):
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_node(root) -> None:
    """Refuse a composed YAML document whose values, aliases expanded, outnumber its own
    nodes by more than MAX_ALIAS_VALUES, or that nests deeper than MAX_DEPTH."""
    size: dict[int, int] = {}
    open_: set[int] = set()  # nodes being visited: an alias to one of them is a cycle
    own = 0
    stack = [(root, 1, False)]
    while stack:  # iterative post-order, each distinct node once (aliases share nodes)
        node, depth, done = stack.pop()
        if done:
            open_.discard(id(node))
            size[id(node)] = 1 + sum(size[id(c)] for c in _children(node))
            continue
        if id(node) in size:
            continue
        if depth > MAX_DEPTH:
            raise RefusedYAML(f"nested more than {MAX_DEPTH} levels deep", node.start_mark)
        own += 1
        size[id(node)] = 0
        open_.add(id(node))
        if isinstance(node, yaml.ScalarNode) and node.value == "???" and depth > 1:
            raise RefusedYAML("'???' (OmegaConf's missing value) leaves the key as the config "  # ran
                              "below had it, unsaid: give a value, or remove the line",  # unsaid
                              node.start_mark)
        if any(id(c) in open_ for c in _children(node)):  # a: &x [*x] (a RecursionError,
            raise RefusedYAML("an alias (*name) inside its own anchor's value: it would "  # in
                              "hold itself forever", node.start_mark)  # OmegaConf, 400 lines)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in _children(node) if id(c) not in size)
    total = size[id(root)]
    if total - own > MAX_ALIAS_VALUES:
        raise RefusedYAML(f"its aliases (*name) expand it to {total:,} values from {own:,} "
                          f"written (more than {MAX_ALIAS_VALUES:,} added; a 'billion laughs' "
                          "file?)", root.start_mark)


def _guarded(make_loader):
    def get_yaml_loader():
        base = make_loader()

        class GuardedLoader(base):
            def get_single_node(self):
                try:
                    node = super().get_single_node()
                except RecursionError:
                    raise RefusedYAML(f"nested more than {MAX_DEPTH} levels deep",
                                      self.get_mark()) from None
                if node is not None:
                    check_node(node)
                return node

        return GuardedLoader

    get_yaml_loader.guarded = True
    return get_yaml_loader


def _header_after_bom(read_header):
    def get_header_dict(config_text: str):
        return read_header(config_text.removeprefix("\ufeff"))

    get_header_dict.guarded = True
    return staticmethod(get_header_dict)


def _strict(convert):
    def _validate_and_convert_impl(self, value):
        if isinstance(value, int) and not isinstance(value, bool) and value not in (0, 1):
            raise _nodes.ValidationError("must be true or false, got the number $VALUE "
                                         "(OmegaConf would take any number but 0 as true)")
        return convert(self, value)

    _validate_and_convert_impl.guarded = True
    return _validate_and_convert_impl


def install() -> None:
    """Make OmegaConf (and so Hydra) parse config files with the guarded loader, and Hydra
    read a file's ``# @package`` header after a byte-order mark (PyYAML skips one already).
    And a boolean key take a number only as 0 or 1, wherever it is set: an experiment file
    (``prefix_caching: 2``), a map on the command line, a study's own key; OmegaConf took any
    other number as true, unsaid (a string of digits comes here as its number)."""
    if not getattr(_nodes.BooleanNode._validate_and_convert_impl, "guarded", False):
        _nodes.BooleanNode._validate_and_convert_impl = _strict(
            _nodes.BooleanNode._validate_and_convert_impl)
    if not getattr(_utils.get_yaml_loader, "guarded", False):
        _utils.get_yaml_loader = _guarded(_utils.get_yaml_loader)
    if not getattr(ConfigSource._get_header_dict, "guarded", False):
        ConfigSource._get_header_dict = _header_after_bom(ConfigSource._get_header_dict)
