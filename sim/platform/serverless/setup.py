"""The ``serverless`` setup: every model of the run on one shared pool, background included."""

from __future__ import annotations

from sim.platform.serverless.platform import ServerlessPlatform


class ServerlessSetup:
    name = "serverless"
    serves_background = True  # a shared pool: background tenants are its noisy neighbours

    def __init__(self, ctx, cfg, catalog, models: list[str]):
        self.platform = ServerlessPlatform(ctx, cfg, catalog, dict(enumerate(models)))
        # Setup.submit: the platform's own (every arrival comes this way: no call in between)
        self.submit = self.platform.submit

    def warm_up(self, model_idx: int, tenant: int) -> bool:  # coordinated pre-warm of a pipeline
        return self.platform.warm_up(model_idx)

    def held(self) -> list[tuple[int, int]]:
        return self.platform.held()

    def close(self, t_end: float) -> None:
        self.platform.close(t_end)

    def extra(self) -> dict:
        return self.platform.extra()
