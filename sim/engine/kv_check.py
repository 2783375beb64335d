"""The prefix cache's bookkeeping recounted from its trie (:meth:`KvCache.check
<sim.engine.kv.KvCache.check>`, for tests)."""

from __future__ import annotations


def check(kv, holders=None) -> None:
    """Recount ``kv`` (a :class:`~sim.engine.kv.KvCache`) from its trie; raise AssertionError
    on any disagreement. With ``holders`` (every request holding memory in ``kv``; none at
    the end of a run), also recount each node's pins from their paths: every path must
    reach the root (no pinned node detached) and its pins must be all the node has."""
    cached = unpinned = host = 0
    stack = [kv.root]
    while stack:
        n = stack.pop()
        kids = 0
        for c in n.children.values():
            assert c.parent is n
            assert c.refs <= n.refs or n is kv.root, "pins must be monotone along a path"
            kids += not c.host
            stack.append(c)
        assert kids == n.gpu_kids, "gpu_kids"
        if n is kv.root:
            continue
        if n.host:
            host += n.length
            assert n.refs == 0
        else:
            cached += n.length
            unpinned += n.length if n.refs == 0 else 0
    assert kv.anon == sum(t for _, t in kv._anon) and all(t > 0 for _, t in kv._anon)
    assert kv.host_anon == sum(t for _, t in kv._host_anon) and all(t > 0 for _, t in kv._host_anon)
    stamps = [s for s, _ in kv._anon]
    assert stamps == sorted(stamps), "anonymous entries in release order"
    assert cached + kv.anon == kv.cached, (cached, kv.anon, kv.cached)
    assert unpinned + kv.anon == kv.unpinned, (unpinned, kv.anon, kv.unpinned)
    assert host + kv.host_anon == kv.host_used, (host, kv.host_anon, kv.host_used)
    assert kv.cached + kv.private <= kv.cap, "over capacity"
    assert kv.host_used <= max(kv.host_cap, 0)
    if holders is not None:
        _check_pins(kv, holders)


def _check_pins(kv, holders) -> None:
    refs: dict = {}
    private = 0
    for r in holders:
        private += r.kv_priv
        n, depth = r.kv_node, 0
        while n is not None and n is not kv.root:
            refs[id(n)] = refs.get(id(n), 0) + 1
            n = n.parent
            depth += 1
        assert n is kv.root or r.kv_node is None, f"request {r.id} pins a detached node"
        assert depth == (r.kv_depth if r.kv_node is not None else 0), "kv_depth"
    assert private == kv.private, (private, kv.private)
    stack = list(kv.root.children.values())
    while stack:
        n = stack.pop()
        assert n.refs == refs.pop(id(n), 0), "pins out of balance"
        stack.extend(n.children.values())
    assert not refs, "pinned nodes outside the trie"
