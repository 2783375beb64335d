"""Shared fixtures; the helpers themselves live in ``tests/helpers``."""

from __future__ import annotations

import pytest
from helpers import ROOT
from omegaconf import OmegaConf

from sim.catalog import catalog_from_config
from sim.config import CatalogConfig


@pytest.fixture(scope="session")
def catalog():
    base = OmegaConf.structured(CatalogConfig)
    return catalog_from_config(OmegaConf.merge(base, OmegaConf.load(ROOT / "conf/catalog/default.yaml")))
