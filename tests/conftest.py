"""Shared fixtures: the data directory (../shared/data by default) and a private cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    data = Path(os.environ.get("IOT_GEO_DATA") or DEFAULT_DATA)
    if not (data / "boundaries").is_dir():
        raise pytest.UsageError(
            f"test data directory {data} not found: set IOT_GEO_DATA to the shared data folder"
        )
    os.environ["IOT_GEO_DATA"] = str(data.resolve())
    os.environ.setdefault("IOT_GEO_CACHE", str(REPO / ".pytest_cache" / "iot-geo-cache"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return Path(os.environ["IOT_GEO_DATA"])
