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

import re

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


def check_node(root, loader=None) -> None:
    """Refuse a composed YAML document whose values, aliases expanded, outnumber its own
    nodes by more than MAX_ALIAS_VALUES, or that nests deeper than MAX_DEPTH, or that holds
    one of YAML 1.1's silent readings (``_check_yaml11``)."""
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
        _check_yaml11(node, loader)
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


_STR, _MERGE = "tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"
_OCTAL = re.compile(r"[-+]?0[0-7_]+")


def _value(node, loader):
    return loader.construct_object(node) if loader is not None else node.value


def _reading(node, loader) -> str:
    value = _value(node, loader)
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return "null" if value is None else f"the number {value!r}"


def _check_yaml11(node, loader) -> None:
    """YAML 1.1 (PyYAML, so OmegaConf and Hydra) reads some plain words and numbers otherwise
    than they look, which went unsaid (twentieth sweep): a key ``no``, ``on``, ``null``,
    ``1e3`` or ``1:30`` became false, true, null or a number (a tenant ``no`` was refused as
    ``tenants.False``); ``010`` is octal 8 (``drain_s: 010`` ran 8 s); ``1:30`` is base 60
    (``seed: 1:30`` ran seed 90). Each is refused at its line. Hex (``0x10``), ``1_000``,
    ``1e3`` and ``yes``/``off`` as values read as they look to most and pass; a word read
    as a boolean where text goes is refused by the text key itself (``_strict_text``)."""
    if isinstance(node, yaml.MappingNode):
        merges = 0
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag == _MERGE:
                merges += 1
                if merges > 1:  # PyYAML keeps the last, unsaid (a duplicate of any other key
                    # is refused as one): until December 2026 {<<: *a, <<: *b} ran b's arrival
                    raise RefusedYAML("a second merge key (<<) in one mapping: PyYAML keeps the "
                                      "last one's keys; give one merge list (<<: [*a, *b])",
                                      key.start_mark)
                _check_merge_list(key, value)
            if isinstance(key, yaml.ScalarNode) and key.tag in (_STR, _MERGE):
                continue
            if not isinstance(key, yaml.ScalarNode):
                raise RefusedYAML("a key must be text, got a list or map", key.start_mark)
            raise RefusedYAML(f"the key {key.value!r} is read by YAML 1.1 as "
                              f"{_reading(key, loader)}, not as text: quote it "
                              f"('{key.value}')", key.start_mark)
    if not isinstance(node, yaml.ScalarNode) or node.style is not None:
        return
    text = node.value
    if node.tag.endswith((":int", ":float")) and ":" in text:
        raise RefusedYAML(f"{text!r} is read by YAML 1.1 as a base-60 number "
                          f"({_value(node, loader)!r}): write the number itself, or "
                          "quote it for text", node.start_mark)
    if node.tag.endswith(":int") and _OCTAL.fullmatch(text):
        digits = text.replace("_", "").lstrip("+-")
        if int(digits, 8) != int(digits, 10):
            raise RefusedYAML(f"{text!r} is read by YAML 1.1 as an octal number "
                              f"({_value(node, loader)!r}): write it without the "
                              "leading 0, or quote it for text", node.start_mark)


def _keys(node, memo: dict) -> dict:
    """The keys a mapping node sets, those it merges in (``<<``) included, each with the node
    of its value (a key set beside ``<<`` over a merged one, the first merged over later
    ones). ``memo``: each node's keys once by its id (without it a chain of merge lists of
    the mapping before, ``a1: {<<: [*a0, *a0]}`` ... ``a26``, took 50 s, doubling a line)."""
    got = memo.get(id(node))
    if got is not None:
        return got
    out: dict = {}
    memo[id(node)] = out  # before its merges are read: an alias of itself reads as empty
    pairs = node.value if isinstance(node, yaml.MappingNode) else ()
    for key, value in pairs:
        if isinstance(key, yaml.ScalarNode) and key.tag == _MERGE:
            for m in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                for k, v in _keys(m, memo).items():
                    out.setdefault(k, v)
    for key, value in pairs:
        if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE:
            out[key.value] = value
    return out


def _check_merge_list(key, value) -> None:
    """``<<: [*a, *b]`` with a key both mappings set to different values: YAML's merge rule
    takes the first mapping's value; PyYAML 6.0 as installed gives it for ``{k: 1}`` and
    ``{k: 2}`` but took the last one's where both hold a nested map (``arrival: {kind: gamma
    ...}`` of ``*b`` where the spec gives ``*a``'s poisson), unsaid (twenty-first sweep):
    refused at the merge key's line. Merge lists of distinct keys, or of one key holding the
    very same node (``*b`` itself merging ``*a``), read the same either way and pass."""
    if not isinstance(value, yaml.SequenceNode):
        return
    seen: dict = {}
    memo: dict = {}
    for i, m in enumerate(value.value):
        for k, v in sorted(_keys(m, memo).items(), key=lambda kv: kv[0]):
            if k in seen and seen[k][1] is not v:
                raise RefusedYAML(
                    f"the merge list (<<: [...]) has the key {k!r} in its mappings "
                    f"{seen[k][0] + 1} and {i + 1}: YAML's rule gives the first mapping's "
                    "value, PyYAML can give the last one's; merge one of them, or set the key beside "
                    "<< (a key set beside it wins over merged ones)", key.start_mark)
            seen.setdefault(k, (i, v))


_GLOBAL = re.compile(r"^#\s*@package\s+_global_\s*$", re.M)


def _head(text: str) -> str:
    """The comment lines a file starts with (where Hydra reads ``# @package``)."""
    lines = []
    for line in text.removeprefix("\ufeff").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
        lines.append(line.strip())
    return "\n".join(lines)


def _check_empty_maps(root) -> None:
    """An empty map ``{}`` in an experiment file (``# @package _global_``) merges into the
    config before it and changes nothing: ``tenants: {}`` ran the tenants the file builds
    on, unsaid, where the command line refuses the same ``{}`` (sim/config/overrides.py).
    Refused at its line; an entry of a map the user extends (``tenants: {x: {}}``, a tenant
    of defaults when new) and Hydra's own keys pass."""
    from sim.config.open_dicts import OPEN_DICTS

    stack = [(root, "")]
    while stack:
        node, path = stack.pop()
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE:
                continue
            p = f"{path}.{key.value}" if path else key.value
            if p in ("hydra", "defaults") or path in OPEN_DICTS:
                continue
            if isinstance(value, yaml.MappingNode) and not value.value:
                raise RefusedYAML(f"{p}: an empty map {{}} changes nothing (a file's map merges "
                                  "into the config before it): give the keys to set, or remove "
                                  "the line", value.start_mark)
            if isinstance(value, yaml.MappingNode):
                stack.append((value, p))


def _guarded(make_loader):
    def get_yaml_loader():
        base = make_loader()

        class GuardedLoader(base):
            def __init__(self, stream):
                super().__init__(stream)
                # the file's first chunk, where Hydra reads its header (# @package): PyYAML
                # keeps only the last part of a file stream's text by the time it is composed,
                # so a file over about 4 KB lost its header and its {} went unchecked
                self.head_text = _head(self.buffer) if isinstance(self.buffer, str) else ""

            def get_single_node(self):
                try:
                    node = super().get_single_node()
                except RecursionError:
                    raise RefusedYAML(f"nested more than {MAX_DEPTH} levels deep",
                                      self.get_mark()) from None
                if node is not None:
                    check_node(node, self)
                    if _GLOBAL.search(self.head_text):
                        _check_empty_maps(node)
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


def _strict_text(convert):
    def _validate_and_convert_impl(self, value):
        if isinstance(value, bool):
            raise _nodes.ValidationError(f"must be text, got the boolean {str(value).lower()} "
                                         "(YAML 1.1 reads an unquoted yes, no, on, off, y or "
                                         "n as one): quote it")  # was 'True' or 'False'
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
    if not getattr(_nodes.StringNode._validate_and_convert_impl, "guarded", False):
        _nodes.StringNode._validate_and_convert_impl = _strict_text(
            _nodes.StringNode._validate_and_convert_impl)
    if not getattr(_utils.get_yaml_loader, "guarded", False):
        _utils.get_yaml_loader = _guarded(_utils.get_yaml_loader)
    if not getattr(ConfigSource._get_header_dict, "guarded", False):
        ConfigSource._get_header_dict = _header_after_bom(ConfigSource._get_header_dict)
