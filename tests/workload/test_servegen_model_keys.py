"""``tenants_from.servegen.models``: a key names a client by its id's value, and an entry the
run does not read is said. Until December 2026 a key was looked up as written, so ``"051"``
passed the all-digits check and matched no client (client 51 ran on the default model,
unsaid), and an entry for a client not chosen (``models.999``) was ignored unsaid."""

from __future__ import annotations

import pytest

import sim
from sim.errors import InputError
from sim.simulation.build import expand_tenants

KEY = "tenants_from.servegen"


def _windows(tmp_path) -> list[str]:
    """Two clients, 7 and 51, each one 600 s Poisson window (Gamma shape 1) at 1 req/s."""
    p = tmp_path / "w_client_windows.csv"
    p.write_text("client_id,window_start_s,rate_rps,iat_cv,family,shape,scale\n"
                 "7,0,1.0,1.0,Gamma,1.0,1.0\n51,0,1.0,1.0,Gamma,1.0,1.0\n")
    return [f"{KEY}.path={p}", "setups=[serverless]", "horizon_s=10", "output.plots=false",
            "deployments.qwen3-32b={gpu: H100, precision: fp8, tp: 1}"]


def _models(cfg) -> dict:
    return {n: t.model for n, t in expand_tenants(cfg).tenants.items() if n.startswith("sg-")}


def test_a_zero_padded_key_names_the_client_of_that_id(tmp_path):
    cfg = sim.compose(_windows(tmp_path) + [f"{KEY}.client_ids=[7,51]"])
    cfg.tenants_from.servegen.models = {"default": "llama31-8b", "051": "qwen3-32b"}
    assert _models(cfg) == {"sg-7": "llama31-8b", "sg-51": "qwen3-32b"}


def test_two_keys_naming_one_client_are_refused(tmp_path):
    cfg = sim.compose(_windows(tmp_path) + [f"{KEY}.client_ids=[7,51]"])
    cfg.tenants_from.servegen.models = {"51": "qwen3-32b", "051": "llama31-8b"}
    with pytest.raises(InputError) as e:
        expand_tenants(cfg)
    assert e.value.key == f"{KEY}.models.051" and "'51'" in str(e.value)


@pytest.mark.parametrize("key", ["²", "٥١"])  # digits to str.isdigit, not client ids
def test_a_non_ascii_digit_key_is_refused_naming_it(tmp_path, key):
    cfg = sim.compose(_windows(tmp_path) + [f"{KEY}.client_ids=[51]"])
    cfg.tenants_from.servegen.models = {"default": "llama31-8b", key: "qwen3-32b"}
    with pytest.raises(InputError) as e:
        expand_tenants(cfg)
    assert e.value.key == f"{KEY}.models.{key}"


def test_an_entry_for_a_client_not_chosen_is_said_not_read(tmp_path):
    res = sim.run(_windows(tmp_path) + [f"{KEY}.client_ids=[7]", f"{KEY}.models.999=qwen3-32b"])
    assert (f"not read by this run: {KEY}.models.999 (client 999 is not among the clients "
            "chosen (7), so no tenant of it runs)") in res.notes
    r = res.requests
    assert set(r[r["tenant"] == "sg-7"]["model"]) == {"llama31-8b"}


def test_default_is_said_not_read_when_every_client_has_its_own_entry(tmp_path):
    res = sim.run(_windows(tmp_path) + [f"{KEY}.client_ids=[51]", f"{KEY}.models.default=llama31-8b",
                                        f"{KEY}.models.51=qwen3-32b"])
    said = [n for n in res.notes if f"{KEY}.models" in n]
    assert said == [f"not read by this run: {KEY}.models.default (every client chosen (51) has "
                    f"its own entry in {KEY}.models)"]
    r = res.requests
    assert set(r[r["tenant"] == "sg-51"]["model"]) == {"qwen3-32b"}


@pytest.mark.parametrize("ids, said", [
    ("[7]", "only its first 1 entry is read, one per client chosen (1): qwen3-32b takes no client"),
    ("[7,51]", None)])
def test_background_models_past_the_clients_are_said_not_read(tmp_path, ids, said):
    # background.servegen.models is a list the chosen clients take in turn (not keyed by
    # client): a second model for one client took none, unsaid until December 2026
    base = [a.replace(f"{KEY}.path", "background.servegen.path") for a in _windows(tmp_path)]
    res = sim.run(base + [f"background.servegen.client_ids={ids}",
                          "background.servegen.models=[llama31-8b,qwen3-32b]"])
    got = [n for n in res.notes if "background.servegen.models" in n]
    assert got == ([f"not read by this run: background.servegen.models ({said})"] if said else [])
    bg = res.requests[res.requests["tenant"].str.startswith("bg/")]
    assert set(bg["model"]) == ({"llama31-8b"} if said else {"llama31-8b", "qwen3-32b"})
