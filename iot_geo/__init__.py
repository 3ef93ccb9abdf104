"""iot-geo: the geography of England's Institutes of Technology competition.

Areas (LEPs, Combined Authorities, districts, regions, Opportunity Areas),
providers, small-area population, travel-to-learn catchments on real road
networks, overlap between competing bids, and maps.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from iot_geo.batch import batch, coverage, coverage_totals, where_next
from iot_geo.bids import Bid, Bids, read_bids
from iot_geo.catchment import (
    TravelTimes,
    catchments,
    lsoa_times,
    people_reached,
    times_to_points,
    travel_times,
)
from iot_geo.checks import check_bids
from iot_geo.errors import (
    ChecksumError,
    DataNotFoundError,
    DownloadError,
    InvalidInputError,
    IotGeoError,
    NetworkBuildError,
)
from iot_geo.hub_spoke import hub_spoke, suggest_spokes
from iot_geo.locate import locate
from iot_geo.maps import make_map
from iot_geo.network import TravelNetwork, load_network
from iot_geo.overlap import overlap, overlap_areas
from iot_geo.sources.boundaries import load_areas
from iot_geo.sources.population import load_population
from iot_geo.sources.providers import load_providers, read_providers
from iot_geo.speeds import Speeds

try:
    __version__ = version("iot-geo")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Bid",
    "Bids",
    "ChecksumError",
    "DataNotFoundError",
    "DownloadError",
    "InvalidInputError",
    "IotGeoError",
    "NetworkBuildError",
    "Speeds",
    "TravelNetwork",
    "TravelTimes",
    "__version__",
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
]
