"""What every setup shares: the run context it is built with and the Setup protocol.

A setup provides GPUs and bills them. The run (:mod:`sim.simulation.simulate`) builds it
with ``(ctx, cfg, catalog, models)``, offers it each arriving request through
:meth:`Setup.submit`, and calls :meth:`Setup.close` at the end of the billing period; the
setup ends every request it was offered exactly once (through ``ctx.log`` and
``ctx.on_end``) and records its GPU time in ``ctx.ledger``. New setups are one module and
one line in :data:`sim.platform.SETUPS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ClassVar, Iterable, Protocol

from sim.engine import Request
from sim.perf import Deployment
from sim.records import RequestLog, UsageRow


class Setup(Protocol):
    """What a setup offers the run and the pipeline driver."""

    name: ClassVar[str]
    # whether it runs a shared pool that also serves the workload's background tenants
    serves_background: ClassVar[bool]

    def submit(self, req: Request) -> None:
        """Take an arriving request; end it exactly once, now or later."""

    def warm_up(self, model: int, tenant: int) -> bool:
        """Start a replica of ``model`` if none is warm or loading (a pipeline's coordinated
        pre-warm for ``tenant``'s stage requests, which decides their tier where the setup has
        two); False when there is nothing to start."""

    def held(self) -> Iterable[tuple[Request, int]]:
        """When the run stops: ``(request, tier code)`` of each request it still holds,
        the code of the tier whose queue or replica holds it (the run fails them,
        ``unfinished_at_end``, in that tier)."""

    def close(self, t_end: float) -> None:
        """Settle the ledger at the end of the billing period ``[0, t_end]``."""

    def extra(self) -> dict:
        """Results beyond the log and ledger: ``tables`` (named frames), ``cold_starts``,
        ``stats``, ``events`` (an :class:`~sim.metrics.events.EventLog`) ..."""


# --------------------------------------------------------------------------- run context
@dataclass
class RunContext:
    """What a setup needs from the run: clock, log, engine choice, and the end-of-request
    callback that drives closed loops and pipelines."""

    env: object
    log: RequestLog
    engine: str
    perf_for: Callable[..., object]  # (model_key, runtime_speedup) -> PerfModel
    deployment_for: Callable[[str], Deployment]
    on_end: Callable[[Request, float], None] = lambda req, now: None
    ledger: list[UsageRow] = field(default_factory=list)
    next_replica_id: int = 0
    # every replica's replicas.csv row by its engine id (a request's ``replica`` is the row it
    # completed on: the ids of recovered replicas, burst requests and spot replacements run
    # ahead of the rows), kept after the replica stops
    row_of: dict[int, int] = field(default_factory=dict)
    tenant_names: list[str] = field(default_factory=list)  # by tenant index (rate limits)
    n_user_tenants: int | None = None  # tenants after these are background (None: none are)
    # the models each tenant calls (a pipeline tenant: its stages'), by tenant name
    tenant_models: dict[str, list[str]] = field(default_factory=dict)
    workload: object = None  # the generated Workload (a warm pool sizes itself from it)

    # ending a request: write its outcome once, then tell the run (closed loops, pipelines)
    def complete(self, req: Request, tier_code: int, now: float) -> None:
        self.log.complete(req, tier_code)
        self.on_end(req, now)

    def reject(self, req: Request, reason: str, tier_code: int) -> None:
        now = self.env.now
        self.log.reject(req.id, reason, tier_code, now, req)
        self.on_end(req, now)

    def fail(self, req: Request, reason: str, tier_code: int, now: float) -> None:
        self.log.fail(req.id, reason, tier_code, now, req)
        self.on_end(req, now)

    def add_row(self, row: UsageRow) -> int:
        """Append a replica life to the ledger; its place there (``replicas.csv``'s ``row``,
        ``events.csv``'s ``replica``)."""
        self.ledger.append(row)
        return len(self.ledger) - 1

    def new_replica_id(self, row: int = -1) -> int:
        """An engine id for a replica whose ledger row is ``row`` (recorded in :attr:`row_of`
        when given)."""
        rid = self.next_replica_id
        self.next_replica_id += 1
        if row >= 0:
            self.row_of[rid] = row
        return rid
