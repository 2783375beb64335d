"""Ledger rows of replicas that are gone, packed (:class:`ClosedRows`).

A long serverless run starts a replica per ~190 requests (12,785 in the 24-hour platform
benchmark), and each leaves a :class:`~sim.records.UsageRow` and its
:class:`~sim.kvstats.KvStats` in the ledger: about 690 bytes as objects (two slotted
objects, a float or int object per number, the histogram's bytes, a tuple). Once its
replica stops, nothing changes a row but the run's end (which clips its times), so the pool
packs it into typed arrays here and puts a :class:`ClosedRow` view in its place in the
ledger: about 380 bytes. A view reads like the row and its ``kv`` (it is both), and its
times can be set.

A row is packed only when every value comes back as it went in (ints as ints, floats as
floats, names as names); any other row stays as it is.
"""

from __future__ import annotations

from array import array

from sim.kvstats import KvStats
from sim.logcols import Codes
from sim.records import UsageRow

_TEXT = ("model", "gpu", "tier", "billing")  # UsageRow's
_FLOATS = ("start_s", "end_s", "busy_s", "usd_per_gpu_hour", "loading_s", "min_increment_s",
           "down_s", "batch_price_factor")  # UsageRow's
_KV_FLOATS = ("occupancy_s", "bytes_per_gpu", "peak_bandwidth")
_KV_INTS = ("prompt_tokens", "cached_tokens", "loaded_tokens", "evicted_tokens", "preemptions",
            "swap_recomputes", "served", "served_in", "served_out")


class ClosedRows:
    """The packed rows of one pool: a column per field, the names as codes."""

    def __init__(self):
        self.names = Codes()
        self.cols = {n: array("I") for n in _TEXT}
        self.cols.update({n: array("d") for n in _FLOATS + _KV_FLOATS})
        self.cols["gpus"] = array("q")
        self.cols.update({n: array("q") for n in _KV_INTS})
        self.hist: list[bytes] = []  # the closed occupancy histograms (KvStats.close)
        self.saturation: list = []  # (perf, max_seqs), one tuple per distinct pair
        self._sat: dict = {}

    def __len__(self) -> int:
        return len(self.hist)

    def pack(self, row: UsageRow):
        """``row``'s view, its values moved here; or ``row`` itself if one would not come
        back the same (an int time, a float count, a histogram still open)."""
        kv = row.kv
        if kv.pending or not isinstance(kv.occupancy_hist, bytes):
            return row
        floats = [getattr(row, n) for n in _FLOATS] + [getattr(kv, n) for n in _KV_FLOATS]
        ints = [row.gpus] + [getattr(kv, n) for n in _KV_INTS]
        text = [getattr(row, n) for n in _TEXT]
        if (not all(type(v) is float for v in floats)
                or not all(type(v) is int for v in ints)
                or not all(type(v) is str for v in text)):
            return row
        cols = self.cols
        for n, v in zip(_TEXT, text):
            cols[n].append(self.names.code(v))
        for n, v in zip(_FLOATS + _KV_FLOATS, floats):
            cols[n].append(v)
        for n, v in zip(("gpus",) + _KV_INTS, ints):
            cols[n].append(v)
        self.hist.append(kv.occupancy_hist)
        sat = kv.saturation
        if sat is not None:  # the same perf model and batch cap: one tuple for all its rows
            sat = self._sat.setdefault((id(sat[0]), sat[1]), sat)
        self.saturation.append(sat)
        return ClosedRow(self, len(self.hist) - 1)


class ClosedRow:
    """A packed row, read (and its times set) like the :class:`~sim.records.UsageRow` it
    was; it is its own ``kv``."""

    __slots__ = ("_rows", "_k")

    def __init__(self, rows: ClosedRows, k: int):
        self._rows = rows
        self._k = k

    @property
    def kv(self) -> ClosedRow:
        return self

    @property
    def occupancy_hist(self) -> bytes:
        return self._rows.hist[self._k]

    @property
    def saturation(self):
        return self._rows.saturation[self._k]

    pending = None  # its caches' evictions were counted when it closed

    def settle(self) -> None:
        """Nothing held implicitly: the row was settled when it closed."""

    close = settle

    # the row's and its statistics' own figures, read from the same fields
    up_s = UsageRow.up_s
    billed_s = UsageRow.billed_s
    cost_usd = UsageRow.cost_usd
    hist_bins = KvStats.hist_bins
    add_hist = KvStats.add_hist
    saturated_tok_s = KvStats.saturated_tok_s


def _number(name: str) -> property:
    def get(self):
        return self._rows.cols[name][self._k]

    def put(self, value) -> None:
        self._rows.cols[name][self._k] = value

    return property(get, put)


def _name(name: str) -> property:
    def get(self):
        return self._rows.names.names[self._rows.cols[name][self._k]]

    return property(get)


for _n in _FLOATS + _KV_FLOATS + ("gpus",) + _KV_INTS:
    setattr(ClosedRow, _n, _number(_n))
for _n in _TEXT:
    setattr(ClosedRow, _n, _name(_n))
