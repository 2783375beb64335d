"""Keys of prefix caching given to a run that caches nothing (``prefix_caching: false``):
``block_size`` sets only which cached tokens a hit reuses and an eviction frees (memory is
counted a token at a time), and ``cache_aware`` routing, finding no prefix cached anywhere,
routes as ``jsq``, so its ``cache_router`` settings change nothing. Until December 2026 both
were unsaid, while ``host_cache_gb`` in the same case was said "not read by this run"."""

from __future__ import annotations

import pytest
from helpers import later_wins

import sim

M = "deployments.llama31-8b"
OFF = [f"{M}.prefix_caching=false", "horizon_s=5", "output.progress=false",
       "tenants.chat.arrival.rate_rps=40", "dedicated.replicas.llama31-8b=3"]


def _said(res, key) -> list[str]:
    return [n for n in res.notes if n.startswith(f"not read by this run: {key} (")]


@pytest.mark.parametrize("admission", ["reserve", "paged"])
def test_block_size_is_unread_and_said_without_caching(admission):
    runs = [sim.run(later_wins([*OFF, f"{M}.admission={admission}", f"{M}.block_size={b}"])) for b in (16, 1024)]
    assert runs[0].requests.equals(runs[1].requests)  # the invariant the note rests on
    assert len(_said(runs[1], f"{M}.block_size")) == 1, runs[1].notes
    on = sim.run(later_wins([*OFF, f"{M}.prefix_caching=true", f"{M}.block_size=32"]))
    assert _said(on, f"{M}.block_size") == []


def test_cache_aware_routing_without_caching_is_jsq_and_said():
    jsq = sim.run([*OFF, "dedicated.router=jsq"])
    ca = sim.run([*OFF, "dedicated.router=cache_aware", "dedicated.cache_router.threshold=0.5",
                  "dedicated.cache_router.balance_abs=2"])
    assert jsq.requests.equals(ca.requests)
    assert len(_said(ca, "dedicated.cache_router.threshold")) == 1, ca.notes
    assert len(_said(ca, "dedicated.cache_router.balance_abs")) == 1, ca.notes
    assert [n for n in ca.notes if "routes as jsq" in n and n.startswith("dedicated.router")], ca.notes
    assert not [n for n in jsq.notes if "routes as jsq" in n]
