"""The prefix cache's bookkeeping recounted from its trie (:meth:`KvCache.check
<sim.engine.kv.KvCache.check>`, for tests)."""

from __future__ import annotations


def check(kv) -> None:
    """Recount ``kv`` (a :class:`~sim.engine.kv.KvCache`) from its trie; raise AssertionError
    on any disagreement."""
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
    assert cached == kv.cached, (cached, kv.cached)
    assert unpinned == kv.unpinned, (unpinned, kv.unpinned)
    assert host == kv.host_used, (host, kv.host_used)
    assert kv.cached + kv.private <= kv.cap, "over capacity"
    assert kv.host_used <= max(kv.host_cap, 0)
