"""The ``iot-geo`` command: a thin shell over the library API.

Every command takes ``--data-dir``, prints readable tables on a terminal and
CSV/JSON with ``--format``, exits 0 on success, 2 on bad input with one line
saying what and where, and shows a traceback only with ``--debug``.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import numbers
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from iot_geo import settings
from iot_geo.errors import IotGeoError, ModifiedDataWarning
from iot_geo.files import check_folder, check_output
from iot_geo.provenance import dumps as stamp_json
from iot_geo.provenance import read as read_stamp
from iot_geo.provenance import stamp
from iot_geo.sources import catalogue
from iot_geo.speeds import Speeds, park_note, read_speeds

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "app", "areas", "batch_cmd", "bids_check", "catchment_cmd", "coverage_cmd", "data_check", "data_fetch",
    "data_list", "demo_cmd", "emit", "evidence_cmd", "expand_multi_values", "format_cell", "hubspoke_cmd",
    "load_networks", "locate_cmd", "main", "map_cmd", "network_file", "networks_cmd", "overlap_cmd", "provenance_cmd",
    "providers_cmd", "report_cmd", "suggest_spokes_cmd", "where_next_cmd",
]


# pandas, geopandas and every iot_geo module that needs them are imported inside the commands on purpose
# (deferred): `iot-geo --help` and the first lines of any command then start in a fraction of a second.

#: A boolean option, shown in --help as a flag (no "<bool>" after it).
_flag = functools.partial(typer.Option, metavar="")

app = typer.Typer(
    name="iot-geo",
    help="Geography of England's Institutes of Technology competition.\n\n"
    "Example: iot-geo --data-dir ../shared/data locate 52.67 -0.73",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="The dataset catalogue: list, fetch, check.", no_args_is_help=True)
app.add_typer(data_app, name="data")
bids_app = typer.Typer(help="Bid files: check them against the competition's rules.", no_args_is_help=True)
app.add_typer(bids_app, name="bids")

out = Console()
err = Console(stderr=True)
_state: dict[str, Any] = {"debug": False}

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help=f"Data directory (default ${settings.DATA_ENV}, else the user data folder)."),
]
Format = Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")]


def _set_data_dir(data_dir: Path | None) -> None:
    if data_dir is not None:
        settings.data_dir = data_dir


@app.callback()
def _main(
    data_dir: DataDir = None,
    debug: Annotated[bool, _flag("--debug", help="Show tracebacks and debug logging.")] = False,
    allow_modified_data: Annotated[bool, _flag(
        "--allow-modified-data",
        help="Read dataset files that differ from the catalogue's sha256, with a warning recorded in every "
             "output's provenance (default: such a file is an error).")] = False,
) -> None:
    _state["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(message)s")
    if not debug:
        import warnings

        warnings.showwarning = _show_warning
    _set_data_dir(data_dir)
    if allow_modified_data:
        settings.allow_modified_data = True
        _show_modified_data_warnings()


def _show_modified_data_warnings() -> None:
    """Print each modified-data warning as one readable line on stderr."""
    import warnings

    shown = warnings.showwarning

    def show(message: Any, category: Any, *args: Any, **kw: Any) -> None:
        if issubclass(category, ModifiedDataWarning):
            err.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)
        else:
            shown(message, category, *args, **kw)

    warnings.showwarning = show


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """A warning the library gives (a cache it cannot write, say) as one line, not a source listing."""
    err.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)


def _is_count(column: str) -> bool:
    """Columns of people (and other counts) that a reader wants as ``37,462``."""
    return column.startswith(("people", "imd_")) or column.endswith("_people") or column in ("lsoas", "population")


def format_cell(v: Any, column: str = "") -> str:
    """One value as a person reads it: counts with thousands separators, no ``.00`` on whole numbers."""
    if isinstance(v, list | tuple):
        return ", ".join(map(str, v))
    if v is None or (isinstance(v, float) and math.isnan(v)) or type(v).__name__ == "NAType":  # pandas.NA
        return ""
    if isinstance(v, bool):
        return str(v)
    if _is_count(column) and isinstance(v, numbers.Real) and float(v).is_integer():
        return f"{int(float(v)):,}"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        v = float(v)
        return f"{v:,.0f}" if v.is_integer() and abs(v) >= 100 else f"{v:,.2f}"
    return str(v)


def emit(df: pd.DataFrame, fmt: str, *, title: str | None = None) -> None:
    """Print a table as a rich table, CSV or JSON (geometry dropped)."""
    import pandas as pd  # deferred on purpose: see the note at the top

    if "geometry" in df.columns:
        df = pd.DataFrame(df.drop(columns="geometry"))
    if fmt == "csv":
        # deferred: outputs imports geopandas; `iot-geo --help` stays fast
        from iot_geo.outputs import to_csv_text

        sys.stdout.write(to_csv_text(df))
    elif fmt == "json":
        sys.stdout.write(df.to_json(orient="records", force_ascii=False, indent=1) + "\n")
    elif fmt == "table":
        table = Table(title=title, show_lines=False)
        for c in df.columns:
            table.add_column(str(c), overflow="fold")
        for row in df.itertuples(index=False):
            table.add_row(*(format_cell(v, str(c)) for v, c in zip(row, df.columns, strict=True)))
        out.print(table)
    else:
        raise IotGeoError(f"unknown --format {fmt!r}; use table, csv or json")


@data_app.command("list")
def data_list(data_dir: DataDir = None, fmt: Format = "table") -> None:
    """List every dataset: title, publisher, vintage, licence, kind and file.

    Example: iot-geo data list --format csv
    """
    import pandas as pd  # deferred on purpose: see the note at the top

    _set_data_dir(data_dir)
    rows = [
        {
            "name": d.name, "title": d.title, "publisher": d.publisher, "vintage": d.vintage,
            "licence": d.licence, "kind": d.kind, "files": [f.path for f in d.files],
            "download": "yes" if d.downloadable else ("built" if d.kind == "derived" else "data dir only"),
            "official_url": d.official_url or "", "attribution": d.attribution,
        }
        for d in catalogue.DATASETS
    ]
    df = pd.DataFrame(rows)
    emit(df if fmt != "table" else df[["name", "title", "vintage", "licence", "kind", "download"]], fmt,
         title="iot-geo datasets")


@data_app.command("fetch")
def data_fetch(
    names: Annotated[list[str] | None, typer.Argument(help="Dataset names (default: all downloadable).")] = None,
    data_dir: DataDir = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Mirror serving the data directory layout.")] = None,
    force: Annotated[bool, _flag("--force", help="Download again even if intact.")] = False,
) -> None:
    """Download datasets into the data directory, verifying each sha256.

    osm:REGION downloads the OpenStreetMap extract of a Geofabrik region id (rutland, leicestershire,
    greater-london, england, ...) into osm/, md5-checked; --base-url then names a mirror of Geofabrik.

    Example: iot-geo data fetch lep2021 lad2017 --data-dir ~/iot-data

    Example: iot-geo data fetch osm:rutland
    """
    # deferred: geofabrik imports requests and geopandas; `iot-geo --help` stays fast
    from iot_geo.sources.geofabrik import PREFIX, fetch_osm

    _set_data_dir(data_dir)
    regions = [n for n in names or [] if n.startswith(PREFIX)]
    for r in regions:
        got = fetch_osm(r, base_url=base_url, show_progress=err.is_terminal)
        err.print(f"{r}: {got} (use it as --network {got.name})")
    names = [n for n in names or [] if not n.startswith(PREFIX)]
    if regions and not names:
        return
    paths = catalogue.fetch(names or None, base_url=base_url, force=force, show_progress=err.is_terminal)
    err.print(f"{len(paths)} file(s) present and intact in {settings.get_data_dir()}")


@data_app.command("check")
def data_check(data_dir: DataDir = None, fmt: Format = "table") -> None:
    """Say for each dataset file whether it is present and intact.

    Example: iot-geo data check --data-dir ../shared/data
    """
    import pandas as pd  # deferred on purpose: see the note at the top

    _set_data_dir(data_dir)
    df = pd.DataFrame([s.__dict__ for s in catalogue.check()])
    emit(df, fmt, title=f"data directory {settings.get_data_dir()}")
    bad = df[(df["status"] == "corrupt")]
    if len(bad):
        err.print(f"[red]{len(bad)} corrupt file(s)[/red]: run `iot-geo data fetch --force NAME`")
        raise typer.Exit(1)


@app.command("areas")
def areas(
    kind: Annotated[str, typer.Option("--kind", help="lep, ca, lad, oa or region.")] = "lep",
    vintage: Annotated[int | None, typer.Option("--vintage", help="Boundary year (default latest).")] = None,
    data_dir: DataDir = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, json or geojson.")] = "table",
) -> None:
    """List the areas of one kind and vintage.

    Example: iot-geo areas --kind lep --vintage 2017 --format csv
    """
    # deferred: boundaries imports geopandas; `iot-geo --help` stays fast
    from iot_geo.sources.boundaries import load_areas

    _set_data_dir(data_dir)
    gdf = load_areas(kind, vintage)
    if fmt == "geojson":
        sys.stdout.write(gdf.to_crs(settings.wgs84).to_json(drop_id=True) + "\n")
        return
    gdf["area_km2"] = (gdf.geometry.area / 1e6).round(1)
    emit(gdf, fmt, title=f"{kind} areas, vintage {gdf['vintage'].iloc[0] if len(gdf) else vintage}")


@app.command("locate", context_settings={"ignore_unknown_options": True})
def locate_cmd(
    where: Annotated[list[str], typer.Argument(help="LAT LON (WGS84 degrees), or a postcode such as 'LE15 6RP'.",
                                               show_default=False)],
    vintage: Annotated[int | None, typer.Option("--vintage", help="Boundary year (default latest).")] = None,
    data_dir: DataDir = None,
    fmt: Format = "table",
) -> None:
    """Say which district, LEP(s), CA, region and Opportunity Area a point or postcode is in.

    Examples: iot-geo locate 52.67 -0.73 --vintage 2017; iot-geo locate "LE15 6RP"
    """
    import pandas as pd  # deferred on purpose: see the note at the top

    # deferred: locate and postcodes import geopandas, pandas and requests; `iot-geo --help` stays fast
    from iot_geo.locate import locate
    from iot_geo.postcodes import is_postcode, lookup_postcodes

    _set_data_dir(data_dir)
    text = " ".join(where)
    if is_postcode(text):
        hit = _caught(lookup_postcodes, [text]).iloc[0]
        lat, lon, title = float(hit["lat"]), float(hit["lon"]), f"{hit['postcode']} ({hit['lat']:.5f}, {hit['lon']:.5f})"
    else:
        try:
            lat, lon = (float(v) for v in where)
        except ValueError:
            raise IotGeoError(f"locate {text!r}: give LAT LON (for example 52.67 -0.73) or a postcode "
                              "(for example 'LE15 6RP')") from None
        title = f"{lat}, {lon}"
    df = locate(pd.DataFrame({"lat": [lat], "lon": [lon]}), vintage=vintage)
    if fmt == "table":
        row = df.iloc[0]
        table = Table(title=title, show_header=False)
        for k, v in row.items():
            table.add_row(str(k), format_cell(v))
        out.print(table)
    else:
        emit(df, fmt)


@app.command("providers")
def providers_cmd(
    type_: Annotated[list[str] | None, typer.Option("--type", help="Provider type(s), e.g. fe_college.")] = None,
    within: Annotated[str | None, typer.Option("--within", help="Area code (LEP, CA, LAD, region) or OA name.")] = None,
    vintage: Annotated[int | None, typer.Option("--vintage", help="Vintage of the --within area.")] = None,
    data_dir: DataDir = None,
    fmt: Format = "table",
) -> None:
    """List providers, optionally of some types and within an area.

    Example: iot-geo providers --type fe_college --within E37000042 --vintage 2017
    """
    # deferred: boundaries and providers import geopandas; `iot-geo --help` stays fast
    from iot_geo.sources.boundaries import KINDS, load_areas
    from iot_geo.sources.providers import load_providers

    _set_data_dir(data_dir)
    gdf = load_providers(type_ or None)
    if within:
        area = None
        for kind in KINDS:
            layer = load_areas(kind, vintage)
            hit = layer[(layer["code"] == within) | (layer["name"].str.lower() == within.lower())]
            if len(hit):
                area = hit
                break
        if area is None:
            raise IotGeoError(f"--within {within!r}: no LEP, CA, LAD, region or Opportunity Area has that code or name")
        gdf = gdf[gdf.within(area.geometry.iloc[0])]
    emit(gdf[["provider_id", "name", "provider_type", "postcode", "town"]], fmt,
         title=f"{len(gdf)} providers")


@app.command("catchment")
def catchment_cmd(
    minutes: Annotated[list[float], typer.Option("--minutes", help="Bands in minutes (repeat or list).")],
    network: Annotated[Path | None, typer.Option("--network", help="OSM (.osm.pbf/.osm/.osm.bz2) or GraphML file: "
                                                 "a name in the data directory's osm/ (see `iot-geo networks`) or a path.")
                       ] = None,
    gtfs: Annotated[Path | None, typer.Option("--gtfs", help="GTFS feed (zip or folder) for --mode transit: a name "
                                                             "in the data directory's gtfs/ or a path.")] = None,
    arrive_by: Annotated[str, typer.Option("--arrive-by", help="Transit: arrive by HH:MM (or depart at, with "
                                                               "--direction from_site).")] = "09:00",
    window: Annotated[float, typer.Option("--window", help="Transit: minutes of the arrival window.")] = 30.0,
    percentile: Annotated[float, typer.Option("--percentile", help="Transit: percentile over the window.")] = 50.0,
    max_transfers: Annotated[int, typer.Option("--max-transfers", help="Transit: changes allowed.")] = 3,
    day: Annotated[str | None, typer.Option("--day", help="Transit: service day YYYY-MM-DD (default the first "
                                                          "Tuesday in the feed).")] = None,
    site: Annotated[list[str] | None, typer.Option("--site", help="A site as NAME=LAT,LON (repeat).")] = None,
    sites: Annotated[Path | None, typer.Option("--sites", help="CSV of sites: site_id/name and lat/lon or "
                                                               "easting/northing (group_id optional).")] = None,
    mode: Annotated[str, typer.Option("--mode", help="drive, cycle or walk.")] = "drive",
    union: Annotated[bool, _flag("--union", help="One catchment per group of sites.")] = False,
    direction: Annotated[str, typer.Option("--direction", help="to_site or from_site.")] = "to_site",
    free_flow: Annotated[bool, _flag("--free-flow", help="Drive at free-flow speeds, not peak speeds.")] = False,
    park_minutes: Annotated[float | None, typer.Option("--park-minutes", help="Drive: minutes to park and walk to "
                                                       "the door, added to every trip (default 3; 0: driving only).")
                            ] = None,
    speeds: Annotated[Path | None, typer.Option("--speeds", help="Your own speed table (YAML) over the documented "
                                                "figures; see iot_geo.speeds.read_speeds.")] = None,
    resolution: Annotated[float | None, typer.Option("--resolution", help="Polygon grid in metres.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="GeoPackage to write.")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="CSV table to write.")] = None,
    data_dir: DataDir = None,
    fmt: Format = "table",
) -> None:
    """Travel-to-learn catchments for sites, with the people they reach.

    Example: iot-geo catchment --network rutland.osm.pbf --minutes 10 15 20 --site "Oakham=52.6707,-0.7270"

    By bus: iot-geo catchment --mode transit --gtfs chester.zip --arrive-by 09:00 --minutes 30 45 60
    --site "Handbridge=53.1795,-2.8870"
    """
    import warnings

    # deferred: catchment and outputs import geopandas; `iot-geo --help` stays fast
    from iot_geo.catchment import as_sites, catchments
    from iot_geo.outputs import write_csv, write_gpkg

    _set_data_dir(data_dir)
    site_gdf = as_sites(_site_frame(site, sites), where=str(sites) if sites else "--site")
    source = network_file(network, gtfs, mode)
    for target in (output, csv):
        if target is not None:
            check_output(target, [source, sites])
    if mode == "transit":
        net = _transit_network(source, day=day, arrive_by=arrive_by, window=window, percentile=percentile,
                               max_transfers=max_transfers)
    else:
        net = _road_network(source, mode, speeds, free_flow, park_minutes, minutes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = catchments(net, site_gdf, minutes=minutes, union=union, direction=direction, resolution=resolution)
    for w in caught:
        err.print(f"[yellow]warning:[/yellow] {w.message}")
    st = _stamp([net], minutes=sorted(minutes), union=union, direction=direction, free_flow=free_flow,
                resolution=resolution, speeds=str(speeds) if speeds else None)
    if output is not None:
        write_gpkg({"catchments": result, "sites": site_gdf}, output, [source, sites], provenance=st)
        err.print(f"wrote {output}")
    if csv is not None:
        write_csv(result, csv, [source, sites], provenance=st)
        err.print(f"wrote {csv}")
    cols = ["site_id" if not union else "group_id", "minutes", "area_km2", "people", "people_16_59",
            "people_unknown", "people_outside_network", "truncated"]
    emit(result[cols] if fmt == "table" else result, fmt, title=f"{mode} catchments ({direction})")


def _site_frame(site: list[str] | None, sites: Path | None) -> pd.DataFrame:
    """The sites of ``--site NAME=LAT,LON`` options and a ``--sites`` CSV, in one table."""
    import pandas as pd  # deferred on purpose: see the note at the top

    # deferred: catchment and outputs import geopandas; `iot-geo --help` stays fast
    from iot_geo.catchment import parse_site_arg
    from iot_geo.outputs import read_csv

    frames = []
    if site:
        parsed = [parse_site_arg(s) for s in site]
        frames.append(pd.DataFrame([{"site_id": n, "lat": la, "lon": lo} for n, la, lo in parsed]))
    if sites is not None:
        if not sites.is_file():
            raise IotGeoError(f"--sites {sites}: file not found")
        frames.append(read_csv(sites, dtype={"site_id": str, "name": str, "group_id": str}))
    if not frames:
        raise IotGeoError("no sites: give --site NAME=LAT,LON or --sites FILE.csv")
    return pd.concat(frames, ignore_index=True)


def network_file(network: Path | None, gtfs: Path | None, mode: str) -> Path:
    """The file a command's ``--mode`` runs on: ``--gtfs`` for a timetable, else ``--network`` (found by name).

    The one place the command line turns ``--mode``, ``--network`` and ``--gtfs`` into a file; a missing
    option is one error naming it.
    """
    from iot_geo.network import FEED_MODES, find_network  # deferred: network imports pandas and scipy

    if mode in FEED_MODES:
        if gtfs is None:
            raise IotGeoError(f"--mode {mode} needs --gtfs FEED (a GTFS zip or folder)")
        return find_network(gtfs, mode)
    if network is None:
        raise IotGeoError(f"--mode {mode} needs --network FILE: a road network (OSM .osm.pbf/.osm.bz2 or GraphML)")
    return find_network(network, mode)


def _transit_network(source: Path, **options: Any) -> Any:
    """The transit network of a GTFS feed on one service day, said on stderr."""
    from iot_geo.network import load_network  # deferred: network imports pandas and scipy

    o = options
    net = load_network(source, mode="transit", day=o["day"], arrive_by=o["arrive_by"], window_minutes=o["window"],
                       percentile=o["percentile"], max_transfers=o["max_transfers"])
    err.print(f"timetable of {net.source['day']}: {net.n_nodes:,} stops, {net.source['trips']} trips")
    return net


def _road_network(source: Path, mode: str, speeds: Path | None, free_flow: bool, park_minutes: float | None,
                  minutes: list[float]) -> Any:
    """The road network at the speeds asked for (a speed table, free flow, minutes to park), with its notes."""
    from iot_geo.network import load_road_network  # deferred: network imports pandas and scipy

    if park_minutes is not None and not 0 <= park_minutes <= 60:
        raise IotGeoError(f"--park-minutes {park_minutes:g}: give 0 to 60 minutes")
    profile = None  # an unknown mode is refused by load_network
    if speeds is not None:
        profile = read_speeds(speeds, mode=mode, free_flow=free_flow, park_minutes=park_minutes)
    elif mode in ("drive", "cycle", "walk"):
        profile = Speeds.for_mode(mode, free_flow=free_flow, park_minutes=park_minutes)
    net = load_road_network(source, mode=mode, speeds=profile, free_flow=free_flow, progress=err.is_terminal)
    if net.source.get("cached"):
        err.print(f"reused the cached {mode} network for {source.name}")
    if (note := park_note(net.speeds, minutes)) is not None:
        err.print(f"note: {note}")
    return net


Networks = Annotated[list[Path] | None, typer.Option("--network", help="Road network file(s): OSM or GraphML, by "
                                                                      "name in the data directory's osm/ or path "
                                                                      "(repeat for several areas).")]
Mode = Annotated[str, typer.Option("--mode", help="drive, cycle or walk.")]
SkipInvalid = Annotated[bool, _flag("--skip-invalid", help="Compute the valid bids; report the others.")]
#: The options that the bid commands (hubspoke, overlap, map, report) share, defined once.
BidFile = Annotated[Path, typer.Argument(help="Bid file.")]
Bands = Annotated[list[float] | None, typer.Option("--minutes", help="Bands in minutes.")]
Offline = Annotated[bool, _flag("--offline/--online", help="Inline Leaflet so the map works without the internet "
                                                           "(offline), or link it from a CDN (online).")]


def load_networks(paths: list[Path] | None, mode: str, *, required: bool = True) -> list[Any]:
    """The networks a bid command names with ``--network`` (one loader call each; none given: an error if ``required``)."""
    # deferred: network imports pandas and scipy; `iot-geo --help` stays fast
    from iot_geo.network import find_network, load_network

    if not paths:
        if required:
            raise IotGeoError("no --network given: name a road network file (OSM .osm.pbf/.osm.bz2 or GraphML)")
        return []
    nets = []
    for p in paths:
        p = find_network(p, mode)
        net = load_network(p, mode=mode, progress=err.is_terminal)
        if net.source.get("cached"):
            err.print(f"reused the cached {mode} network for {p.name}")
        nets.append(net)
    return nets


def _bids_and_networks(bids: Path, network: list[Path] | None, mode: str, skip_invalid: bool
                       ) -> tuple[Any, list[Any]]:
    """The bid file read (problems said on stderr) and the road networks loaded: what every bid command starts with."""
    return _read_bids(bids, skip_invalid), load_networks(network, mode)


def _stamp(nets: list[Any], **options: Any) -> dict[str, Any]:
    return stamp(networks=nets, options=options)


def _read_bids(path: Path, skip_invalid: bool) -> Any:
    # deferred: bids imports geopandas; `iot-geo --help` stays fast
    from iot_geo.bids import read_bids

    bids = read_bids(path, skip_invalid=skip_invalid, progress=err.is_terminal)
    for line in bids.problems:
        err.print(f"[yellow]skipped:[/yellow] {line}", highlight=False)
    return bids


def _caught(fn: Any, *args: Any, **kw: Any) -> Any:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kw)
    for w in caught:
        err.print(f"[yellow]warning:[/yellow] {w.message}", highlight=False)
    return result


MainOut = Annotated[Path | None, typer.Option("-o", "--output", help="The main output; its format by suffix: "
                                                                   ".csv, .gpkg, .parquet or .xlsx.")]
SideCsv = Annotated[Path | None, typer.Option("--csv", help="Also write the table as CSV.")]
SideXlsx = Annotated[Path | None, typer.Option("--xlsx", help="Also write the table as a spreadsheet (text as text).")]
TABLE_SUFFIXES = (".csv", ".gpkg", ".parquet", ".xlsx")


def _table_targets(inputs: list[Any], output: Path | None, csv: Path | None = None, gpkg: Path | None = None,
                   xlsx: Path | None = None) -> list[Path]:
    """The files a table command writes: ``-o`` (by suffix) and the side outputs (each of its own suffix).

    Each is checked before any work is done: never an input, a device or the data directory, then its suffix.
    """
    named = [(output, "-o", TABLE_SUFFIXES), (csv, "--csv", (".csv",)), (gpkg, "--gpkg", (".gpkg",)),
             (xlsx, "--xlsx", (".xlsx",))]
    targets = []
    for path, flag, suffixes in named:
        if path is None:
            continue
        check_output(path, inputs)
        if path.suffix.lower() not in suffixes:
            raise IotGeoError(f"{flag} {path}: name a {', '.join(suffixes)} file"
                              + (" (the format follows the suffix)" if flag == "-o" else ""))
        targets.append(path)
    return targets


def _save_table(table: Any, layer: str, targets: list[Path], inputs: list[Any], provenance: dict[str, Any]) -> None:
    """Write one table to every target, each in the format of its suffix (atomically, with provenance)."""
    import pandas as pd  # deferred on purpose: `iot-geo --help` stays fast

    # deferred: outputs imports geopandas; `iot-geo --help` stays fast
    from iot_geo.outputs import write_csv, write_gpkg, write_xlsx

    for path in targets:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            write_csv(table, path, inputs, provenance=provenance)
        elif suffix == ".gpkg":
            write_gpkg({layer: table}, path, inputs, provenance=provenance)
        elif suffix == ".xlsx":
            frame = pd.DataFrame(table.drop(columns="geometry")) if "geometry" in table.columns else table
            write_xlsx({layer: frame}, path, inputs)
        else:
            # deferred: outputs imports geopandas; `iot-geo --help` stays fast
            from iot_geo.outputs import write

            write(table, path, options=provenance.get("options", {}))
        err.print(f"wrote {path}")


def _one_bid(b: Any, bid: str | None, path: Path) -> Any:
    """The bid named by ``--bid``, or the file's only bid when none is named."""
    if bid is not None:
        return b[bid]
    if len(b) != 1:
        raise IotGeoError(f"{path} holds {len(b)} bids ({', '.join(x.id for x in b)}): name one with --bid")
    return next(iter(b))


@bids_app.command("check")
def bids_check(
    bids: Annotated[Path, typer.Argument(help="Bid file (YAML, CSV pair or folder, GeoJSON).")],
    network: Networks = None,
    mode: Mode = "drive",
    minutes: Annotated[list[float] | None, typer.Option("--minutes", help="Bands (the largest is used).")] = None,
    skip_invalid: SkipInvalid = False,
    output: MainOut = None,
    csv: SideCsv = None,
    xlsx: SideXlsx = None,
    data_dir: DataDir = None,
    fmt: Format = "table",
) -> None:
    """Check bids against the competition's rules (pass / warn / fail); a failed check still exits 0.

    Example: iot-geo bids check data/examples/cambridge.yaml --network cambridge.graphml.gz --minutes 10 15
    """
    # deferred: checks imports geopandas; `iot-geo --help` stays fast
    from iot_geo.checks import check_bids

    _set_data_dir(data_dir)
    inputs = [bids, *(network or [])]
    targets = _table_targets(inputs, output, csv, None, xlsx)
    b = _read_bids(bids, skip_invalid)
    nets = load_networks(network, mode, required=False)
    table = _caught(check_bids, b, nets or None, minutes=minutes or None)
    _save_table(table, "checks", targets, inputs, _stamp(nets, minutes=minutes))
    emit(table, fmt, title=f"checks for {len(b)} bid(s)")


@app.command("evidence")
def evidence_cmd(
    bids: Annotated[str, typer.Argument(help="Bid file, or an area: a district, LEP or CA code or name.")],
    network: Networks = None,
    mode: Mode = "drive",
    minutes: Annotated[list[float] | None, typer.Option("--minutes", help="Catchment bands (needs --network).")] = None,
    bid: Annotated[str | None, typer.Option("--bid", help="Only this bid of the file.")] = None,
    skip_invalid: SkipInvalid = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="CSV of the long table to write.")] = None,
    data_dir: DataDir = None,
    fmt: Format = "table",
) -> None:
    """Learners, skills, labour market, providers and social mobility per bid area and catchment, with England.

    Example: iot-geo evidence data/examples/rutland.yaml --network rutland-2022-07-20.osm.pbf --minutes 30 45
    """
    import pandas as pd  # deferred on purpose: `iot-geo --help` stays fast

    # deferred: evidence and outputs import pandas and geopandas; `iot-geo --help` stays fast
    from iot_geo.evidence import SMI_NOTE, area_evidence, evidence_table, format_figure
    from iot_geo.outputs import write_csv

    _set_data_dir(data_dir)
    path = Path(bids)
    nets = load_networks(network, mode, required=False)
    if path.exists():
        b = _read_bids(path, skip_invalid)
        target: Any = b[bid] if bid else b
    else:
        target = bids
    table = _caught(area_evidence, target, network=nets or None, minutes=minutes or None)
    if output is not None:
        write_csv(table, output, [path] if path.exists() else [], provenance=_stamp(nets, minutes=minutes))
        err.print(f"wrote {output}")
    if fmt != "table":
        emit(table, fmt)
        return
    wide_out = out if out.is_terminal else Console(width=160)
    for area, part in table.groupby("area", sort=False):
        wide = evidence_table(part)
        sources = list(dict.fromkeys(wide["source"]))
        ref = {s_: f"[{i}]" for i, s_ in enumerate(sources, 1)}
        bands = [c for c in wide.columns if c not in ("topic", "measure", "unit", "England", "year", "source")]
        shown = pd.DataFrame({"measure": wide["measure"]})
        for col in [*bands, "England"]:
            shown[col] = [format_figure(v, u) for v, u in zip(wide[col], wide["unit"], strict=True)]
        shown["year"] = wide["year"]
        shown["source"] = wide["source"].map(ref)
        rich_table = Table(title=f"evidence for {area}", show_lines=False)
        for c in shown.columns:
            rich_table.add_column(str(c), overflow="fold", justify="right" if c in [*bands, "England"] else "left")
        for row in shown.itertuples(index=False):
            rich_table.add_row(*(str(v) for v in row))
        wide_out.print(rich_table)
        for s_, i in ref.items():
            wide_out.print(f"  {i} {s_}", highlight=False, markup=False)
    out.print("England: the source's England row where it has one, else the sum of English districts (APS) "
              f"or of English LSOAs (IoD). Catchments apportion district figures by each LSOA's share of its "
              f"district's people. The 16-18 forecast ages mid-2019 cohorts with no migration or mortality; "
              f"{SMI_NOTE}.", highlight=False, markup=False)


@app.command("hubspoke")
def hubspoke_cmd(
    bids: BidFile,
    bid: Annotated[str | None, typer.Option("--bid", help="The bid id (not needed when the file holds one bid).")
                   ] = None,
    network: Networks = None,
    mode: Mode = "drive",
    minutes: Bands = None,
    output: MainOut = None,
    csv: SideCsv = None,
    xlsx: SideXlsx = None,
    data_dir: DataDir = None,
    fmt: Format = "table",
) -> None:
    """People reached by a bid's hub and each spoke, what each spoke adds, and the LEP share.

    Example: iot-geo hubspoke data/examples/rutland.yaml --bid stamford-iot --network rutland.osm.pbf --minutes 10 15 20
    """
    # deferred: hub_spoke imports geopandas; `iot-geo --help` stays fast
    from iot_geo.hub_spoke import hub_spoke

    _set_data_dir(data_dir)
    inputs = [bids, *(network or [])]
    targets = _table_targets(inputs, output, csv, None, xlsx)
    b = _read_bids(bids, False)
    chosen = _one_bid(b, bid, bids)
    nets = load_networks(network, mode)
    table = _caught(hub_spoke, nets, chosen, minutes=minutes or (30, 45, 60))
    _save_table(table, "hub_spoke", targets, inputs, _stamp(nets, bid=chosen.id, minutes=minutes))
    cols = ["site_id", "role", "minutes", "people_alone", "people_only_here", "people_with_site", "to_hub_minutes",
            "from_hub_minutes", "truncated", "area_share", "area_share_is_lower_bound"]
    emit(table[cols] if fmt == "table" else table, fmt, title=f"hub and spoke: {chosen.id}")
    err.print("people_only_here: people no other site of the bid reaches (what the network loses without the site); "
              "people_with_site: people the hub and the site reach together")


@app.command("suggest-spokes")
def suggest_spokes_cmd(
    hub: Annotated[str, typer.Option("--hub", help="The hub as NAME=LAT,LON.")],
    k: Annotated[int, typer.Option("--k", help="How many spokes to choose.")],
    network: Networks = None,
    mode: Mode = "drive",
    minutes: Annotated[float, typer.Option("--minutes", help="Band in minutes.")] = 30.0,
    candidates: Annotated[Path | None, typer.Option("--candidates", help="CSV of your own candidate sites, added to "
                                                                         "the colleges and universities on the network.")] = None,
    providers: Annotated[bool, _flag("--providers/--no-providers", help="Include the FE and sixth-form colleges, "
                                                                              "UTCs and universities on the network.")] = True,
    min_gap: Annotated[float, typer.Option("--min-gap", help="No spoke within this many minutes of the hub or of "
                                                             "another chosen spoke (0: no rule).")] = 10.0,
    data_dir: DataDir = None,
    fmt: Format = "table",
) -> None:
    """Choose k spokes that, with the hub, reach the most people (maximal covering, solved exactly).

    Example: iot-geo suggest-spokes --hub "Stamford=52.6590,-0.4715" --k 2 --network rutland.osm.pbf --minutes 15
    """
    # deferred: catchment and hub_spoke import geopandas and scipy; `iot-geo --help` stays fast
    from iot_geo.catchment import parse_site_arg
    from iot_geo.hub_spoke import suggest_spokes

    _set_data_dir(data_dir)
    name, lat, lon = parse_site_arg(hub)
    cands = None
    if candidates is not None:
        if not candidates.is_file():
            raise IotGeoError(f"--candidates {candidates}: file not found")
        # deferred: outputs imports geopandas; `iot-geo --help` stays fast
        from iot_geo.outputs import read_csv

        cands = read_csv(candidates, dtype={"site_id": str, "name": str})
    nets = load_networks(network, mode)
    result = _caught(suggest_spokes, nets[0], {name: (lat, lon)}, cands, k=k, minutes=minutes, min_gap=min_gap,
                     with_providers=providers)
    a = result.attrs
    cols = [c for c in ("site_id", "name", "provider_type", "people_alone", "people_only_here") if c in result.columns]
    emit(result[cols] if fmt == "table" else result, fmt, title=f"{k} spoke(s) for {name}, {minutes:g} min")
    err.print(f"{a['candidates']} candidate(s) at least {min_gap:g} min from the hub "
              f"({a['excluded_near_hub']} nearer left out); hub alone {a['hub_people']:,} people; with the spokes "
              f"{a['objective']:,} ({a['solver']}); a greedy choice reaches {a['greedy_objective']:,} "
              f"({a['greedy_gap']:.1%} short)")


@app.command("overlap")
def overlap_cmd(
    bids: BidFile,
    network: Networks = None,
    mode: Mode = "drive",
    minutes: Bands = None,
    duplicate_share: Annotated[float | None, typer.Option(
        "--duplicate-share", help="Shared people share that, with a shared route, means duplication "
                                  "(default 0.25: iot_geo.overlap.DUPLICATE_SHARE).")] = None,
    skip_invalid: SkipInvalid = False,
    output: MainOut = None,
    csv: SideCsv = None,
    gpkg: Annotated[Path | None, typer.Option("--gpkg", help="GeoPackage of catchments, overlap areas and sites.")
                    ] = None,
    xlsx: SideXlsx = None,
    data_dir: DataDir = None,
    fmt: Format = "table",
) -> None:
    """Overlap between competing bids: shared area and people, duplicate provision.

    Example: iot-geo overlap data/examples/cambridge.yaml --network cambridge.graphml.gz --minutes 10 15 -o overlap.csv
    """
    import pandas as pd  # deferred on purpose: see the note at the top

    # deferred: outputs and overlap import geopandas; `iot-geo --help` stays fast
    from iot_geo.outputs import write_gpkg
    from iot_geo.overlap import DUPLICATE_SHARE, bid_catchments, overlap

    if duplicate_share is None:
        duplicate_share = DUPLICATE_SHARE
    _set_data_dir(data_dir)
    inputs = [bids, *(network or [])]
    targets = _table_targets(inputs, output, csv, None, xlsx)
    if gpkg is not None:
        _table_targets(inputs, None, None, gpkg)
    b, nets = _bids_and_networks(bids, network, mode, skip_invalid)
    bc = bid_catchments(nets, b, minutes=minutes or (30, 45, 60))
    geometry = gpkg is not None or any(t.suffix.lower() in (".gpkg", ".parquet") for t in targets)
    table = _caught(overlap, catchments=bc, duplicate_share=duplicate_share, with_geometry=geometry)
    st = _stamp(nets, minutes=list(bc.bands), duplicate_share=duplicate_share)
    _save_table(table, "overlap", targets, inputs, st)
    if gpkg is not None:
        write_gpkg({"catchments": bc.table, "overlap": table, "sites": b.sites}, gpkg, inputs, provenance=st)
        err.print(f"wrote {gpkg}")
    cols = ["bid_a", "bid_b", "minutes", "area_both_km2", "people_both", "people_share_a", "people_share_b",
            "duplicate", "reasons"]
    emit(table[cols] if fmt == "table" else pd.DataFrame(table.drop(columns="geometry", errors="ignore")), fmt,
         title=f"overlap between {len(b)} bids")
    if not len(table):
        err.print("no two bids' catchments meet")
    err.print(f"duplicate provision: people reached by both are at least {duplicate_share:.0%} of either bid's people, "
              "and the bids offer a route in common")


def _offline_default(offline: bool | None) -> bool:
    """Offline (Leaflet inlined) unless asked otherwise; online, with a warning, where the web assets are missing."""
    # deferred: maps imports folium and geopandas; `iot-geo --help` stays fast
    from iot_geo.maps import web_assets_dir

    if offline is False:
        return False
    if (web_assets_dir() / "leaflet" / "dist" / "leaflet.js").is_file():
        return True
    if offline:
        err.print("[yellow]warning:[/yellow] the web assets are not installed (`npm install --prefix web`), so the "
                  "map links Leaflet from a CDN and needs the internet", highlight=False)
    return False


@app.command("map")
def map_cmd(
    bids: BidFile,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write, e.g. maps/bids.html.")],
    network: Networks = None,
    mode: Mode = "drive",
    minutes: Bands = None,
    offline: Offline = True,
    png: Annotated[Path | None, typer.Option("--png", help="Also write a static overview picture.")] = None,
    skip_invalid: SkipInvalid = False,
    data_dir: DataDir = None,
) -> None:
    """An interactive map of bids, catchments by band, overlaps, areas and providers.

    Example: iot-geo map data/examples/cambridge.yaml --network cambridge.graphml.gz --minutes 5 10 15 -o maps/cambridge.html
    """
    # deferred: maps, outputs and overlap import folium and geopandas; `iot-geo --help` stays fast
    from iot_geo.maps import make_map, save_map, save_picture
    from iot_geo.overlap import bid_catchments, overlap_areas

    _set_data_dir(data_dir)
    check_output(output, [bids, *(network or [])])
    b, nets = _bids_and_networks(bids, network, mode, skip_invalid)
    bc = bid_catchments(nets, b, minutes=minutes or (30, 45, 60))
    ov = _caught(overlap_areas, catchments=bc)
    m = make_map(b, catchments=bc.table, overlaps=ov, offline=_offline_default(offline), title=bids.stem)
    save_map(m, output, [bids, *(network or [])], provenance=_stamp(nets, minutes=list(bc.bands)))
    err.print(f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB)")
    if png is not None:
        save_picture(png, list(b), catchments=bc.table, overlaps=ov, title=bids.stem)
        err.print(f"wrote {png}")


@app.command("report")
def report_cmd(
    bids: BidFile,
    output: Annotated[Path, typer.Option("-o", "--output", help="Report folder, e.g. reports/cambridge/.")],
    network: Networks = None,
    mode: Mode = "drive",
    minutes: Bands = None,
    offline: Offline = True,
    skip_invalid: SkipInvalid = False,
    overwrite: Annotated[bool, _flag("--overwrite", help="Replace an earlier iot-geo report in that folder "
                                                                "(never a folder iot-geo did not write).")] = False,
    data_dir: DataDir = None,
) -> None:
    """A report folder: index.html, tables (CSV, XLSX), GeoPackage, pictures and the interactive map.

    Example: iot-geo report data/examples/rutland.yaml --network rutland.osm.pbf --minutes 10 15 20 -o reports/rutland/
    """
    # deferred: outputs and report import geopandas and folium; `iot-geo --help` stays fast
    from iot_geo.report import analyse, write_report

    _set_data_dir(data_dir)
    check_folder(output, [bids, *(network or [])], overwrite=overwrite)
    b, nets = _bids_and_networks(bids, network, mode, skip_invalid)
    a = analyse(b, nets, minutes=minutes or (30, 45, 60), progress=lambda s: err.print(f"computing {s}..."))
    for w in a.warnings:
        err.print(f"[yellow]warning:[/yellow] {w}", highlight=False)
    paths = write_report(a, output, offline_map=_offline_default(offline), inputs=[bids, *(network or [])],
                         provenance=_stamp(nets, minutes=a.minutes), overwrite=overwrite)
    err.print(f"wrote {len(paths)} files into {output}: open {output / 'index.html'}")


@app.command("networks")
def networks_cmd(data_dir: DataDir = None, fmt: Format = "table") -> None:
    """List the networks in the data directory (osm/ and gtfs/): modes, nodes, bounds, data date, cached or not.

    Nodes and bounds come from a cached build (a network not yet built shows none; any command that uses it
    builds it); bounds are the file's own where its header gives them.

    Example: iot-geo networks --data-dir ../shared/data
    """
    # deferred: network imports pandas and scipy; `iot-geo --help` stays fast
    from iot_geo.network import list_networks

    _set_data_dir(data_dir)
    df = list_networks()
    if df.empty:
        err.print(f"no networks in {settings.get_data_dir()}/osm or /gtfs: run `iot-geo data fetch osm:REGION` "
                  "or copy an .osm.pbf there")
        return
    emit(df, fmt, title=f"networks in {settings.get_data_dir()}")


#: The demo: each example bid file with the shared road network that covers it and bands that suit its size.
DEMO = (
    ("cambridge", "cambridge.yaml", "osm/cambridge-2020-drive.graphml.gz", (5.0, 10.0, 15.0)),
    ("rutland", "rutland.yaml", "osm/rutland-2022-07-20.osm.pbf", (10.0, 15.0, 20.0)),
)


@app.command("demo")
def demo_cmd(
    data_dir: DataDir = None,
    maps_dir: Annotated[Path, typer.Option("--maps", help="Folder for the maps.")] = Path("maps"),
    reports_dir: Annotated[Path, typer.Option("--reports", help="Folder for the reports.")] = Path("reports"),
) -> None:
    """The whole pipeline on the example bids (Cambridge and Rutland) over the shared road networks.

    Example: iot-geo --data-dir ../shared/data demo
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # deferred: these modules import geopandas, pandas, scipy and folium; `iot-geo --help` stays fast
    from iot_geo.bids import read_bids
    from iot_geo.network import load_network
    from iot_geo.report import analyse, write_report
    from iot_geo.sources.boundaries import PROJECT_DATA
    from iot_geo.sources.population import load_population
    from iot_geo.sources.providers import load_providers

    _set_data_dir(data_dir)
    root = settings.get_data_dir()
    summary = []
    offline = _offline_default(None)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                  transient=False) as progress:
        task = progress.add_task("loading areas, providers and population", total=None)
        # deferred: boundaries imports geopandas; `iot-geo --help` stays fast
        from iot_geo.sources.boundaries import load_areas

        load_areas("lep", 2017)
        load_providers()
        load_population()
        progress.update(task, description="loaded areas, providers and population", completed=1, total=1)
        for name, bid_file, net_file, bands in DEMO:
            t = progress.add_task(f"{name}: building the drive network", total=None)
            net = load_network(root / net_file)
            progress.update(t, description=f"{name}: {'reused the cached' if net.source.get('cached') else 'built the'}"
                                           f" network ({net.n_nodes:,} nodes)")
            bids = read_bids(PROJECT_DATA / "examples" / bid_file)
            def step(s: str, t: Any = t, name: str = name) -> None:
                progress.update(t, description=f"{name}: {s}")

            a = analyse(bids, net, minutes=bands, progress=step)
            progress.update(t, description=f"{name}: writing the map and the report")
            # deferred: maps imports folium and geopandas; `iot-geo --help` stays fast
            from iot_geo.maps import make_map, save_map

            st = _stamp([net], example=name, minutes=list(bands))
            map_path = save_map(make_map(bids, catchments=a.catchments.table, overlaps=a.overlap, offline=offline,
                                         title=f"IoT example bids: {name}"), maps_dir / f"{name}.html", provenance=st)
            write_report(a, reports_dir / name, title=f"IoT example bids: {name}", offline_map=offline, provenance=st,
                         overwrite=True)
            progress.update(t, description=f"{name}: done", completed=1, total=1)
            largest = a.catchments.table[a.catchments.table["minutes"] == max(bands)]
            summary.append(
                f"[bold]{name}[/bold]: {len(bids)} bids, bands {', '.join(f'{b:g}' for b in bands)} min, "
                f"network {net.source.get('file')} ({'reused from the cache' if net.source.get('cached') else 'built'})\n"
                f"  people within {max(bands):g} min: "
                + "; ".join(f"{r.group_id} {r.people:,.0f}" for r in largest.itertuples()) + "\n"
                f"  overlapping pair-bands: {len(a.overlap)}, flagged as duplicate provision: "
                f"{int(a.overlap['duplicate'].sum()) if len(a.overlap) else 0}\n"
                f"  map:        {map_path}\n  report:     {reports_dir / name / 'index.html'}\n"
                f"  geopackage: {reports_dir / name / 'layers.gpkg'}")
    out.print("\n".join(summary), highlight=False, soft_wrap=True)
    if not offline:
        err.print("maps link Leaflet from a CDN: run `npm install --prefix web` for maps that work offline")


@app.command("provenance")
def provenance_cmd(
    file: Annotated[Path, typer.Argument(help="An output: CSV (reads its .provenance.json), GeoPackage or HTML.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Print the provenance stamp of an output: version, datasets, network, speeds, options, call.

    Example: iot-geo provenance reports/cambridge/overlap.csv
    """
    import pandas as pd  # deferred on purpose: see the note at the top

    st = read_stamp(file)
    if fmt == "json":
        sys.stdout.write(stamp_json(st))
        return
    out.print(f"[bold]{file.name}[/bold] made by iot-geo {st.get('iot_geo_version')}: {' '.join(st.get('call', []))}")
    emit(pd.DataFrame(st.get("datasets", [])), "table", title="datasets")
    nets = pd.DataFrame([{k: v for k, v in n.items() if k != "speeds"} for n in st.get("networks", [])])
    if len(nets):
        emit(nets, "table", title="networks")
    out.print("options: " + json.dumps(st.get("options", {}), sort_keys=True))


def _batch_items(bids: list[Path] | None, providers: str | None, sites: Path | None) -> Any:
    """Bids (one catchment per bid) or sites (providers of some types and/or a CSV; one per site)."""
    import pandas as pd  # deferred on purpose: `iot-geo --help` stays fast

    # deferred: catchment imports geopandas and scipy; `iot-geo --help` stays fast
    from iot_geo.catchment import as_sites

    if bids and (providers or sites):
        raise IotGeoError("give bid files, or --providers/--sites, not both (bids are run as one catchment each)")
    if bids:
        return [_read_bids(b, False) for b in bids]
    frames = []
    if providers:
        # deferred: providers imports geopandas; `iot-geo --help` stays fast
        from iot_geo.sources.providers import load_providers

        prov = load_providers([t.strip() for t in providers.split(",") if t.strip()])
        frames.append(prov.rename(columns={"provider_id": "site_id", "provider_type": "group_id"})[
            ["site_id", "name", "group_id", "geometry"]])
    if sites is not None:
        if not sites.is_file():
            raise IotGeoError(f"--sites {sites}: file not found")
        frames.append(as_sites(pd.read_csv(sites, dtype={"site_id": str, "name": str, "group_id": str}),
                               where=str(sites)))
    if not frames:
        raise IotGeoError("nothing to run: give --bids FILE, --providers TYPES or --sites FILE.csv")
    import geopandas as gpd

    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=settings.crs)


@app.command("batch")
def batch_cmd(
    minutes: Annotated[list[float], typer.Option("--minutes", help="Bands in minutes (repeat or list).")],
    bids: Annotated[list[Path] | None, typer.Option("--bids", help="Bid file(s): one catchment per bid.")] = None,
    providers: Annotated[str | None, typer.Option("--providers", help="Provider types, comma-separated "
                                                                      "(fe_college,sixth_form_college).")] = None,
    sites: Annotated[Path | None, typer.Option("--sites", help="CSV of sites (site_id/name, lat/lon).")] = None,
    network: Annotated[Path | None, typer.Option("--network", help="Road network file (OSM or GraphML).")] = None,
    gtfs: Annotated[Path | None, typer.Option("--gtfs", help="GTFS feed for mode transit.")] = None,
    mode: Annotated[list[str] | None, typer.Option("--mode", help="Modes: drive cycle walk transit (list).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Local Dask worker processes (default: the "
                                                                  "cores); 0 runs in one process.")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="A running Dask scheduler, "
                                                                      "tcp://HOST:PORT.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Sites (or bids) per task.")] = 4,
    arrive_by: Annotated[str, typer.Option("--arrive-by", help="Transit: arrive by HH:MM.")] = "09:00",
    window: Annotated[float, typer.Option("--window", help="Transit: minutes of the arrival window.")] = 30.0,
    day: Annotated[str | None, typer.Option("--day", help="Transit: service day YYYY-MM-DD.")] = None,
    free_flow: Annotated[bool, _flag("--free-flow", help="Drive at speed limits, not peak speeds.")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="GeoPackage (.gpkg) or GeoParquet "
                                                                       "(.parquet) of every catchment.")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="People table as CSV.")] = None,
    data_dir: DataDir = None,
    fmt: Format = "table",
) -> None:
    """Many catchments at once on Dask: every bid, every college of some types, or a list of sites.

    Example: iot-geo batch --providers fe_college,sixth_form_college --network rutland.osm.pbf --mode drive cycle
    --minutes 10 15 20 --workers 2 -o batch.gpkg --csv people.csv
    """
    # deferred: batch and network import geopandas, pandas and scipy; `iot-geo --help` stays fast
    from iot_geo.batch import batch, people_table, write_batch
    from iot_geo.network import FEED_MODES, load_network

    _set_data_dir(data_dir)
    modes = list(dict.fromkeys(mode or ["drive"]))
    items = _batch_items(bids, providers, sites)
    inputs = [network, gtfs, sites, *(bids or [])]
    for target in (output, csv):
        if target is not None:
            check_output(target, inputs)
    topts = {"arrive_by": arrive_by, "window_minutes": window, "day": day}
    nets: dict[str, Any] = {}
    for m in modes:
        path = network_file(network, gtfs, m)
        # a timetable is opened by each worker from its feed; road networks load (or reuse the cache) once here
        nets[m] = path if m in FEED_MODES else load_network(path, mode=m, free_flow=free_flow, progress=err.is_terminal)
    result = _caught(batch, nets, items, modes=modes, minutes=minutes, workers=workers, scheduler=scheduler,
                     batch_size=batch_size, transit_options=topts, progress=err.is_terminal)
    skipped = result.attrs.get("skipped", [])
    if skipped:
        err.print(f"{len(skipped)} site(s) are off the network(s) and were skipped (e.g. "
                  f"{skipped[0]['site_id']}: {skipped[0]['reason']})", highlight=False)
    err.print(f"{len(result)} catchments in {result.attrs['tasks']} task(s) on {result.attrs['workers'] or 'one process'}"
              f"{' workers' if result.attrs['workers'] else ''}, {result.attrs['seconds']:.1f} s")
    st = _stamp([n for n in nets.values() if not isinstance(n, Path)], minutes=sorted(minutes), modes=modes,
                free_flow=free_flow, **({"transit": topts, "gtfs": gtfs.name} if gtfs is not None and "transit" in modes
                                        else {}))
    if output is not None:
        write_batch(result, output, inputs=inputs, provenance=st)
        err.print(f"wrote {output}")
    if csv is not None:
        # deferred: outputs imports geopandas; `iot-geo --help` stays fast
        from iot_geo.outputs import write_csv

        write_csv(people_table(result), csv, inputs, provenance=st)
        err.print(f"wrote {csv}")
    table = people_table(result)
    emit(table[["mode", "group_id", "site_id", "minutes", "people", "truncated"]] if fmt == "table" else table, fmt,
         title="batch catchments")


def _one_network(network: Path | None, gtfs: Path | None, mode: str, arrive_by: str, day: str | None) -> Any:
    # deferred: network imports pandas and scipy; `iot-geo --help` stays fast
    from iot_geo.network import FEED_MODES, load_network

    path = network_file(network, gtfs, mode)
    if mode in FEED_MODES:
        return load_network(path, mode=mode, arrive_by=arrive_by, day=day)
    return load_network(path, mode=mode, progress=err.is_terminal)


def _site_set(bids: list[Path] | None, providers: str | None, sites: Path | None, site: list[str] | None) -> Any:
    """Sites from bid files (every site of every bid), provider types, a CSV and NAME=LAT,LON options, together."""
    import geopandas as gpd
    import pandas as pd  # deferred on purpose: `iot-geo --help` stays fast

    # deferred: catchment imports geopandas and scipy; `iot-geo --help` stays fast
    from iot_geo.catchment import as_sites, parse_site_arg

    frames = []
    for b in bids or []:
        s = _read_bids(b, False).sites
        frames.append(as_sites(s.assign(site_id=s["bid_id"].astype(str) + "/" + s["site_id"].astype(str)),
                               where=str(b)))
    if providers or sites is not None:
        frames.append(_batch_items(None, providers, sites))
    if site:
        parsed = [parse_site_arg(x) for x in site]
        frames.append(as_sites(pd.DataFrame([{"site_id": n, "lat": la, "lon": lo} for n, la, lo in parsed]),
                               where="--site"))
    if not frames:
        raise IotGeoError("no sites: give --bids FILE, --providers TYPES, --sites FILE.csv or --site NAME=LAT,LON")
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=settings.crs)


SiteBids = Annotated[list[Path] | None, typer.Option("--bids", help="Bid file(s): every site of every bid.")]
SiteProviders = Annotated[str | None, typer.Option("--providers", help="Provider types, comma-separated.")]
SiteCsv = Annotated[Path | None, typer.Option("--sites", help="CSV of sites (site_id/name, lat/lon).")]
SiteOpt = Annotated[list[str] | None, typer.Option("--site", help="A site as NAME=LAT,LON (repeat).")]


@app.command("coverage")
def coverage_cmd(
    minutes: Annotated[float, typer.Option("--minutes", help="Band in minutes.")],
    bids: SiteBids = None,
    providers: SiteProviders = None,
    sites: SiteCsv = None,
    site: SiteOpt = None,
    network: Annotated[Path | None, typer.Option("--network", help="Road network file (OSM or GraphML).")] = None,
    gtfs: Annotated[Path | None, typer.Option("--gtfs", help="GTFS feed for --mode transit.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="drive, cycle, walk or transit.")] = "drive",
    arrive_by: Annotated[str, typer.Option("--arrive-by", help="Transit: arrive by HH:MM.")] = "09:00",
    day: Annotated[str | None, typer.Option("--day", help="Transit: service day YYYY-MM-DD.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="GeoPackage: LSOAs and totals.")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Totals as CSV.")] = None,
    map_path: Annotated[Path | None, typer.Option("--map", help="HTML map with the cold-spot LSOAs.")] = None,
    data_dir: DataDir = None,
    fmt: Format = "table",
) -> None:
    """Who is within reach of any of the sites, and where the cold spots are (by LEP, region, IMD decile).

    Example: iot-geo coverage --providers fe_college,sixth_form_college --network rutland.osm.pbf --minutes 15
    """
    # deferred: batch and maps import geopandas and folium; `iot-geo --help` stays fast
    from iot_geo.batch import coverage, coverage_totals
    from iot_geo.maps import coverage_layer

    _set_data_dir(data_dir)
    site_gdf = _site_set(bids, providers, sites, site)
    inputs = [network, gtfs, sites, *(bids or [])]
    for target in (output, csv, map_path):
        if target is not None:
            check_output(target, inputs)
    net = _one_network(network, gtfs, mode, arrive_by, day)
    cov = _caught(coverage, net, site_gdf, minutes=minutes)
    tot = coverage_totals(cov)
    st = _stamp([net], minutes=minutes, mode=mode)
    if cov.attrs.get("skipped"):
        err.print(f"{len(cov.attrs['skipped'])} site(s) off the network were left out", highlight=False)
    if cov.attrs.get("truncated"):
        err.print("[yellow]warning:[/yellow] the sites' reach meets the edge of the network: covered figures are "
                  "lower bounds", highlight=False)
    if output is not None:
        # deferred: outputs imports geopandas; `iot-geo --help` stays fast
        from iot_geo.outputs import write_gpkg

        write_gpkg({"lsoas": cov, "coldspots": cov[~cov["covered"]], "totals": tot}, output, inputs, provenance=st)
        err.print(f"wrote {output}")
    if csv is not None:
        # deferred: outputs imports geopandas; `iot-geo --help` stays fast
        from iot_geo.outputs import write_csv

        write_csv(tot, csv, inputs, provenance=st)
        err.print(f"wrote {csv}")
    if map_path is not None:
        import folium

        # deferred: maps imports folium and geopandas; `iot-geo --help` stays fast
        from iot_geo.maps import save_map

        b = cov.to_crs(settings.wgs84).total_bounds
        m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True)
        m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
        coverage_layer(cov).add_to(m)
        folium.LayerControl().add_to(m)
        save_map(m, map_path, inputs, provenance=st)
        err.print(f"wrote {map_path}")
    cols = ["by", "code", "name", "lsoas", "lsoas_covered", "people", "people_covered", "share_covered"]
    emit(tot[cols] if fmt == "table" else tot, fmt, title=f"coverage within {minutes:g} min ({mode})")


@app.command("where-next")
def where_next_cmd(
    k: Annotated[int, typer.Option("--k", help="How many new sites to choose.")],
    minutes: Annotated[float, typer.Option("--minutes", help="Band in minutes.")],
    bids: SiteBids = None,
    providers: SiteProviders = None,
    sites: SiteCsv = None,
    site: SiteOpt = None,
    candidates: Annotated[Path | None, typer.Option("--candidates", help="CSV of candidate sites (default: FE "
                                                                         "colleges on the network not yet sites).")] = None,
    deprivation: Annotated[bool, _flag("--deprivation", help="People in IMD deciles 1-2 count double.")] = False,
    network: Annotated[Path | None, typer.Option("--network", help="Road network file (OSM or GraphML).")] = None,
    gtfs: Annotated[Path | None, typer.Option("--gtfs", help="GTFS feed for --mode transit.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="drive, cycle, walk or transit.")] = "drive",
    arrive_by: Annotated[str, typer.Option("--arrive-by", help="Transit: arrive by HH:MM.")] = "09:00",
    day: Annotated[str | None, typer.Option("--day", help="Transit: service day YYYY-MM-DD.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="GeoPackage of the picks.")] = None,
    data_dir: DataDir = None,
    fmt: Format = "table",
) -> None:
    """Choose k new sites that reach the most people the sites do not (maximal covering, solved exactly).

    Example: iot-geo where-next --site "Oakham=52.6707,-0.7270" --k 2 --network rutland.osm.pbf --minutes 15
    """
    import pandas as pd  # deferred on purpose: `iot-geo --help` stays fast

    # deferred: batch imports geopandas; `iot-geo --help` stays fast
    from iot_geo.batch import where_next

    _set_data_dir(data_dir)
    site_gdf = _site_set(bids, providers, sites, site)
    cands = None
    if candidates is not None:
        if not candidates.is_file():
            raise IotGeoError(f"--candidates {candidates}: file not found")
        cands = pd.read_csv(candidates, dtype={"site_id": str, "name": str})
    net = _one_network(network, gtfs, mode, arrive_by, day)
    picks = _caught(where_next, net, site_gdf, cands, k=k, minutes=minutes,
                    weights="deprivation" if deprivation else None)
    a = picks.attrs
    if output is not None:
        # deferred: outputs imports geopandas; `iot-geo --help` stays fast
        from iot_geo.outputs import write_gpkg

        write_gpkg({"picks": picks}, output, [network, gtfs, sites, candidates, *(bids or [])],
                   provenance=_stamp([net], minutes=minutes, k=k, deprivation=deprivation))
        err.print(f"wrote {output}")
    cols = ["rank", "site_id", "name", "people_added", "people_total"] + (["weight_added"] if deprivation else [])
    emit(picks[cols] if fmt == "table" else picks, fmt, title=f"{k} new site(s) within {minutes:g} min ({mode})")
    err.print(f"the sites reach {a['base_people']:,.0f} people; {a['candidates']} candidates; {a['solver']}; "
              f"a greedy choice reaches {a['greedy_objective']:,.0f} (weighted {a['weights']})", highlight=False)


MULTI_VALUE_OPTIONS = ("--minutes", "--mode", "--bids")
#: Options whose list stops at the first value outside this set (so a positional argument after them stays one).
MULTI_VALUE_ONLY = {"--mode": {"drive", "cycle", "walk", "transit"}}


def expand_multi_values(argv: list[str]) -> list[str]:
    """Let ``--minutes 10 15 20`` mean ``--minutes 10 --minutes 15 --minutes 20`` (also ``10,15,20``)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok in MULTI_VALUE_OPTIONS:
            j = i + 1
            values: list[str] = []
            allowed = MULTI_VALUE_ONLY.get(tok)
            while j < len(argv) and not (argv[j].startswith("--") or (argv[j].startswith("-") and
                                                                           not argv[j][1:2].isdigit())):
                if allowed is not None and values and not set(argv[j].split(",")) <= allowed:
                    break
                values.extend(v for v in argv[j].split(",") if v)
                j += 1
            if not values:
                out.append(tok)
            for v in values:
                out += [tok, v]
            i = j
            continue
        out.append(tok)
        i += 1
    return out


def main() -> None:
    """Entry point of the console script: run the app, turning errors into one line and exit 2."""
    try:
        app(args=expand_multi_values(sys.argv[1:]), standalone_mode=False)
    except IotGeoError as exc:
        if _state["debug"]:
            raise
        err.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", None)
        if code is None:
            code = getattr(exc, "code", 0)
        sys.exit(code or 0)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except Exception as exc:
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # click usage errors
            exc.show()
            sys.exit(2)
        if _state["debug"]:
            raise
        err.print(f"[bold red]internal error:[/bold red] {exc.__class__.__name__}: {exc} (rerun with --debug)")
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
