"""One routing interface for every kind of network, and the loader that gives one by mode.

:class:`RoutingNetwork` is what catchments, people counting, hub and spoke,
overlap, checks, batch runs and reports need from a network; a road
:class:`iot_geo.network.TravelNetwork` (drive, cycle, walk) and a timetable
:class:`iot_geo.transit.TransitNetwork` both implement it, so those callers
never ask which kind they hold (as with r5py's ``TransportNetwork``). The
steps of a catchment on any network:

1. :meth:`RoutingNetwork.covers`: which sites can join the network;
2. :meth:`RoutingNetwork.search`: minutes between every node (a road
   junction, a stop) and each site, a :class:`SiteTimes`;
3. :meth:`RoutingNetwork.minutes_to_points`: minutes between points (homes,
   LSOA centroids) and each site, with their own access leg, and
   :meth:`RoutingNetwork.covered` for the points the network can time at all;
4. :meth:`RoutingNetwork.time_grid`: the land reached, as a
   :class:`iot_geo.grids.TimeGrid` to contour;
5. :attr:`RoutingNetwork.frontier`: the nodes on the edge of the data (a
   catchment that reaches one is truncated).

:func:`iot_geo.network.load_network` reads either kind by ``mode`` (``"transit"``
takes a GTFS feed, the others a road network): the one place that knows both
kinds. This module imports neither: the interface is structural (a
``typing.Protocol``), so the networks implement it without importing it.

Times to points, layer by layer (one name per layer):

- :func:`iot_geo.catchment.times_to_points`: the public table (sites x points,
  with each point's access distance), on any network;
- :meth:`RoutingNetwork.minutes_to_points`: the interface method it calls;
- :func:`iot_geo.search.point_minutes` (roads) and
  :meth:`iot_geo.transit.TransitNetwork.minutes_via_stops` (timetables): how
  each kind does it; :func:`iot_geo.search.segment_point_times` is the road's
  step from the two ends of a point's segment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import geopandas as gpd
    import numpy as np

    from iot_geo.grids import TimeGrid
    from iot_geo.speeds import Speeds

__all__ = ["RoutingNetwork", "SiteTimes"]


class SiteTimes(Protocol):
    """What a search from sites found: minutes between every node and each site.

    ``per_site`` is ``(n_sites, n_nodes)`` minutes, ``inf`` where not reached;
    ``max_minutes`` the cutoff the search ran to; ``sites`` the sites as the
    network joined them (a road network adds its snapping columns).

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")
    >>> times = net.search(ig.as_sites({"Oakham": (52.6707, -0.7270)}), max_minutes=15, direction="to_site")
    >>> times.per_site.shape == (1, net.n_nodes), times.direction, times.max_minutes
    (True, 'to_site', 15)
    >>> bool((times.min <= 15).sum() > 1000)
    True
    """

    @property
    def sites(self) -> gpd.GeoDataFrame:
        """The sites searched from (``site_id``, geometry, and what the network adds)."""

    @property
    def direction(self) -> str:
        """``to_site`` or ``from_site``."""

    @property
    def max_minutes(self) -> float:
        """The cutoff of the search, minutes."""

    @property
    def per_site(self) -> np.ndarray:
        """``(n_sites, n_nodes)`` minutes."""

    @property
    def min(self) -> np.ndarray:
        """Minutes per node to (or from) the nearest site."""


@runtime_checkable
class RoutingNetwork(Protocol):
    """A network that times travel between sites and points: roads or a timetable.

    Implemented by :class:`iot_geo.network.TravelNetwork` and
    :class:`iot_geo.transit.TransitNetwork`; see the module docstring for the
    steps of a catchment. ``isinstance(obj, RoutingNetwork)`` works, but on
    Python 3.11 it reads every property of ``obj`` (some compute), so the
    package tells one network from a list of them with ``Sequence`` instead.

    Examples
    --------
    >>> import iot_geo as ig
    >>> from iot_geo.routing import RoutingNetwork
    >>> isinstance(ig.load_network("rutland-2022-07-20.osm.pbf"), RoutingNetwork)
    True
    """

    @property
    def mode(self) -> str:
        """``drive``, ``cycle``, ``walk`` or ``transit``."""

    @property
    def source(self) -> dict[str, Any]:
        """What the network was built from (``file`` and more)."""

    @property
    def n_nodes(self) -> int:
        """Number of nodes (road junctions, or stops)."""

    @property
    def node_x(self) -> np.ndarray:
        """Node eastings, EPSG:27700 metres."""

    @property
    def node_y(self) -> np.ndarray:
        """Node northings, EPSG:27700 metres."""

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the nodes, metres."""

    @property
    def frontier(self) -> np.ndarray:
        """Bool per node: on the edge of the loaded data (reaching one truncates a catchment)."""

    @property
    def reach_m(self) -> float:
        """How far from the nodes a point (an LSOA centroid) may lie and still be timed, metres."""

    @property
    def refusal(self) -> str:
        """Why a site that :meth:`covers` refuses cannot join, in words (for tables of skipped sites)."""

    def covers(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each site (EPSG:27700) can join the network."""

    def site_gap_m(self, x: np.ndarray, y: np.ndarray) -> float | None:
        """How far the farthest of these sites lies from the network in metres, where that is measured."""

    def covered(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each point lies where the network can time it (not beyond the edge of its data)."""

    def search(self, sites: gpd.GeoDataFrame, *, max_minutes: float, direction: str,
               snap_max_m: float | None = None) -> SiteTimes:
        """Minutes between every node and each site (sites from :func:`iot_geo.catchment.as_sites`).

        A site that cannot join is an error naming it; ``snap_max_m`` is how far a site may lie from a
        road (road networks; a timetable's limit is its own walk).
        """

    def minutes_to_points(self, times: SiteTimes, x: np.ndarray, y: np.ndarray, *, snap_max_m: float | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
        """``(n_sites, n_points)`` minutes (``inf`` where unreached) and each point's access distance, metres.

        The access distance is the walk from the point onto the network (to its road, or to its nearest
        stop). It is exact for every point that some site reaches; a network may leave it ``inf`` for a
        point nothing reaches (a road network does not snap points far from every node it reached).
        """

    def grid_margin(self, resolution: float) -> float:
        """Minutes to search past the largest band so that its contour is interpolated on both sides."""

    def time_grid(self, times: SiteTimes, idx: np.ndarray, *, resolution: float, access_max_m: float) -> TimeGrid:
        """The travel-time grid of the sites ``idx`` of a search together (the nearest counts)."""

    def describe(self) -> dict[str, Any]:
        """The network's entry in a provenance stamp."""

    def file_ref(self) -> tuple[str, str, Speeds | None, tuple[tuple[str, Any], ...]] | None:
        """How another process can open the same network: ``(kind, path, speeds, options)``, or None."""
