"""A replica's KV memory: the prefix cache (a trie of prompt segments), the tokens running
sequences hold privately, eviction to an optional host tier. A plain class, no SimPy.

Memory is counted in tokens (``cap`` is the deployment's KV capacity). It holds

* **cached** tokens: trie nodes on the GPU. A node is a segment of a prompt (or of an
  answer) whose content is identified by its key given the nodes above it (the chain of
  keys is the content hash of vLLM's blocks, SGLang's radix tree). A node used by running
  sequences is *pinned* (``refs`` > 0) and stored once however many use it; a node no
  sequence uses stays cached in memory nobody needs, and is evicted, least recently used
  leaf first, when memory is needed (vLLM's free-block queue, SGLang's radix eviction);
* **private** tokens: what running sequences hold outside the trie (the uncached rest of
  a prompt, generated tokens, a reservation for future ones).

Pins are monotone along a path (a sequence pins every node from the root to its deepest),
so every unpinned node can be evicted (its descendants are unpinned too): the memory a new
sequence may claim is ``cap - pinned - private``.

A hit is counted in whole blocks and leaves at least one prompt token to compute (vLLM
caches only full blocks and recomputes the last token of a fully cached prompt:
docs/design/prefix_caching.md, ``KVCacheManager.get_computed_blocks``). Memory is not
rounded to blocks (at most ``block - 1`` tokens per sequence: under 1 % of the capacity at
the default sizes).

With a host tier (``host_cap`` > 0; LMCache, SGLang HiCache, TensorRT-LLM's secondary
pool), an evicted node moves to host memory (written through: no time on the GPU side)
and is evicted from there LRU; a hit on it is loaded back over the host link, which the
engine charges as a stall (``loaded`` tokens times the bytes per token over the link).
"""

from __future__ import annotations

import heapq

from sim.records import KvStats

_NONE = ((), ())


class Node:
    __slots__ = ("key", "length", "parent", "children", "refs", "host", "stamp", "gpu_kids",
                 "queued")

    def __init__(self, key, length: int, parent):
        self.key = key
        self.length = length
        self.parent = parent
        self.children: dict = {}
        self.refs = 0
        self.host = False
        self.stamp = 0.0
        self.gpu_kids = 0  # children on the GPU (a GPU node is a leaf when it has none)
        self.queued = False  # has an entry in the GPU LRU heap (one at most)


class KvCache:
    def __init__(self, cap: int, block: int = 16, caching: bool = True, host_cap: int = 0):
        self.cap = int(cap)
        self.block = max(int(block), 1)
        self.caching = caching
        self.host_cap = int(host_cap)
        self.root = Node(None, 0, None)
        self.root.refs = 1  # never evicted
        self.cached = 0  # tokens of GPU nodes
        self.unpinned = 0  # tokens of GPU nodes no sequence uses (all evictable)
        self.private = 0
        self.host_used = 0
        # bumped by every change a match can see: a node added, grown, evicted or moved
        # between tiers, a node's pins going from none or to none (not a pin added to a
        # pinned node: a request's match is remembered as long as it holds)
        self.version = 0
        self._lru: list = []  # (stamp, seq, node): GPU leaves that may be evictable (lazy)
        self._host_lru: list = []
        self._seq = 0
        self.clock = 0.0  # the owner sets it to its time before each call (LRU order)
        self.stats = KvStats()  # the owner may share one with its ledger row

    # ------------------------------------------------------------------------ queries
    def room(self) -> int:
        """Tokens a new sequence may claim (free now, or freed by evicting unpinned nodes)."""
        return self.cap - (self.cached - self.unpinned) - self.private

    def match(self, keys, lens):
        """``(path, matched, gpu_free)``: the nodes of the longest cached chain of leading
        segments, the prompt tokens they hold, and the tokens of unpinned GPU nodes among
        them (pinning them takes them out of the evictable memory)."""
        node = self.root
        path = []
        matched = 0
        unpinned = 0
        children = node.children
        for k, ln in zip(keys, lens):
            child = children.get(k)
            if child is None:
                break
            path.append(child)
            if not child.host and child.refs == 0:
                unpinned += child.length
            if child.length != ln:  # the same content for a shorter stretch: stop there
                matched += min(child.length, ln)
                break
            matched += ln
            children = child.children
        return path, matched, unpinned

    def lookup(self, req):
        """:meth:`match` of ``req``'s segments plus the tokens of host nodes on the path,
        remembered on the request until what it saw changes (``version``): a
        request is looked up by every replica a router considers, then again on admission."""
        m = req.kv_memo
        if m is not None and m[0] is self and m[1] == self.version:
            return m[2]
        path, matched, unpinned = self.match(*req.pfx)
        host = sum(n.length for n in path if n.host) if self.host_used else 0
        res = (path, matched, unpinned, host)
        req.kv_memo = (self, self.version, res)
        return res

    def matched(self, req) -> int:
        """Prompt tokens of ``req`` this cache holds (GPU or host), for routers."""
        if req.pfx is None or not self.caching:
            return 0
        return self.lookup(req)[1]

    # -------------------------------------------------------------------- sequences
    def need(self, req, extra: int) -> int:
        """Memory ``req`` needs beyond what its cached prefix holds, if admitted now, and
        whether it can have it: returns the shortfall (<= 0: it fits)."""
        room = self.cap - (self.cached - self.unpinned) - self.private  # room(), inlined
        if req.pfx is None or not self.caching:
            return req.pin + extra - room
        m = req.kv_memo  # lookup(), inlined for a remembered match (the hot path)
        _, matched, unpinned, host = (m[2] if m is not None and m[0] is self and m[1] == self.version
                                      else self.lookup(req))
        return req.pin - matched + host + extra - (room - unpinned)

    def admit(self, req, extra: int) -> int:
        """Pin ``req``'s cached prefix, load its host part, claim its private tokens
        (``pin`` minus the prefix, plus ``extra``); returns the prompt tokens it need not
        compute. The caller checked :meth:`need`."""
        pfx = req.pfx if self.caching else None
        self.stats.prompt_tokens += req.pin
        if pfx is None:
            req.kv_node = None
            req.kv_priv = req.pin + extra
            self._claim(req.kv_priv)
            return 0
        m = req.kv_memo  # lookup(), inlined for a remembered match (the hot path)
        path, matched, _, _ = (m[2] if m is not None and m[0] is self and m[1] == self.version
                               else self.lookup(req))
        req.kv_memo = None  # used: not kept alive while the request runs (less for the GC)
        now = self.clock
        for node in path:  # the GPU part first: pinned before a load may evict
            if node.host:
                self._load(node)  # the rest of the path is on the host too
            if node.refs == 0:
                self.unpinned -= node.length
                self.version += 1
            node.refs += 1
            node.stamp = now
        req.kv_node = path[-1] if path else None
        req.kv_depth = len(path)
        req.kv_priv = req.pin - matched + extra
        self._claim(req.kv_priv)
        # the prompt tokens the hit spares: whole blocks, and at least the last one computed
        b, prompt = self.block, req.pin
        hit = min(matched // b, (prompt - 1) // b) * b if prompt > 0 else 0
        if not req.preempts:
            req.cached = hit
        self.stats.cached_tokens += hit
        return hit

    def admit_private(self, req, tokens: int) -> None:
        """Claim ``tokens`` for ``req`` outside the trie (KV swapped back in from host)."""
        req.kv_node = None
        req.kv_depth = 0
        req.kv_priv = tokens
        self._claim(tokens)

    def grow(self, req, tokens: int) -> None:
        """``req`` holds ``tokens`` more (paged admission: decoding crossed into new slots).
        The caller checked :meth:`room`."""
        req.kv_priv += tokens
        self._claim(tokens)

    def grow_all(self, tokens: int) -> None:
        """Decoding sequences claimed ``tokens`` between them (the fluid engine counts each
        one's share when it leaves the batch)."""
        self._claim(tokens)

    def prompt_done(self, req) -> None:
        """``req``'s prompt is computed: its segments beyond the cached prefix join the trie
        (pinned by it), its private tokens shrinking by as much; a segment another sequence
        inserted meanwhile is shared, not stored twice."""
        pfx = req.pfx if self.caching else None
        if pfx is None:
            return
        keys, lens = pfx
        i = req.kv_depth
        node = req.kv_node if req.kv_node is not None else self.root
        if i and node.length < lens[i - 1] and not node.children:
            # the chain stopped inside a segment cached shorter than this prompt's: an
            # answer, cached without its last token (never fed back, so it had no KV), or a
            # clipped prompt's last segment. This prefill computed the rest: the node
            # grows to the whole segment, and the chain goes on after it
            grow = lens[i - 1] - node.length
            self.version += 1
            node.length += grow
            self.cached += grow
            self.private -= grow
            req.kv_priv -= grow
        if i and node.length != lens[i - 1]:
            return  # the chain stopped inside a segment: nothing after it can be keyed
        if i == len(keys):
            return  # all of it was cached
        now = self.clock
        for k, ln in zip(keys[i:], lens[i:]):
            child = node.children.get(k)
            if child is None:
                child = self._add_child(node, k, ln)
            elif child.length != ln:
                break
            elif child.host:
                self._load(child, count=False)
                self.unpinned -= ln
            elif child.refs == 0:
                self.unpinned -= ln
                self.version += 1
            child.refs += 1
            child.stamp = now
            req.kv_priv -= ln
            self.private -= ln
            req.kv_depth += 1
            req.kv_node = node = child

    def release(self, req, answer_key: int = -1, answer_len: int = 0) -> None:
        """``req`` leaves the batch (finished or preempted): its private tokens are freed and
        its path unpinned. A finished request whose prompt is wholly in the trie caches its
        answer as a child of it (``answer_key``), as vLLM caches generated blocks."""
        node = req.kv_node
        if (answer_key >= 0 and answer_len > 0 and node is not None and self.caching
                and req.pfx is not None and req.kv_depth == len(req.pfx[0])
                and sum(req.pfx[1]) == req.pin and req.kv_priv >= answer_len):
            child = node.children.get(answer_key)
            if child is None:
                child = self._add_child(node, answer_key, answer_len)
                self.private -= answer_len
                req.kv_priv -= answer_len
                child.stamp = self.clock
                self.unpinned += answer_len
                self._push(child)
        self.private -= req.kv_priv
        req.kv_priv = 0
        now = self.clock
        while node is not None and node is not self.root:
            node.refs -= 1
            node.stamp = now
            if node.refs == 0:
                self.unpinned += node.length
                self.version += 1
                if node.gpu_kids == 0:
                    self._push(node)
            node = node.parent
        req.kv_node = None
        req.kv_depth = 0

    # ------------------------------------------------------------------------ memory
    def _add_child(self, node, key: int, length: int):
        """A new GPU node of ``length`` tokens under ``node`` (its tokens join ``cached``;
        the caller moves them out of a sequence's private tokens)."""
        self.version += 1
        child = Node(key, length, node)
        node.children[key] = child
        node.gpu_kids += 1
        self.cached += length
        return child

    def _claim(self, tokens: int) -> None:
        self.private += tokens
        over = self.cached + self.private - self.cap
        if over > 0:
            self._evict(over)

    def _push(self, node) -> None:
        """Queue an unpinned GPU leaf for eviction (once; a stale entry is re-queued at its
        node's newer time when popped)."""
        if not node.queued:
            node.queued = True
            self._seq += 1
            heapq.heappush(self._lru, (node.stamp, self._seq, node))

    def _evict(self, tokens: int) -> None:
        """Free at least ``tokens`` by evicting unpinned GPU leaves, least recently used
        first (to the host tier if there is one)."""
        self.version += 1
        lru = self._lru
        while tokens > 0 and lru:
            stamp, _, node = heapq.heappop(lru)
            node.queued = False
            if node.refs or node.host or node.gpu_kids or node.parent is None:
                continue  # pinned, moved or gone since: queued again when evictable
            if stamp != node.stamp:
                self._push(node)  # touched since: back in at its newer time
                continue
            tokens -= node.length
            self.cached -= node.length
            self.unpinned -= node.length
            self.stats.evicted_tokens += node.length
            parent = node.parent
            parent.gpu_kids -= 1
            if self.host_cap > 0 and node.length <= self.host_cap:
                node.host = True
                self.host_used += node.length
                self._seq += 1
                heapq.heappush(self._host_lru, (node.stamp, self._seq, node))
                self._trim_host()
            else:
                self._drop(node)
            if parent is not self.root and parent.refs == 0 and parent.gpu_kids == 0 and not parent.host:
                self._push(parent)

    def _drop(self, node) -> None:
        """Forget ``node`` and its (host) subtree."""
        parent = node.parent
        if parent is not None and parent.children.get(node.key) is node:
            del parent.children[node.key]
        stack = list(node.children.values())
        while stack:
            n = stack.pop()
            if n.host:
                self.host_used -= n.length
                n.host = False
            n.parent = None
            stack.extend(n.children.values())
        node.children = {}
        node.parent = None

    def _trim_host(self) -> None:
        self.version += 1
        hl = self._host_lru
        while self.host_used > self.host_cap and hl:
            stamp, _, node = heapq.heappop(hl)
            if not node.host or node.parent is None or stamp != node.stamp:
                continue
            self.host_used -= node.length
            node.host = False
            self._drop(node)

    def _load(self, node, count: bool = True) -> None:
        """Bring a host node back to the GPU (its parent is on the GPU or being loaded)."""
        self.version += 1
        node.host = False
        self.host_used -= node.length
        self.cached += node.length
        self.unpinned += node.length
        node.parent.gpu_kids += 1
        if count:
            self.stats.loaded_tokens += node.length
        over = self.cached + self.private - self.cap
        if over > 0:
            self._evict(over)

    # ------------------------------------------------------------------------ checks
    def check(self) -> None:
        """Recount from the trie; raise AssertionError on any disagreement (tests)."""
        cached = unpinned = host = 0
        stack = [self.root]
        while stack:
            n = stack.pop()
            kids = 0
            for c in n.children.values():
                assert c.parent is n
                assert c.refs <= n.refs or n is self.root, "pins must be monotone along a path"
                kids += not c.host
                stack.append(c)
            assert kids == n.gpu_kids, "gpu_kids"
            if n is self.root:
                continue
            if n.host:
                host += n.length
                assert n.refs == 0
            else:
                cached += n.length
                unpinned += n.length if n.refs == 0 else 0
        assert cached == self.cached, (cached, self.cached)
        assert unpinned == self.unpinned, (unpinned, self.unpinned)
        assert host == self.host_used, (host, self.host_used)
        assert self.cached + self.private <= self.cap, "over capacity"
        assert self.host_used <= max(self.host_cap, 0)
