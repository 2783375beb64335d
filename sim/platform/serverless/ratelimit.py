"""Per-tenant rate limits: requests per minute, tokens per minute, concurrent requests.

Request and token limits are token buckets holding one minute's allowance (so a tenant may
burst up to its per-minute limit, then is held to the refill rate), the way API gateways
usually enforce "per minute" quotas. A request counts its prompt plus output tokens. A
request is charged only once the pool takes it (:meth:`TenantLimiter.check`, then
:meth:`TenantLimiter.take`): one that breaks a limit, or that the pool then turns away for
another reason (``exceeds_kv_capacity``, ``queue_full``), consumes nothing. Until December
2026 the limiter was charged first, so two requests rejected ``exceeds_kv_capacity`` took an
``rpm: 2`` tenant's whole bucket and its next two, which fitted, were rejected
``rate_limit_rpm``. A request of more tokens than the tpm bucket holds can never be admitted:
it is rejected ``rate_limit_tpm_oversize``, which the run's rejection note explains. Plain
class (no simpy).
"""

from __future__ import annotations

import math


def effective_limits(own, default) -> tuple:
    """A tenant's ``(rpm, tpm, concurrency)``: each field its own entry (``own``, a
    ``serverless.rate_limits.<tenant>``, or None) sets, else ``default``'s
    (``serverless.default_rate_limit``), as an override of a default does; ``inf``, which
    lifts a default's rpm or tpm for the tenant, and unset give None (no limit). Until
    December 2026 a tenant's entry replaced the default whole: ``{rpm: 100000}`` dropped a
    default ``concurrency: 1``, unsaid."""
    out = []
    for f in ("rpm", "tpm", "concurrency"):
        v = getattr(own, f) if own is not None else None
        if v is None:
            v = getattr(default, f)
        out.append(None if v is None or (isinstance(v, float) and math.isinf(v)) else v)
    return tuple(out)


class TokenBucket:
    def __init__(self, per_minute: float):
        if not per_minute > 0:
            raise ValueError("limit must be > 0")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = self.capacity
        self.t = 0.0

    def _refill(self, now: float) -> None:
        if now > self.t:
            self.level = min(self.capacity, self.level + (now - self.t) * self.rate)
            self.t = now

    def can_take(self, now: float, amount: float) -> bool:
        self._refill(now)
        return self.level >= amount - 1e-9

    def take(self, amount: float) -> None:
        self.level -= amount


class TenantLimiter:
    def __init__(self, rpm: float | None = None, tpm: float | None = None,
                 concurrency: int | None = None):
        self.rpm = TokenBucket(rpm) if rpm is not None else None
        self.tpm = TokenBucket(tpm) if tpm is not None else None
        self.max_conc = int(concurrency) if concurrency is not None else None
        if self.max_conc is not None and self.max_conc < 1:
            raise ValueError("concurrency limit must be >= 1")
        self.in_flight = 0

    def check(self, now: float, tokens: int) -> str | None:
        """None if a request of ``tokens`` fits every limit now (nothing charged: see
        :meth:`take`), else the rejection reason."""
        if self.tpm is not None and tokens > self.tpm.capacity + 1e-9:
            return "rate_limit_tpm_oversize"  # no refill ever lets it in
        if self.max_conc is not None and self.in_flight >= self.max_conc:
            return "rate_limit_concurrency"
        if self.rpm is not None and not self.rpm.can_take(now, 1.0):
            return "rate_limit_rpm"
        if self.tpm is not None and not self.tpm.can_take(now, tokens):
            return "rate_limit_tpm"
        return None

    def take(self, tokens: int) -> None:
        """Charge a request :meth:`check` let through and the pool took."""
        if self.rpm is not None:
            self.rpm.take(1.0)
        if self.tpm is not None:
            self.tpm.take(tokens)
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
