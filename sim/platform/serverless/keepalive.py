"""Keep-alive policies: how long an idle model keeps its replica, and when to pre-warm it.

Every policy answers ``windows(model) -> (prewarm_s, keepalive_s)`` and learns from
``observe(model, idle_s)``, the idle time (IT) between the moment a model had no request in
flight and its next arrival.

* :class:`FixedKeepAlive`: ``(0, idle_s)`` for every model: the replica stays ``idle_s``
  after it goes idle, then scales to zero (the fixed idle timeout of most platforms).
* :class:`HybridHistogramKeepAlive`: the hybrid histogram policy of Shahrad et al.,
  "Serverless in the Wild", USENIX ATC 2020. Per model, a histogram of ITs (``bin_s``
  bins up to ``range_s``). When it is representative, the pre-warm window is its head
  percentile (5th) less a margin and the keep-alive window reaches its tail percentile
  (99th) plus a margin: after going idle the model is unloaded, re-loaded ``prewarm_s``
  later and kept ``keepalive_s`` from then. When it is not representative (too few ITs, bin
  counts too flat: coefficient of variation below ``cv_threshold``, or too many ITs beyond
  the range) the policy falls back to the fixed idle timeout. (The paper uses an ARIMA
  forecast for models whose ITs mostly exceed the range; that branch is not modelled here
  and falls back to fixed as well.)
"""

from __future__ import annotations

import math

import numpy as np


class FixedKeepAlive:
    name = "fixed"

    def __init__(self, idle_s: float):
        if not idle_s >= 0:
            raise ValueError("idle timeout must be >= 0")
        self.idle_s = float(idle_s)

    def observe(self, model: int, idle_s: float) -> None:
        pass

    def windows(self, model: int) -> tuple[float, float]:
        return 0.0, self.idle_s


class HybridHistogramKeepAlive:
    name = "hybrid"

    def __init__(self, fallback_idle_s: float, bin_s: float = 60.0, range_s: float = 14400.0,
                 head_pct: float = 5.0, tail_pct: float = 99.0, margin: float = 0.10,
                 cv_threshold: float = 2.0, min_samples: int = 10, max_oob_fraction: float = 0.5):
        if not (bin_s > 0 and range_s >= bin_s):
            raise ValueError("need bin_s > 0 and range_s >= bin_s")
        if not 0 <= head_pct < tail_pct <= 100:
            raise ValueError("need 0 <= head percentile < tail percentile <= 100")
        if not 0 <= margin < 1:
            raise ValueError("margin must be in [0, 1)")
        self.fallback = FixedKeepAlive(fallback_idle_s)
        self.bin_s = float(bin_s)
        self.nbins = int(math.ceil(range_s / bin_s))
        self.head = float(head_pct)
        self.tail = float(tail_pct)
        self.margin = float(margin)
        self.cv_threshold = float(cv_threshold)
        self.min_samples = int(min_samples)
        self.max_oob = float(max_oob_fraction)
        self._hist: dict[int, np.ndarray] = {}
        self._oob: dict[int, int] = {}
        self._cache: dict[int, tuple[float, float, bool]] = {}

    def observe(self, model: int, idle_s: float) -> None:
        h = self._hist.get(model)
        if h is None:
            h = self._hist[model] = np.zeros(self.nbins, np.int64)
            self._oob[model] = 0
        k = int(idle_s // self.bin_s)
        if k >= self.nbins:
            self._oob[model] += 1
        else:
            h[k] += 1
        self._cache.pop(model, None)

    def representative(self, model: int) -> bool:
        return self._decide(model)[2]

    def windows(self, model: int) -> tuple[float, float]:
        pre, keep, _ = self._decide(model)
        return pre, keep

    def _decide(self, model: int) -> tuple[float, float, bool]:
        got = self._cache.get(model)
        if got is not None:
            return got
        h = self._hist.get(model)
        fb = (*self.fallback.windows(model), False)
        if h is None:
            return fb
        n_in = int(h.sum())
        n = n_in + self._oob[model]
        if n < self.min_samples or n_in == 0 or self._oob[model] > self.max_oob * n:
            out = fb
        else:
            mean = h.mean()
            cv = float(h.std() / mean) if mean > 0 else 0.0
            if cv < self.cv_threshold:
                out = fb
            else:
                cum = np.cumsum(h) / n_in
                head_bin = int(np.searchsorted(cum, self.head / 100.0, side="left"))
                tail_bin = int(np.searchsorted(cum, self.tail / 100.0 - 1e-12, side="left"))
                head_s = head_bin * self.bin_s  # lower edge of the head bin
                tail_s = (tail_bin + 1) * self.bin_s  # upper edge of the tail bin
                pre = head_s * (1.0 - self.margin)
                keep = tail_s * (1.0 + self.margin) - pre
                out = (pre, keep, True)
        self._cache[model] = out
        return out


def make_keepalive(cfg):
    """From the (checked) ``serverless.keepalive`` config."""
    if cfg.kind == "fixed":
        return FixedKeepAlive(cfg.idle_s)
    h = cfg.hybrid
    return HybridHistogramKeepAlive(cfg.idle_s, h.bin_s, h.range_s, h.head_pct, h.tail_pct,
                                    h.margin, h.cv_threshold, h.min_samples, h.max_oob_fraction)
