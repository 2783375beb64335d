"""Two messages that said something false of a value they rightly refused."""

import pytest

import sim
from sim.config.rules import MIN_NORMAL, Rule
from sim.errors import InputError
from sim.workload.background import interval_text

RULES = [Rule(gt=0), Rule(ge=0), Rule(gt=0, le=1), Rule(ge=0, le=1), Rule(gt=-1),
         Rule(lt=0), Rule(), Rule(ge=-5, le=5)]


@pytest.mark.parametrize("r", RULES, ids=repr)
@pytest.mark.parametrize("v", [1e-320, -1e-320])
def test_a_subnormal_is_offered_zero_only_where_zero_is_in_range(r, v):
    """`rpm: 1e-320` said "must be 0 or at least 2.23e-308", and `rpm: 0` is refused."""
    why = r.check(v)
    if why is None or "subnormal" not in why:
        return  # refused by its bound first (a negative under gt=0), or in range
    assert ("0 or at least" in why) == (r.check(0) is None), why
    assert f"at least {MIN_NORMAL:.3g}" in why


def test_rate_limit_rpm_subnormal_does_not_offer_zero():
    with pytest.raises(InputError) as e:
        sim.run(["setups=[serverless]", "serverless.rate_limits={chat: {rpm: 1e-320}}",
                 "horizon_s=1", "output.plots=false"])
    assert "0 or" not in str(e.value) and "serverless.rate_limits.chat.rpm" in str(e.value)
    with pytest.raises(InputError) as zero:  # 0 is refused: the message must not offer it
        sim.run(["setups=[serverless]", "serverless.rate_limits={chat: {rpm: 0}}",
                 "horizon_s=1", "output.plots=false"])
    assert "must be > 0" in str(zero.value)


@pytest.mark.parametrize("lo,span", [(0.0, 3600.0), (1e12, 1200.0), (1e16, 3600.0), (5.5, 0.25)])
def test_an_interval_reads_as_long_as_it_is(lo, span):
    """start_s=1e12 and an hour's horizon were written [1e+12, 1e+12) s, which looks empty."""
    text = interval_text(lo, lo + span)
    assert text.startswith("[") and text.endswith(") s")
    a, b = text[1:-3].split(", ")
    assert a != b
    assert abs(float(b) - float(a) - span) <= 1e-9 * max(1.0, lo)  # each end as its value


def test_servegen_background_far_start_names_the_real_interval(tmp_path):
    from pathlib import Path

    traces = Path("/work/shared/traces/servegen/m-large_client_windows.csv.gz")
    if not traces.exists():
        pytest.skip("ServeGen windows not present")
    with pytest.raises(InputError) as e:
        sim.run(["experiment=noisy_neighbour", "background.servegen.start_s=1e12",
                 "horizon_s=1200", "output.plots=false"])
    msg = str(e.value)
    assert "background.servegen.start_s" in msg
    a, b = msg.split("[", 1)[1].split(")", 1)[0].split(", ")
    assert float(a) == 1e12 and float(b) == 1e12 + 1200
