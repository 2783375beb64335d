"""What billing needs of a run's request log, folded block by block: :class:`LogFold`
(the ledger read first, each per-token request's price kept in id order) and
:class:`EarlyLogFold` (fed while the run goes, the ledger read at the end)."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

import numpy as np

from sim.records import COMPLETED


class LogFold:
    """What billing needs of the log, folded block by block (``add(a, b)``, an accumulator
    of :func:`~sim.metrics.rows.walk`; each block's columns sliced as views, its temporaries
    block-sized), in ``f``: ``seen``, the requests per (model, tenant), model-major; ``done``
    and ``on_token``, the completed requests per tenant and those of them on a per-token
    (model, tier) (``table``, by model and tier code); ``tok``, the output and input tokens
    completed per (model, tier code, tenant), exact integer sums; ``usd``, per per-token
    (model, tier code) of ``token_prices`` (its ``(in, out, cached in)`` prices) and tenant,
    each completed request's price in id order (block by block: the very values, in the very
    order, of the whole column's mask, so their sum is the same to the bit)."""

    def __init__(self, workload, log, table: np.ndarray | None, token_prices: dict | None):
        self.workload, self.log, self.table, self.token_prices = workload, log, table, token_prices
        if table is None:  # the ledger not known yet: :class:`EarlyLogFold`'s sums
            return
        nt, nm, nc = len(workload.tenants), table.shape[0], table.shape[1]
        self.f = SimpleNamespace(
            seen=np.zeros(nm * nt, np.int64), done=np.zeros(nt, np.int64),
            on_token=np.zeros(nt, np.int64), tok=np.zeros((2, nm * nc * nt), np.int64),
            usd={k: defaultdict(list) for k in token_prices})

    def add(self, a: int, b: int) -> None:
        f, workload, log, table = self.f, self.workload, self.log, self.table
        nt, nc = len(workload.tenants), table.shape[1]
        model, tenant, tier = workload.model[a:b], workload.tenant[a:b], log.tier[a:b]  # views
        key = model.astype(np.int64)  # one int64 temporary at a time, made in place
        key *= nt
        key += tenant
        f.seen += np.bincount(key, minlength=f.seen.size)
        d = log.outcome[a:b] == COMPLETED
        td, md, kd = tenant[d], model[d], tier[d]
        f.done += np.bincount(td, minlength=nt)
        f.on_token += np.bincount(td[table[md, kd]], minlength=nt)
        key = md.astype(np.int64)
        key *= nc
        key += kd
        key *= nt
        key += td
        del td, md, kd
        np.add.at(f.tok[0], key, workload.output_tokens[a:b][d])
        np.add.at(f.tok[1], key, workload.input_tokens[a:b][d])
        del key
        for (mi, tc), (pin, pout, pcached) in self.token_prices.items():
            sel = d & (model == mi) & (tier == tc)
            if not sel.any():
                continue
            cached = log.cached[a:b][sel].astype(float)
            usd = ((workload.input_tokens[a:b][sel].astype(float) - cached) * (pin or 0.0)
                   + cached * (pcached or 0.0)
                   + workload.output_tokens[a:b][sel].astype(float) * (pout or 0.0)) / 1e6
            ten = tenant[sel]
            for ti in np.unique(ten).tolist():
                f.usd[(mi, tc)][ti].append(usd[ten == ti])


class EarlyLogFold(LogFold):
    """:class:`LogFold` before the ledger is known (a log folded while the run goes): which
    (model, tier) pools bill per token is read at the end (:meth:`settle`), so each block
    adds, per (model, tier code, tenant), the completed requests and their output, input and
    cached tokens, exact integer sums (tier codes as they appear). A tenant's per-token bill
    is then ``(input - cached) x price_in + cached x price_cached_in + output x price_out``
    over those sums: the same sum as of each request's price, to rounding (not its bytes)."""

    def __init__(self, workload, log):
        super().__init__(workload, log, None, None)
        nt, nm = len(workload.tenants), max(len(workload.models), 1)
        self.seen = np.zeros(nm * nt, np.int64)
        self.done = np.zeros(nt, np.int64)
        self.sums = np.zeros((4, nm, 1, nt), np.int64)  # completed, output, input, cached

    def add(self, a: int, b: int) -> None:
        workload, log = self.workload, self.log
        nt = len(workload.tenants)
        model, tenant, tier = workload.model[a:b], workload.tenant[a:b], log.tier[a:b]
        self.seen += np.bincount(model.astype(np.int64) * nt + tenant, minlength=self.seen.size)
        d = log.outcome[a:b] == COMPLETED
        td, md, kd = tenant[d], model[d].astype(np.int64), tier[d].astype(np.int64)
        self.done += np.bincount(td, minlength=nt)
        if kd.size and kd.max() >= self.sums.shape[2]:  # a tier code new in this block
            grow = int(kd.max()) + 1 - self.sums.shape[2]
            self.sums = np.pad(self.sums, ((0, 0), (0, 0), (0, grow), (0, 0)))
        nc = self.sums.shape[2]
        key = (md * nc + kd) * nt + td
        for i, col in enumerate((None, workload.output_tokens[a:b][d],
                                 workload.input_tokens[a:b][d], log.cached[a:b][d])):
            flat = self.sums[i].reshape(-1)
            if col is None:
                flat += np.bincount(key, minlength=flat.size)
            else:
                np.add.at(flat, key, col)

    def settle(self, table: np.ndarray, token_prices: dict) -> None:
        """The folded sums as :class:`LogFold`'s ``f``, once the ledger says which pools
        bill per token (``table``, ``token_prices``: :func:`_pools`)."""
        nm, nc = table.shape
        sums = self.sums[:, :, :nc, :]
        if sums.shape[2] < nc:
            sums = np.pad(sums, ((0, 0), (0, 0), (0, nc - sums.shape[2]), (0, 0)))
        n, out, inp, cached = sums
        usd: dict = {k: defaultdict(list) for k in token_prices}
        for (mi, tc), (pin, pout, pcached) in token_prices.items():
            for ti in np.flatnonzero(n[mi, tc]).tolist():
                c = float(cached[mi, tc, ti])
                v = ((float(inp[mi, tc, ti]) - c) * (pin or 0.0) + c * (pcached or 0.0)
                     + float(out[mi, tc, ti]) * (pout or 0.0)) / 1e6
                usd[(mi, tc)][ti].append(np.array([v]))
        self.f = SimpleNamespace(
            seen=self.seen, done=self.done, on_token=(n * table[:, :, None]).sum(axis=(0, 1)),
            tok=np.stack([out.reshape(-1), inp.reshape(-1)]), usd=usd)
