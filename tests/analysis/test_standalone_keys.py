"""``signals.standalone=true`` beside settings keyed by a tenant's name (hybrid.placement,
serverless.rate_limits): each tenant's "alone" run drops the keys naming the tenants it
removed and keeps those naming itself (sim/analysis/capacity.py: only_tenant). Until
December 2026 the alone runs kept every such key, so ``experiment=hybrid
signals.standalone=true hybrid.placement.chat=dedicated`` stopped with "config key
'hybrid.placement.chat': unknown model or tenant 'chat'" although the run without the
option ran."""

import pytest
from omegaconf import open_dict

import sim
from sim.analysis.breakeven import with_fill
from sim.analysis.standalone import alone, standalone_rows

HYBRID = ["experiment=hybrid", "horizon_s=120"]


@pytest.mark.parametrize("key", ["hybrid.placement.chat=dedicated",
                                 "serverless.rate_limits.chat={rpm: 100000}"])
def test_a_tenant_keyed_setting_runs_with_standalone(key):
    res = sim.run(HYBRID + ["signals.standalone=true", key])
    sig = res.tables["signals"].set_index("tenant")
    # every tenant that sent requests got its standalone pick
    assert sig.loc["chat", "standalone_setup"] and sig.loc["summarize", "standalone_setup"]


def test_alone_keeps_the_keys_of_the_kept_tenant_and_drops_the_others():
    cfg = sim.compose(HYBRID + ["hybrid.placement.chat=dedicated",
                                "serverless.rate_limits.chat={rpm: 5}",
                                "serverless.rate_limits.summarize={rpm: 7}"])
    mine = alone(cfg, "chat")
    assert set(mine.hybrid.placement) == {"llama33-70b", "chat"}  # the model's key stays
    assert set(mine.serverless.rate_limits) == {"chat"}
    other = alone(cfg, "summarize")
    assert set(other.hybrid.placement) == {"llama33-70b"}
    assert set(other.serverless.rate_limits) == {"summarize"}
    assert other.serverless.rate_limits.summarize.rpm == 7
    # the configuration it came from is left as it was
    assert set(cfg.serverless.rate_limits) == {"chat", "summarize"}


def test_the_kept_tenants_rate_limit_applies_alone():
    """A rate limit counts the tenant's own requests only: alone (the same requests) it
    rejects exactly what it rejected in the shared run, on every setup."""
    args = HYBRID + ["serverless.rate_limits.chat={rpm: 2}"]
    res = sim.run(args)
    s = res.summary
    shared = s[s.tenant == "chat"].set_index("setup")
    rows = standalone_rows(sim.compose(args), ["chat"])["chat"]
    assert shared.loc["serverless", "rejected"] > 0
    for setup in ("serverless", "dedicated", "hybrid"):
        assert rows.loc[setup, "requests"] == shared.loc[setup, "requests"]
        assert rows.loc[setup, "rejected"] == shared.loc[setup, "rejected"], setup


def test_the_batch_fill_keeps_its_own_keys():
    """The break-even's fill run keeps the swept tenant and the fill: both their keys stay,
    a third tenant's go with it."""
    cfg = sim.compose(["experiment=batch_fill", "serverless.rate_limits.bulk={rpm: 9}"])
    with open_dict(cfg):
        cfg.tenants["other"] = cfg.tenants.chat
        cfg.serverless.rate_limits["other"] = cfg.serverless.rate_limits.bulk
    out = with_fill(cfg, "chat", "bulk")
    assert list(out.tenants) == ["chat", "bulk"] and out.serverless.rate_limits.bulk.rpm == 9
    assert "other" not in out.serverless.rate_limits
