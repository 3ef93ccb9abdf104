"""iot-geo: the geography of England's Institutes of Technology competition.

Areas (LEPs, Combined Authorities, districts, regions, Opportunity Areas),
providers, small-area population, travel-to-learn catchments on real road
networks, overlap between competing bids, and maps.

Every public name is importable from here, but each is imported on first use
(a module ``__getattr__``, PEP 562): ``import iot_geo`` stays light, so the
command line starts fast and never loads geopandas, folium or matplotlib for
work that does not need them.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from iot_geo.settings import package_version

if TYPE_CHECKING:  # the names below, for type checkers and IDEs; at run time they load on first use
    from iot_geo.batch import batch, coverage, coverage_totals, where_next
    from iot_geo.bids import Bid, Bids, read_bids
    from iot_geo.catchment import as_sites, catchments, lsoa_times, people_reached, times_to_points, travel_times
    from iot_geo.checks import check_bids
    from iot_geo.errors import (
        ChecksumError,
        DataNotFoundError,
        DownloadError,
        InvalidInputError,
        IotGeoError,
        NetworkBuildError,
    )
    from iot_geo.evidence import area_evidence
    from iot_geo.hub_spoke import hub_spoke, suggest_spokes
    from iot_geo.locate import locate
    from iot_geo.maps import make_map
    from iot_geo.network import TravelNetwork, load_network
    from iot_geo.outputs import write
    from iot_geo.overlap import overlap, overlap_areas
    from iot_geo.postcodes import lookup_postcodes
    from iot_geo.routing import RoutingNetwork, SiteTimes
    from iot_geo.search import TravelTimes
    from iot_geo.sources.boundaries import load_areas
    from iot_geo.sources.population import load_population
    from iot_geo.sources.providers import load_providers, read_providers
    from iot_geo.speeds import Speeds

#: Where each public name lives.
_LAZY: dict[str, str] = {
    "batch": "iot_geo.batch", "coverage": "iot_geo.batch", "coverage_totals": "iot_geo.batch",
    "where_next": "iot_geo.batch",
    "Bid": "iot_geo.bids", "Bids": "iot_geo.bids", "read_bids": "iot_geo.bids",
    "catchments": "iot_geo.catchment", "lsoa_times": "iot_geo.catchment",
    "people_reached": "iot_geo.catchment", "times_to_points": "iot_geo.catchment",
    "travel_times": "iot_geo.catchment", "as_sites": "iot_geo.catchment",
    "area_evidence": "iot_geo.evidence",
    "write": "iot_geo.outputs",
    "lookup_postcodes": "iot_geo.postcodes",
    "RoutingNetwork": "iot_geo.routing", "SiteTimes": "iot_geo.routing",
    "TravelTimes": "iot_geo.search",
    "check_bids": "iot_geo.checks",
    "ChecksumError": "iot_geo.errors", "DataNotFoundError": "iot_geo.errors", "DownloadError": "iot_geo.errors",
    "InvalidInputError": "iot_geo.errors", "IotGeoError": "iot_geo.errors", "NetworkBuildError": "iot_geo.errors",
    "hub_spoke": "iot_geo.hub_spoke", "suggest_spokes": "iot_geo.hub_spoke",
    "locate": "iot_geo.locate",
    "make_map": "iot_geo.maps",
    "TravelNetwork": "iot_geo.network", "load_network": "iot_geo.network",
    "overlap": "iot_geo.overlap", "overlap_areas": "iot_geo.overlap",
    "load_areas": "iot_geo.sources.boundaries",
    "load_population": "iot_geo.sources.population",
    "load_providers": "iot_geo.sources.providers", "read_providers": "iot_geo.sources.providers",
    "Speeds": "iot_geo.speeds",
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use and keep it (PEP 562)."""
    value: Any
    if name == "__version__":
        value = package_version()
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'iot_geo' has no attribute {name!r}")
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """The package's module type: ``overlap``, ``hub_spoke`` and ``locate`` stay functions.

    Importing a submodule binds its name on the package; where a submodule is
    named like the public function it holds (``iot_geo.overlap.overlap``), the
    function keeps the name, as it did when ``__init__`` imported it eagerly.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == value.__name__ and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "Bid",
    "Bids",
    "ChecksumError",
    "DataNotFoundError",
    "DownloadError",
    "InvalidInputError",
    "IotGeoError",
    "NetworkBuildError",
    "RoutingNetwork",
    "SiteTimes",
    "Speeds",
    "TravelNetwork",
    "TravelTimes",
    "__version__",
    "area_evidence",
    "as_sites",
    "batch",
    "catchments",
    "check_bids",
    "coverage",
    "coverage_totals",
    "hub_spoke",
    "load_areas",
    "load_network",
    "load_population",
    "load_providers",
    "locate",
    "lookup_postcodes",
    "lsoa_times",
    "make_map",
    "overlap",
    "overlap_areas",
    "people_reached",
    "read_bids",
    "read_providers",
    "suggest_spokes",
    "times_to_points",
    "travel_times",
    "where_next",
    "write",
]
