"""The range of each numeric config key, declared beside the field it governs.

A field declared with :func:`rule` carries a :class:`Rule` in its metadata; the build layer
(:mod:`sim.simulation.build.fields`) walks the composed config and checks every number
against its field's rule, so a new key is covered by declaring it. Numbers without a rule
must still be finite. On a list or dict field the rule applies to each element or value.

``MIN_INTERVAL_S`` is the shortest tick, check interval or on/off period the engine
honours: a shorter one would turn a run into billions of events.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from omegaconf import MISSING

MIN_INTERVAL_S = 1e-3  # assumption: no policy of a serving platform acts faster than 1 ms
INT_LIMIT = 2**31 - 1  # counts, lengths and sizes fit a signed 32-bit integer
# the largest replica count a job's search simulates (plan.max_replicas,
# prefix_cache.max_replicas; assumption): a run of 10,000 replicas takes about 2 s and
# 100 MB more than a run of one here; the search's first run may be at the limit, and
# at a million replicas each run took minutes and about 10 GB, a search of twenty hours
SEARCH_REPLICAS = 10_000
# tenants and models of one run: the request log stores their indices as int16
# (sim/workload/__init__.py), user, generated and background tenants together
MAX_TENANTS = 2**15 - 1
INT64 = 2**63 - 1  # limits that may be set "as good as none" (a bound, not an allocation)
# assumption: no physical quantity of this model (a duration in s, a rate, a price in $, a
# size in GB, a bandwidth, a FLOP rate in TFLOPS) is beyond 1e12 in its unit; a field whose
# rule declares its own upper bound (le/lt) is not held to it. Beyond it, products of two
# such numbers overflow and runs cannot end.
MAX_MAGNITUDE = 1e12
# the smallest normal float (2.2e-308): below it (a subnormal, 1e-320) a float keeps fewer
# digits (1e-320 is held as 9.99989e-321) and its reciprocal overflows to inf, so a rate, a
# share or a divisor that small turned runs into an OverflowError or infinite bills
MIN_NORMAL = sys.float_info.min


@dataclass(frozen=True)
class Rule:
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    inf_ok: bool = False  # +inf is accepted: ``meaning`` says what it means
    meaning: str = ""

    def check(self, v: float) -> str | None:
        """Why ``v`` is out of range, or None."""
        if isinstance(v, float) and math.isnan(v):
            return f"must be a number, got {v}"
        if isinstance(v, float) and math.isinf(v):
            if v > 0 and self.inf_ok:
                return None
            return f"must be finite, got {v}" + (f" ({self.meaning})" if self.meaning else "")
        g = _shown(v, self.gt, self.ge, self.lt, self.le)
        if self.gt is not None and not v > self.gt:
            return f"must be > {g(self.gt)}, got {g(v)}"
        if self.ge is not None and not v >= self.ge:
            return f"must be >= {g(self.ge)}, got {g(v)}"
        if self.lt is not None and not v < self.lt:
            return f"must be < {g(self.lt)}, got {g(v)}"
        if self.le is not None and not v <= self.le:
            return f"must be <= {g(self.le)}, got {g(v)}"
        if v != 0 and abs(v) < MIN_NORMAL:  # "0 or" only where 0 is in range ('> 0' said
            zero = self.check(0) is None  # "0 or at least 2.23e-308", and refused 0)
            return (f"must be {'0 or ' if zero else ''}at least {MIN_NORMAL:.3g} in magnitude, "
                    f"got {v:g} (a subnormal number: it keeps too few digits and its reciprocal "
                    "is infinite)")
        if self.le is None and self.lt is None and abs(v) > MAX_MAGNITUDE:
            return (f"must be at most {MAX_MAGNITUDE:g} in magnitude, got {v:g} (no quantity of "
                    "the model is that large; see sim/config/rules.py)")
        return None


def _shown(v, *bounds) -> Callable[[Any], str]:
    """How the value and its bounds are written in a message: in full when all are integers
    (``2**128 + 1`` and ``2**128`` both read 3.40282e+38 in ``%g``), else ``%g``, or the
    shortest form that tells the value from a bound it reads as (``plan.attainment=1.0000001``
    was "must be <= 1, got 1")."""
    exact = all(isinstance(x, int) and not isinstance(x, bool) for x in (v, *bounds) if x is not None)
    if exact:
        return str
    if any(b is not None and f"{v:g}" == f"{b:g}" and v != b for b in bounds):
        return lambda x: repr(float(x))
    return lambda x: f"{x:g}"


def rule(default: Any = MISSING, *, factory: Callable[[], Any] | None = None, **kw) -> Any:
    """A dataclass field with a :class:`Rule` (``gt``, ``ge``, ``lt``, ``le``, ``inf_ok``,
    ``meaning``)."""
    meta = {"rule": Rule(**kw)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


# the usual shapes
def positive(default: Any = MISSING, **kw) -> Any:
    return rule(default, gt=0, **kw)


def nonneg(default: Any = MISSING, **kw) -> Any:
    return rule(default, ge=0, **kw)


def fraction(default: Any = MISSING, **kw) -> Any:
    """In (0, 1]: an efficiency, a utilisation, a share that cannot be zero."""
    return rule(default, gt=0, le=1, **kw)


def probability(default: Any = MISSING, **kw) -> Any:
    """In [0, 1]."""
    return rule(default, ge=0, le=1, **kw)


def count(default: Any = MISSING, lo: int = 1, hi: int = INT_LIMIT, **kw) -> Any:
    return rule(default, ge=lo, le=hi, **kw)


def interval(default: Any = MISSING, **kw) -> Any:
    """A tick, check interval or period: at least :data:`MIN_INTERVAL_S`."""
    return rule(default, ge=MIN_INTERVAL_S, **kw)


def coef_var(default: Any = MISSING, **kw) -> Any:
    """A coefficient of variation. Assumption: within [1e-3, 1e3]; outside it a gamma or
    lognormal draw is a constant or a single spike (and 1/cv^2 under- or overflows)."""
    return rule(default, ge=1e-3, le=1e3, **kw)


def price(default: Any = MISSING, **kw) -> Any:
    """A price: zero (free) or more."""
    return rule(default, ge=0, **kw)
