"""A replica's KV memory: the prefix cache (a trie of prompt segments), the tokens running
sequences hold privately, eviction to an optional host tier. A plain class, no SimPy.

Memory is counted in tokens (``cap`` is the deployment's KV capacity). It holds

* **cached** tokens: trie nodes on the GPU. A node is a segment of a prompt (or of an
  answer) whose content is identified by its key given the nodes above it (the chain of
  keys is the content hash of vLLM's blocks, SGLang's radix tree). A node used by running
  sequences is *pinned* (``refs`` > 0) and stored once however many use it; a node no
  sequence uses stays cached in memory nobody needs, and is evicted, least recently used
  leaf first, when memory is needed (vLLM's free-block queue, SGLang's radix eviction),
  only as much of the leaf as is needed: its tail, in whole blocks of the prompt, the last
  (perhaps partial) one first (:meth:`Memory._tail`);
* **private** tokens: what running sequences hold outside the trie (the uncached rest of
  a prompt, generated tokens, a reservation for future ones);
* **anonymous** cached tokens: what a *finished* sequence held privately (the part of its
  prompt no segment names, its answer when not cached as a node). vLLM and SGLang keep
  every computed block of a finished request cached (vLLM hashes all full blocks and frees
  them to the tail of its free-block queue; SGLang inserts the whole sequence into its radix
  tree), so these blocks take cache room and age out in LRU order with the trie's leaves,
  though no later prompt can name them: they are kept as a queue of ``[time, tokens]`` in
  release order, evicted (in part, if that frees enough) whenever they are older than the
  trie's least recently used leaf, and before the finished request's own prefix nodes (vLLM
  frees a request's blocks tail first). Without caching they are freed at once. A sequence
  preempted to be recomputed keeps what it computed as a node of its own instead, which its
  recompute can hit (:meth:`KvCache._keep_preempted`). While no trie leaf and no host tier
  could be ordered against them, they are held implicitly, as one count (:meth:`hold`):
  the same memory and evictions, without bookkeeping on every admission and finish.

Pins are monotone along a path (a sequence pins every node from the root to its deepest),
so every unpinned node can be evicted (its descendants are unpinned too): the memory a new
sequence may claim is ``cap - pinned - private``.

A hit is counted in whole blocks and leaves at least one prompt token to compute (vLLM
caches only full blocks and recomputes the last token of a fully cached prompt:
docs/design/prefix_caching.md, ``KVCacheManager.get_computed_blocks``). Memory is not
rounded to blocks (at most ``block - 1`` tokens per sequence: under 1 % of the capacity at
the default sizes).

With a host tier (``host_cap`` > 0; LMCache, SGLang HiCache, TensorRT-LLM's secondary
pool), what eviction takes moves to host memory (written through: no time on the GPU
side; as much of its head, in whole blocks, as the tier holds, the rest dropped): a whole
node, or a leaf's tail as the node's continuation (keyed ``TAIL``, which a walk past the
node's end goes through and a hit loads back into it), evicted from there LRU. A hit on a host node
is loaded back over the host link, which the engine charges as a stall (``loaded``: the
hit's tokens in host memory, times the bytes per token over the link)."""

from __future__ import annotations

from collections import deque

from sim.engine.kv_check import check
from sim.engine.kv_memory import TAIL, Memory, Node
from sim.kvstats import KvStats


class KvCache(Memory):
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
        self._anon: deque = deque()  # [stamp, tokens] of finished sequences' unnamed blocks
        self.anon = 0  # their tokens on the GPU (counted in cached and unpinned)
        self._host_anon: deque = deque()
        self.host_anon = 0  # their tokens in the host tier (counted in host_used)
        self._seq = 0
        # anonymous tokens held implicitly (:meth:`hold`): while ``lazy``, ``anon`` and its
        # share of ``cached`` and ``unpinned`` are not kept up to date; ``inflow`` counts the
        # tokens sequences claimed since (and the anonymous and private ones before)
        self.lazy = False
        self.keeps = caching  # a finished sequence's tokens go to keep() (not held implicitly)
        self.inflow = 0
        self._bound = 0
        self.clock = 0.0  # the owner sets it to its time before each call (LRU order)
        self.stats = KvStats()  # the owner may share one with its ledger row

    # ------------------------------------------------------------------------ queries
    def room(self) -> int:
        """Tokens a new sequence may claim (free now, or freed by evicting unpinned nodes)."""
        return self.cap - (self.cached - self.unpinned) - self.private

    def walk(self, req) -> None:
        """Find the longest cached chain of ``req``'s leading segments; remember on the
        request (``seen_*``) this cache, its ``version`` (what a walk saw holds until it
        moves), the chain's deepest node, its prompt tokens and host tokens, and the memory
        admitting ``req`` takes (:meth:`need`). A request is looked up by every replica a
        router considers, then again on admission."""
        node = self.root
        matched = unpinned = host = 0
        full = False  # every segment cached: its prompt adds nothing to the trie
        for k, ln in zip(*req.pfx):
            child = node.children.get(k)
            if child is None:
                break
            node = child
            if child.refs == 0:
                if child.host:
                    host += child.length
                else:
                    unpinned += child.length
            length = child.length
            while length < ln and TAIL in node.children:  # its evicted tail, in the host tier
                node = node.children[TAIL]
                host += node.length
                length += node.length
            if length != ln:  # the same content for a shorter stretch: stop there
                matched += length if length < ln else ln
                break
            matched += ln
        else:
            full = True
        req.seen_full = full
        req.seen_kv = self
        req.seen_version = self.version
        req.seen_node = node
        req.seen_tokens = matched
        req.seen_host = host
        # the tokens its admission takes from the memory new sequences may claim (its prompt
        # beyond the GPU hit, and the GPU hit's unpinned part), beside what it reserves
        req.seen_need = req.pin - matched + host + unpinned

    def matched(self, req) -> int:
        """Prompt tokens of ``req`` this cache holds (GPU or host), for routers."""
        if req.pfx is None or not self.caching:
            return 0
        if req.seen_kv is not self or req.seen_version != self.version:
            self.walk(req)
        return req.seen_tokens

    # -------------------------------------------------------------------- sequences
    def need(self, req, extra: int) -> int:
        """Memory ``req`` needs beyond what its cached prefix holds, if admitted now, and
        whether it can have it: returns the shortfall (<= 0: it fits)."""
        room = self.cap - (self.cached - self.unpinned) - self.private  # room(), inlined
        if req.pfx is None or not self.caching:
            return req.pin + extra - room
        if req.seen_kv is not self or req.seen_version != self.version:
            self.walk(req)
        return req.seen_need + extra - room

    def admit(self, req, extra: int) -> int:
        """Pin ``req``'s cached prefix, load its host part, claim its private tokens
        (``pin`` minus the prefix, plus ``extra``); returns the prompt tokens it need not
        compute. The caller checked :meth:`need`."""
        self.stats.prompt_tokens += req.pin
        if req.pfx is None or not self.caching:
            req.kv_node = None
            req.kv_full = True
            req.kv_priv = req.pin + extra
            self._claim(req.kv_priv)
            return 0
        if self.lazy:
            self.sync()
        if req.seen_kv is not self or req.seen_version != self.version:
            self.walk(req)
        req.seen_kv = None  # used: a later admission walks afresh
        req.kv_full = req.seen_full
        node = req.seen_node
        matched = req.seen_tokens
        # the prompt tokens the hit spares: whole blocks, and at least the last one computed
        hit = matched if matched < req.pin else req.pin - 1
        hit = hit // self.block * self.block if hit > 0 else 0
        if req.seen_host:
            node, depth = self._pin_loading(node, hit)
        else:  # every node on the GPU: pinned in any order, walking up from the deepest
            now, root, n, depth = self.clock, self.root, node, 0
            while n is not root:
                if n.refs == 0:
                    self.unpinned -= n.length
                    self.version += 1
                n.refs += 1
                n.stamp = now
                n = n.parent
                depth += 1
        req.kv_node = node if depth else None
        req.kv_depth = depth
        priv = req.kv_priv = req.pin - matched + extra
        self.private += priv  # _claim(), inlined
        if self.cached + self.private > self.cap:
            self._evict(self.cached + self.private - self.cap)
        if not req.preempts_here:  # its attempt's first admission (not a recompute)
            req.cached = hit
        self.stats.cached_tokens += hit
        return hit

    def _pin_loading(self, node, hit: int) -> int:
        """Pin the path from the root to ``node``, then load its host part (host nodes end
        the path). The whole path is pinned before any load, as engines lock a matched
        prefix: a load's eviction spares its GPU part, and the host trim the eviction may
        cause spares its host part, so the hit is all resident; a loaded continuation of a
        cut leaf joins its head (:meth:`Memory._merge`). The transfer counted
        (``loaded``) is the host tokens among the ``hit`` tokens the prompt uses, not the
        nodes' whole length (until December 2026 a 288-token hit on a 512-token host node
        was charged 512). Returns the deepest node and the path's length."""
        path = []
        while node is not self.root:
            path.append(node)
            node = node.parent
        now = self.clock
        for node in path:
            if node.refs == 0 and not node.host:
                self.unpinned -= node.length
                self.version += 1
            node.refs += 1
            node.stamp = now
        start = 0  # the node's first token in the prompt
        for node in reversed(path):
            if node.host:
                self._load(node, count=False)
                self.stats.loaded_tokens += max(min(node.length, hit - start), 0)
            start += node.length
        deepest = path[0]
        while deepest.key is TAIL:
            deepest = deepest.parent
        for node in path:  # deepest first: a head's continuations join it
            if node.key is TAIL:
                self._merge(node)
        return deepest, sum(n.key is not TAIL for n in path)

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
        inserted meanwhile is shared, not stored twice. (Nothing to do when ``req.kv_full``.)"""
        pfx = req.pfx if self.caching else None
        if pfx is None:
            return
        if self.lazy:
            self.sync()
        keys, lens = pfx
        i = req.kv_depth
        if i == len(keys) and req.kv_node.length == lens[-1]:
            return  # all of it was cached
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

    def release(self, req, answer_key: int = -1, answer_len: int = 0, finished: bool = False,
                computed: int = 0) -> None:
        """``req`` leaves the batch (finished or preempted): its private tokens are freed and
        its path unpinned. A finished request whose prompt is wholly in the trie caches its
        answer as a child of it (``answer_key``), as vLLM caches generated blocks, and the
        rest of what it held stays cached, anonymous (:meth:`keep`). A request preempted to
        be recomputed, holding ``computed`` tokens of KV, keeps them cached under a key of its
        own (:meth:`_keep_preempted`)."""
        if self.lazy:
            self.sync()
        if computed > 0 and self.caching:
            self._keep_preempted(req, computed)
        node = req.kv_node
        if (answer_key >= 0 and answer_len > 0 and node is not None and self.caching
                and req.pfx is not None and req.kv_depth == len(req.pfx[0])
                and sum(req.pfx[1]) == req.pin and req.kv_priv >= answer_len):
            if node.children.get(answer_key) is None:
                self._cache_leaf(req, node, answer_key, answer_len)
        self.private -= req.kv_priv
        if finished and self.caching and req.kv_priv > 0:
            self.keep(req.kv_priv)
        req.kv_priv = 0
        now, root = self.clock, self.root
        while node is not None and node is not root:
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

    def _keep_preempted(self, req, computed: int) -> None:
        """vLLM V1 frees a preempted request's blocks with their hashes (to the tail of its
        free-block queue, the request's last block first) and its recompute looks them up
        like any prompt's: here its computed tokens beyond its named segments become a node
        keyed by the request and its preemption count, under its path, and its prompt gains
        that segment, so its recompute hits whatever is left of it. Nothing is kept when its
        path stops short of its named segments (a prefill preempted before its prompt joined
        the trie). Such a node is evicted last block first (:meth:`Memory._evict`), as every leaf is."""
        pfx, node = req.pfx, req.kv_node
        if pfx is None:
            parent, named, keys, lens = self.root, 0, (), ()
        else:
            keys, lens = pfx
            if node is None or req.kv_depth != len(keys) or node.length != lens[-1]:
                return
            parent, named = node, sum(lens)
        tokens = computed - named
        if tokens <= 0 or tokens > req.kv_priv:
            return
        key = (req.id, req.preempts)  # tuples: never a workload's (int) key
        self._cache_leaf(req, parent, key, tokens)
        if req.pfx0 is None:
            req.pfx0 = pfx if pfx is not None else ()
        req.pfx = (keys + (key,), lens + (tokens,))
        req.seen_kv = None

    def _cache_leaf(self, req, parent, key, tokens: int) -> None:
        """``tokens`` of ``req``'s private ones become an unpinned leaf under ``parent``."""
        child = self._add_child(parent, key, tokens)
        self.private -= tokens
        req.kv_priv -= tokens
        child.stamp = self.clock
        self.unpinned += tokens
        self._push(child)

    def keep(self, tokens: int) -> None:
        """``tokens`` a finished sequence freed stay cached, anonymous, at ``clock`` (the
        caller took them out of ``private``)."""
        if self.lazy:
            self.sync()
        self.cached += tokens
        self.unpinned += tokens
        self.anon += tokens
        a = self._anon
        if a and not self._lru and not self.host_cap:
            # no leaf to order them against (any leaf queued later is younger than both):
            # one entry, evicted as the two would be
            a[-1][1] += tokens
        else:
            a.append([self.clock, tokens])

    # ------------------------------------------------------------------------ checks
    def check(self, holders=None) -> None:
        """Recount from the trie; raise AssertionError on any disagreement (tests). With
        ``holders``, the requests holding memory here: their pins, exactly (kv_check)."""
        if self.lazy:
            self.sync()
        check(self, holders)
