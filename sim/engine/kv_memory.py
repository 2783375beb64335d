"""A replica's KV memory, the side that makes room (:class:`Memory`, a base of
:class:`~sim.engine.kv.KvCache`), and the trie's :class:`Node`: new nodes, claims, and
eviction of unpinned leaves and anonymous tokens, least recently used first, to the
optional host tier and out of it. The state it works on is
:class:`~sim.engine.kv.KvCache`'s (its docstring describes it)."""

from __future__ import annotations

import heapq

TAIL = ("tail",)  # the key of a GPU leaf's evicted tail in the host tier (no prompt's key)


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


class Memory:
    def _add_child(self, node, key: int, length: int):
        """A new GPU node of ``length`` tokens under ``node`` (its tokens join ``cached``;
        the caller moves them out of a sequence's private tokens)."""
        self.version += 1
        child = Node(key, length, node)
        node.children[key] = child
        node.gpu_kids += 1
        self.cached += length
        return child

    def hold(self, tokens: int) -> None:
        """A finished sequence's ``tokens`` (taken out of ``private``) stay cached: by
        :meth:`keep`, or, when no trie leaf and no host tier could be ordered against them,
        implicitly. Then the anonymous tokens are simply all the memory the pinned nodes and
        the sequences leave free, up to what was ever put there: every claim evicts from them
        what does not fit (their whole history is one number, ``inflow``, the anonymous plus
        private tokens the sequences' claims would have made without eviction). It saves the
        engines' hot paths their bookkeeping on workloads without shared prefixes; any other
        call makes them explicit first (:meth:`sync`), with the evictions they stood for."""
        if self._lru or self.host_cap:
            self.keep(tokens)
            return
        self.inflow = self.anon + tokens + self.private
        self.cached -= self.anon
        self.unpinned -= self.anon
        self.anon = 0
        self._anon.clear()
        self._bound = self.cap - self.cached  # the pinned nodes' room is not theirs
        self.lazy, self.keeps = True, False
        st = self.stats
        if st.pending is None:
            st.pending = {}
        st.pending[id(self)] = self

    def cached_now(self) -> int:
        """Tokens cached on the GPU (``cached``, with those held implicitly)."""
        if self.lazy:
            return self.cached + min(self._bound, self.inflow) - self.private
        return self.cached

    def sync(self) -> None:
        """Make implicitly held anonymous tokens explicit (one entry, at ``clock``: any
        time not after now orders them the same against leaves queued from now on) and
        count the tokens evicted from them meanwhile."""
        if not self.lazy:
            return
        kept = min(self._bound, self.inflow)
        anon = kept - self.private
        self.lazy, self.keeps = False, True
        self.stats.evicted_tokens += self.inflow - kept
        pending = self.stats.pending
        if pending is not None:
            pending.pop(id(self), None)
            if not pending:
                self.stats.pending = None
        if anon > 0:
            self._anon.append([self.clock, anon])
            self.cached += anon
            self.unpinned += anon
            self.anon = anon

    def _claim(self, tokens: int) -> None:
        self.private += tokens
        if self.lazy:  # the caller checked the room: what does not fit leaves the held tokens
            self.inflow += tokens
            return
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
        first (to the host tier if there is one). Anonymous tokens leave without a new
        ``version``: no walk sees them."""
        lru = self._lru
        anon = self._anon
        while tokens > 0 and (lru or anon):
            if anon and (not lru or anon[0][0] <= lru[0][0]):
                tokens -= self._evict_anon(tokens)
                continue
            stamp, _, node = heapq.heappop(lru)
            node.queued = False
            if node.refs or node.host or node.gpu_kids or node.parent is None:
                continue  # pinned, moved or gone since: queued again when evictable
            if stamp != node.stamp:
                self._push(node)  # touched since: back in at its newer time
                continue
            self.version += 1
            if node.length > tokens:
                cut = self._tail(node, tokens)
                if cut < node.length:  # only its tail goes (the walk matches the rest)
                    self._cut(node, cut)
                    self._push(node)
                    return
            tokens -= node.length
            self.cached -= node.length
            self.unpinned -= node.length
            self.stats.evicted_tokens += node.length
            parent = node.parent
            parent.gpu_kids -= 1
            keep = 0
            if self.host_cap > 0:  # the head the host tier can hold, in whole prompt blocks
                keep = node.length - self._tail(node, node.length - self.host_cap) \
                    if node.length > self.host_cap else node.length
            if keep > 0:
                if keep < node.length:  # its tail is dropped
                    self._drop_kids(node)
                    node.length = keep
                node.host = True
                self.host_used += node.length
                self._seq += 1
                heapq.heappush(self._host_lru, (node.stamp, self._seq, node))
                self._trim_host()
            else:
                self._drop(node)
            if parent is not self.root and parent.refs == 0 and parent.gpu_kids == 0 and not parent.host:
                self._push(parent)

    def _cut(self, node, cut: int) -> None:
        """Evict the last ``cut`` tokens of the GPU leaf ``node``. With a host tier they move
        there, as the head's continuation (a node keyed :data:`TAIL` below it, taking over
        its host subtree: a walk past the head's end goes on through it, and a hit loads it
        back into the head, :meth:`_merge`); without one they are dropped."""
        node.length -= cut
        self.cached -= cut
        self.unpinned -= cut
        self.stats.evicted_tokens += cut
        if self.host_cap <= 0:
            return
        t = node.children.get(TAIL)
        if t is None:
            t = Node(TAIL, 0, node)
            t.host = True
            t.stamp = node.stamp
            t.children = node.children
            for c in t.children.values():
                c.parent = t
            node.children = {TAIL: t}
            self._seq += 1
            heapq.heappush(self._host_lru, (t.stamp, self._seq, t))
        total = t.length + cut
        if total > self.host_cap:  # the head the tier holds, in whole blocks; its tail dropped
            total = self.host_cap // self.block * self.block
            self._drop_kids(t)
        self.host_used += total - t.length
        t.length = total
        if total:
            self._trim_host()
        else:
            self._drop(t)

    def _merge(self, t) -> None:
        """The loaded continuation ``t`` joins its head again (both pinned by the loader)."""
        head = t.parent
        head.length += t.length
        head.children = t.children
        for c in head.children.values():
            c.parent = head
        head.gpu_kids = t.gpu_kids
        head.refs = max(head.refs, t.refs)
        t.parent, t.children = None, {}

    def _tail(self, node, tokens: int) -> int:
        """The tokens to cut from the end of the leaf ``node`` to free ``tokens``: whole
        blocks of the prompt it ends, the last (perhaps partial) one first, as vLLM pops a
        freed request's blocks from its free queue last block first, and a cached segment
        or a preempted request's own tokens (:meth:`KvCache._keep_preempted`) alike (until
        December 2026 a named segment went whole, however few tokens were needed, and a
        preempted request's tokens went one by one, leaving the part of a block no hit can
        use)."""
        start = 0  # the node's first token in the prompts it belongs to
        p = node.parent
        while p is not None:
            start += p.length
            p = p.parent
        end = start + node.length
        return end - max((end - tokens) // self.block * self.block, start)

    def _evict_anon(self, tokens: int) -> int:
        """Evict up to ``tokens`` of the oldest anonymous entry (to the host tier if there is
        one); returns the tokens evicted."""
        e = self._anon[0]
        stamp, t = e
        if t > tokens:
            e[1] = t - tokens
            t = tokens
        else:
            self._anon.popleft()
        self.cached -= t
        self.unpinned -= t
        self.anon -= t
        self.stats.evicted_tokens += t
        if 0 < t <= self.host_cap:
            self.host_used += t
            self.host_anon += t
            self._host_anon.append([stamp, t])
            self._trim_host()
        return t

    def _drop(self, node) -> None:
        """Forget ``node`` and its (host) subtree."""
        parent = node.parent
        if parent is not None and parent.children.get(node.key) is node:
            del parent.children[node.key]
        self._drop_kids(node)
        node.parent = None

    def _drop_kids(self, node) -> None:
        """Forget the (host) subtree below ``node``."""
        stack = list(node.children.values())
        while stack:
            n = stack.pop()
            if n.host:
                self.host_used -= n.length
                n.host = False
            n.parent = None
            stack.extend(n.children.values())
        node.children = {}

    def _trim_host(self) -> None:
        self.version += 1
        hl = self._host_lru
        ha = self._host_anon
        while self.host_used > self.host_cap and (hl or ha):
            if ha and (not hl or ha[0][0] <= hl[0][0]):  # the oldest anonymous entry goes
                e = ha[0]
                t = min(e[1], self.host_used - self.host_cap)
                e[1] -= t
                if not e[1]:
                    ha.popleft()
                self.host_used -= t
                self.host_anon -= t
                continue
            stamp, _, node = heapq.heappop(hl)
            if not node.host or node.parent is None or stamp != node.stamp:
                continue
            if node.refs:  # on the path an admission is loading: it leaves the tier anyway
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
        if node.refs == 0:
            self.unpinned += node.length
        node.parent.gpu_kids += 1
        if count:
            self.stats.loaded_tokens += node.length
        over = self.cached + self.private - self.cap
        if over > 0:
            self._evict(over)
