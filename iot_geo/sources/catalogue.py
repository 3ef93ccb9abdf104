"""The dataset catalogue: what iot-geo reads, where it came from, and how to get it.

Each :class:`Dataset` names its title, publisher, vintage, licence and
attribution line, the file(s) it expects under the data directory, the
address its bytes are downloaded from and their sha256. ``kind`` says how the
file is obtained:

``official``
    An unmodified copy of a publisher's file. ``source_url`` is a pinned,
    byte-stable copy (the checksum can only be checked against fixed bytes:
    the publishers' portals regenerate their downloads); ``official_url`` is the
    publisher's own page for the release.
``third_party``
    A compilation by someone other than the publisher. Downloaded from its
    pinned source where it has one; otherwise used only from the data directory.
``derived``
    Rebuilt by iot-geo from other datasets (``derived_from``); never downloaded.
``prepared``
    Converted or cut by the data collectors (see PROVENANCE.md in the data
    directory); no address reproduces its bytes, so it is used only from the
    data directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from iot_geo import settings
from iot_geo.errors import (
    ChecksumError,
    DataNotFoundError,
    DownloadError,
    InvalidInputError,
    IotGeoError,
    ModifiedDataWarning,
)
from iot_geo.files import atomic
from iot_geo.sources.derived import lad17_lep17

if TYPE_CHECKING:
    import requests  # imported where a download happens: reading data never pays for it

__all__ = [
    "DATASETS",
    "READ",
    "SHA_CACHE_FILE",
    "SHA_MEMO",
    "DataFile",
    "Dataset",
    "FileStatus",
    "ModifiedDataWarning",
    "cached_sha256",
    "check",
    "dataset_path",
    "fetch",
    "get_dataset",
    "reading",
    "sha256_file",
    "verify",
    "verify_path",
]


log = logging.getLogger(__name__)

#: Names of the datasets read in this process (by :func:`dataset_path` or :func:`verify_path`);
#: :func:`iot_geo.provenance.datasets` names them in every output's provenance.
READ: set[str] = set()

OGL = "Open Government Licence v3.0"
ODBL = "Open Database License 1.0"
ONS_ATTR = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right {year}."
)
MHCLG_ATTR = "Source: MHCLG, English indices of deprivation 2019, licensed under the Open Government Licence v.3.0."
OSM_ATTR = "© OpenStreetMap contributors, ODbL 1.0."
DFE_ATTR = "Source: Department for Education, licensed under the Open Government Licence v.3.0."
ONS_PORTAL = "https://geoportal.statistics.gov.uk/"
IOD_PAGE = "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019"


def _gh(repo: str, commit: str, path: str) -> str:
    """Address of a file at a pinned commit of a public repository."""
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{quote(path)}"


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset: its path under the data directory and its checksum."""

    path: str
    sha256: str
    size: int
    source_url: str | None = None


@dataclass(frozen=True)
class Dataset:
    """A dataset iot-geo can read."""

    name: str
    title: str
    publisher: str
    vintage: str
    licence: str
    attribution: str
    kind: str
    files: tuple[DataFile, ...]
    official_url: str | None = None
    derived_from: tuple[str, ...] = ()
    note: str = ""
    optional: bool = False
    builder: Callable[[Path], bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def downloadable(self) -> bool:
        """True where every file has an address to download from."""
        return self.kind in ("official", "third_party") and all(f.source_url for f in self.files)


_LSIP = "dfe-analytical-services/lsip_dashboard"
_ONSL = ("jtrim-ons/ons-lookups", "e01854390e5a365d04ba5eff46246e42b320e2cf")
_IOD = "nani2357/Warrington_deprivation_index"
_LAD17_SRC = (
    "jpolton/COVID-19",
    "f1388fbf09b270a41e6bfffbda80bafaa86c3ce8",
    "DATA/shapefile/Local_Authority_Districts_December_2017_Super_Generalised_Clipped_Boundaries_in_Great_Britain",
)
_LAD17_SHA = {
    "shp": ("195eb22ff8c5a1f2a1a46740077c32c33a9fbefb8cd6156311e39573e67769d8", 1390692),
    "shx": ("01aff50fa4fc4e2d410b720272912546c2fae77b9a5d72c46664cd78be40eb49", 3140),
    "dbf": ("52ab4059d0c845aef4c2cca2458c841b42d30e0f01ccab3f2946f959e45963e0", 66473),
    "prj": ("adb67f69470f6b906fce8be1b76747ad242283eaeb949583205c506ae17be2e9", 417),
    "cpg": ("3ad3031f5503a4404af825262ee8232cc04d4ea6683d42c5dd0a2f2a27ac9824", 5),
}


def _build_lad17_lep17(data_dir: Path) -> bytes:
    table = lad17_lep17(*(dataset_path(name, data_dir=data_dir)
                          for name in ("lookup_lsoa11_lad2017", "lookup_lsoa11_lep2017")))
    return table.to_csv(index=False, lineterminator="\n").encode()


DATASETS: tuple[Dataset, ...] = (
    Dataset(
        "lep2021", "Local Enterprise Partnerships (May 2021) EN BUC", "ONS", "2021", OGL,
        ONS_ATTR.format(year=2021), "official",
        (DataFile("boundaries/lep_2021may_en_buc.geojson",
                  "4876fb8e14363b354d389c5cbb16cee994cfa25cb151a9be65c780f48109ad13", 325541,
                  _gh(_LSIP, "dd8896767a11cfe6e3859c0ce64e5179beae5fa9",
                      "Data/13_mapFiles/Local_Enterprise_Partnerships_(May_2021)_EN_BUC.geojson")),),
        ONS_PORTAL, note="ultra-generalised (500 m), clipped",
    ),
    Dataset(
        "ca2021", "Combined Authorities (December 2021) EN BGC", "ONS", "2021", OGL,
        ONS_ATTR.format(year=2021), "official",
        (DataFile("boundaries/cauth_2021dec_en_bgc.geojson",
                  "39a957165ef0feb9ce7ade46c8f7dce277ba946287462d490549ae194eaaf718", 755217,
                  _gh(_LSIP, "fee16943e9310e0e59d63e780a964e190cb8355a",
                      "Data/15_MCABoundary/Combined_Authorities_(December_2021)_EN_BGC.geojson")),),
        ONS_PORTAL,
    ),
    Dataset(
        "ca2022", "Combined Authorities (December 2022) EN BGC", "ONS", "2022", OGL,
        ONS_ATTR.format(year=2022), "official",
        (DataFile("boundaries/cauth_2022dec_en_bgc.geojson",
                  "f68682f41865bf1f1925d2b393ae6489a8657da2c9a1f2ad58e0c454d27c15b8", 488607,
                  _gh(_LSIP, "2b8c30e29a0f147af9f94eba4e49bb0308b18ffd",
                      "Data/1-7_MCABoundary/Combined_Authorities_December_2022_EN_BGC_5631883247521478017.geojson")),),
        ONS_PORTAL,
    ),
    Dataset(
        "ca2024", "Combined Authorities (May 2023) Boundaries EN BUC (2024 codes)", "ONS", "2024", OGL,
        ONS_ATTR.format(year=2023), "official",
        (DataFile("boundaries/cauth_2023may_en_buc.geojson",
                  "4bec40f862548dcddc693934e09e20aa8be3b0bca1511f5dbe9be9c6ab09256e", 66841,
                  _gh(_LSIP, "8e68a00c9b70b86ee1cd26adc0731b911a0d3208",
                      "Data/1-7_CABoundary/Combined_Authorities_May_2023_Boundaries_EN_BUC_529823327652397380.geojson")),),
        ONS_PORTAL, note="the file titled May 2023 carries CAUTH24 codes (11 areas)",
    ),
    Dataset(
        "lad2017", "Local Authority Districts (December 2017) Super Generalised Clipped Boundaries in GB",
        "ONS", "2017", OGL, ONS_ATTR.format(year=2017), "official",
        tuple(
            DataFile(f"boundaries/lad_2017dec_gb_sgc/lad_2017dec_gb_sgc.{ext}", sha, size,
                     _gh(_LAD17_SRC[0], _LAD17_SRC[1], f"{_LAD17_SRC[2]}.{ext}"))
            for ext, (sha, size) in _LAD17_SHA.items()
        ),
        ONS_PORTAL, note="super generalised (200 m), clipped",
    ),
    Dataset(
        "lad2021", "Local Authority Districts (December 2021) UK BUC", "ONS", "2021", OGL,
        ONS_ATTR.format(year=2021), "official",
        (DataFile("boundaries/lad_2021dec_uk_buc.gpkg",
                  "0131cff36c2db99d922a5eb3b848d537c89b6046e446a184d7191f8573879222", 745472,
                  _gh("jucordero/yorkshire_land_use_map", "86a2402c9cae745c9a84d6f4cdfc49432ba616bc",
                      "data/Local_Authority_Districts_December_2021_UK_BUC_2022_8985961432220200008.gpkg")),),
        ONS_PORTAL, note="ultra-generalised (500 m), clipped",
    ),
    Dataset(
        "lookup_lad17_ca2017", "Local Authority District to Combined Authority (March 2017) Lookup in EN",
        "ONS", "2017", OGL, ONS_ATTR.format(year=2017), "official",
        (DataFile("boundaries/lookup_lad17_cauth17_mar2017_en.csv",
                  "92be4d6fbcc91d77a0599ee8d64cea2d530e469f578f2ea24799dece00950658", 2825,
                  _gh(*_ONSL, "csv/043.csv")),),
        ONS_PORTAL,
    ),
    Dataset(
        "lookup_lad24_ca2024", "Local Authority District to Combined Authority (May 2024) Lookup in EN",
        "ONS", "2024", OGL, ONS_ATTR.format(year=2024), "official",
        (DataFile("boundaries/lookup_lad24_cauth24_en.csv",
                  "756c9036275a3ff14ad700d154be0a7defa21259c903a021a549e59fc9b015ef", 3758,
                  _gh(_LSIP, "701f235d1cd8daef99a3599cf8f16c3fb30acb0b",
                      "Data/1-3_MCA_lookup/Local_Authority_District_to_Combined_Authority_(May_2024)_Lookup_in_EN.csv")),),
        ONS_PORTAL,
    ),
    Dataset(
        "lookup_lad25_ca2025", "Local Authority District to Combined Authority (May 2025) Lookup in EN",
        "ONS", "2025", OGL, ONS_ATTR.format(year=2025), "official",
        (DataFile("boundaries/lookup_lad25_cauth25_en.csv",
                  "7d8a10543e163ebb8e89df02d2bf522bd7e4b70aab9084dce7216f6c35e043b9", 5511,
                  _gh(_LSIP, "8e68a00c9b70b86ee1cd26adc0731b911a0d3208",
                      "Data/1-3_CA_lookup/Local_Authority_District_to_Combined_Authority_(May_2025)_Lookup_in_EN.csv")),),
        ONS_PORTAL, optional=True,
    ),
    Dataset(
        "lookup_lad11_lad21", "Local Authority District (2011) to Local Authority District (2021) Lookup for E&W",
        "ONS", "2021", OGL, ONS_ATTR.format(year=2021), "official",
        (DataFile("boundaries/lookup_lad11_lad21_ew.csv",
                  "8661cf97d3015de348ca42f2b97d989d99ab8421f36ee9ba7933634fe53f4cd6", 17889,
                  _gh(_LSIP, "165d2c914f4c6fd5be39500f988afbae1c9238ec",
                      "Data/1-4_LaLookup/Local_Authority_District_(2011)_to_Local_Authority_District_(2021)_Lookup_for_England_and_Wales.csv")),),
        ONS_PORTAL,
    ),
    Dataset(
        "lookup_lad_region", "All local authority district codes with region (la_all_codes.csv)",
        "David Kane (drkane/geo-lookups), from ONS data", "2011-2025", OGL,
        ONS_ATTR.format(year=2025) + " Compiled by David Kane (geo-lookups).", "third_party",
        (DataFile("boundaries/lookup_lad_all_codes_rgn_cauth_drkane.csv",
                  "caf5e5924134107b1b61eedfb45abbb1276db7ed4fa2cd40680bc564bb55169a", 88500,
                  _gh("drkane/geo-lookups", "435367445c4411ef36ba9c9780929a9bf9a3eb86", "la_all_codes.csv")),),
        None, note="used for LAD -> region only; its CA column mixes vintages",
    ),
    Dataset(
        "lookup_lsoa11_lep2017", "LSOA (2011) to Local Enterprise Partnership (April 2017) Lookup in England v2",
        "ONS", "2017", OGL, ONS_ATTR.format(year=2017), "official",
        (DataFile("boundaries/lookup_lsoa11_lep17_apr2017_en_v2.csv",
                  "186135211d75b76f0e17a6fb85e7d803810fcddc5615669051e0cae1f9297630", 2128436,
                  _gh(*_ONSL, "csv/184.csv")),),
        ONS_PORTAL,
    ),
    Dataset(
        "lookup_lsoa11_lad2017", "LSOA (2011) to CCG to LAD (April 2017) Lookup in England v4",
        "ONS", "2017", OGL, ONS_ATTR.format(year=2017), "official",
        (DataFile("boundaries/lookup_lsoa11_ccg17_lad17_apr2017_en_v4.csv",
                  "27ab5b5c072c2f26f536c20854f63df03884c89e100025eda7bac4410ffa483e", 3006173,
                  _gh(*_ONSL, "csv/226.csv")),),
        ONS_PORTAL,
    ),
    Dataset(
        "lookup_lad17_lep2017", "LAD (2017) to LEP (April 2017), derived from the two LSOA lookups",
        "iot-geo, from ONS lookups", "2017", OGL, ONS_ATTR.format(year=2017), "derived",
        (DataFile("boundaries/lookup_lad17_lep17_en_derived.csv",
                  "db103e945920109cfaf1685fd869058a5bad368df1cbda46ef88cdf52b9ba8d7", 23546),),
        None, derived_from=("lookup_lsoa11_lep2017", "lookup_lsoa11_lad2017"),
        note="every LEP any of a district's LSOAs falls in; iot-geo rebuilds it in memory when absent",
        builder=_build_lad17_lep17, optional=True,
    ),
    Dataset(
        "providers_ks5", "16-18 institutions (KS5 performance tables 2018/19) with postcode coordinates",
        "waiky8/eng-schools, from DfE performance tables", "2018/19", OGL + " (DfE source data)",
        DFE_ATTR + " Geocoded by waiky8/eng-schools (postcode centroids).", "third_party",
        (DataFile("providers/england_ks5final_2018-19_geocoded_waiky8.csv",
                  "4c921f14e73c7b89616998cbdfbb911bcdcde5557f601f338c887762535d7537", 572057),),
        "https://www.compare-school-performance.service.gov.uk/download-data",
        note="derived third-party file with no official address: used only from the data directory",
    ),
    Dataset(
        "providers_he", "UK Learning Providers plus (higher education institutions)",
        "data.ac.uk (UKRLP, HESA)", "before 2021", OGL,
        "Contains UKRLP public sector information licensed under the Open Government Licence v3.0 (data.ac.uk).",
        "official",
        (DataFile("providers/learning-providers-plus.csv",
                  "889a605d5ec8e4fbd3f3ce3e602621a28f4462e3c11733dc09e269d583c06dbc", 56402,
                  _gh("odileeds/learning-provider-website-emissions", "f4687c9b6c069950d1312ee40b3c0e025ba81378",
                      "data/learning-providers-plus.csv")),),
        "http://learning-provider.data.ac.uk/",
    ),
    Dataset(
        "fe_college_list", "List of FE Colleges UK-wide, 30 Oct 2018", "GOV.UK Registers", "2018", OGL,
        "Contains public sector information licensed under the Open Government Licence v3.0.", "official",
        (DataFile("providers/List_of_FE_Colleges_UK-wide_30_Oct_2018.xlsx",
                  "7232e33ffe278c8fd4fcf02866c4b79c2a27e8948bb0c7249067a4f0dcf29a7a", 14884,
                  _gh("openregister/further-education-college-uk-data", "b360a73e7193d4b95c2f6d249f91226a73880a74",
                      "list/List of FE Colleges UK-wide 30 Oct 2018.xlsx")),),
        None, optional=True,
    ),
    Dataset(
        "fe_college_register", "Further education college register (UK)", "GOV.UK Registers", "2018", OGL,
        "Contains public sector information licensed under the Open Government Licence v3.0.", "official",
        (DataFile("providers/further-education-college-uk.tsv",
                  "fa06b16c3abf04b067935ee56b0a8fc56bf7aed892eb474e6c42b7d7a3ef3efb", 21276,
                  _gh("openregister/further-education-college-uk-data", "e54fd6637c91e2a3776306dd3e365593832486f4",
                      "data/further-education-college-uk.tsv")),),
        None, optional=True,
    ),
    Dataset(
        "lsoa_centroids", "Lower Layer Super Output Areas (December 2011) Population Weighted Centroids",
        "ONS", "2011", OGL, ONS_ATTR.format(year=2011), "official",
        (DataFile("population/Lower_Layer_Super_Output_Areas_December_2011_Population_Weighted_Centroids.csv",
                  "2913df2b160963c9c4d43a9468ed627fd9a0aeb1269d4494cbcf467922457881", 2426016,
                  _gh("iainfletcher/NimbusData", "09026622065c49c400e7b72c4d3b36423a4ee0ae",
                      "Lower_Layer_Super_Output_Areas_December_2011_Population_Weighted_Centroids.csv")),),
        ONS_PORTAL,
    ),
    Dataset(
        "imd2019", "English indices of deprivation 2019, File 1 (IMD)", "MHCLG", "2019", OGL, MHCLG_ATTR,
        "official",
        (DataFile("population/File_1_-_IMD2019_Index_of_Multiple_Deprivation.xlsx",
                  "b95ca12952c3a8ebdb2e5c3bb03d5b0e56b76ede3fcf45205db26f280b912d9d", 1433347,
                  _gh(_IOD, "1ba3a96ea46d73a7a433a85d2e632320f8628552",
                      "data/File_1_-_IMD2019_Index_of_Multiple_Deprivation.xlsx")),),
        IOD_PAGE,
    ),
    Dataset(
        "population2015", "English indices of deprivation 2019, File 6 (population denominators, mid-2015)",
        "MHCLG (ONS mid-2015 estimates)", "2015", OGL, MHCLG_ATTR, "official",
        (DataFile("population/File_6_-_IoD2019_Population_Denominators.xlsx",
                  "d13bc1333325309d4a8a4df27ff501cba0f4df83c87765203da426eb27024b72", 2014740,
                  _gh(_IOD, "247e44532d97275ab695865cb3c2f669ab1611d8",
                      "data/File_6_-_IoD2019_Population_Denominators.xlsx")),),
        IOD_PAGE,
    ),
    Dataset(
        "iod2019_lad", "English indices of deprivation 2019, File 10 (LAD summaries)", "MHCLG", "2019", OGL,
        MHCLG_ATTR, "official",
        (DataFile("population/File_10_-_IoD2019_Local_Authority_District_Summaries__lower-tier__.xlsx",
                  "e4ade0ca7fa5e00e1f89b6c1ae754cd6561dd777543e04ff8a38cadea10b5366", 255264,
                  _gh(_IOD, "247e44532d97275ab695865cb3c2f669ab1611d8",
                      "data/File_10_-_IoD2019_Local_Authority_District_Summaries__lower-tier__.xlsx")),),
        IOD_PAGE, optional=True,
    ),
    Dataset(
        "iod2019_lep", "English indices of deprivation 2019, File 12 (LEP summaries)", "MHCLG", "2019", OGL,
        MHCLG_ATTR, "official",
        (DataFile("population/File_12_-_IoD2019_Local_Enterprise_Partnership__LEP__Summaries.xlsx",
                  "113d82f413896366c47d72ff5f0b1c44c848d68b8feb7f6eb48ed2b28fcf3755", 66900,
                  _gh(_IOD, "247e44532d97275ab695865cb3c2f669ab1611d8",
                      "data/File_12_-_IoD2019_Local_Enterprise_Partnership__LEP__Summaries.xlsx")),),
        IOD_PAGE, optional=True,
    ),
    Dataset(
        "osm_rutland_2022", "OpenStreetMap extract: Rutland (Geofabrik, 2022-07-20)", "OpenStreetMap contributors",
        "2022-07-20", ODBL, OSM_ATTR, "official",
        (DataFile("osm/rutland-2022-07-20.osm.pbf",
                  "85f7540a52772856e61fca49c257ebdf653e62b4a552a9c59fc65b626582e387", 1609743,
                  _gh("mikeqfu/pydriosm", "10aa61c014f312a94f443e78f3456cbe526f4d3e",
                      "tests/data/rutland/rutland-latest.osm.pbf")),),
        "https://download.geofabrik.de/europe/united-kingdom/england/rutland.html", optional=True,
    ),
    Dataset(
        "osm_rutland_2018", "OpenStreetMap extract: Rutland (Geofabrik, 2018-02-27)", "OpenStreetMap contributors",
        "2018-02-27", ODBL, OSM_ATTR, "official",
        (DataFile("osm/rutland-2018-02-27.osm.pbf",
                  "1ff975d78688c22977b3e01d527418ac01e0a87e8f4daa10bf8fd4fe55b8de03", 1179881,
                  _gh("ConnectedPlacesCatapult/TomboloOpenData", "1b1265698786abcfd0ae20c33f6956c1fa46f179",
                      "rutland-latest.osm.pbf")),),
        "https://download.geofabrik.de/europe/united-kingdom/england/rutland.html", optional=True,
    ),
    Dataset(
        "osm_leeds_example", "OpenStreetMap: small Leeds extract (osmextract test fixture, 2020)",
        "OpenStreetMap contributors", "2020-05-03", ODBL, OSM_ATTR, "official",
        (DataFile("osm/leeds-its-example-2020.osm.pbf",
                  "5d65c33d35668952d968ff95021568c77ced4d9098f06d08c43bf6d8e2c69a1a", 40792,
                  _gh("ropensci/osmextract", "085fc928633da5e5497f5e1fec7408ea42651ade",
                      "inst/its-example.osm.pbf")),),
        None, optional=True,
    ),
    Dataset(
        "osm_cambridge_drive", "Cambridge drive network (osmnx GraphML, 2020)", "OpenStreetMap contributors",
        "2020-08-21", ODBL, OSM_ATTR, "prepared",
        (DataFile("osm/cambridge-2020-drive.graphml.gz",
                  "8da7e515cf7096dfc529eb9d32fe9c1d454439187d919659bf1bc8b4e16e4346", 640235),),
        None, optional=True, note="converted from a pickle by the data collectors; data directory only",
    ),
    Dataset(
        "osm_westminster_drive", "City of Westminster drive network (osmnx GraphML, 2024)",
        "OpenStreetMap contributors", "2024-02-17", ODBL, OSM_ATTR, "prepared",
        (DataFile("osm/westminster-2024-drive.graphml.gz",
                  "fe23dccf63198a29316bef059ea4d60479a667400d840b0a2847f7ca406e559d", 466051),),
        None, optional=True, note="gzip of the source GraphML; data directory only",
    ),
    Dataset(
        "gtfs_chester", "Bus timetables, Chester area (BODS GTFS, small test cut, 2023)",
        "DfT Bus Open Data Service (ITO World); cut by ONS Data Science Campus", "2023-08-16", OGL,
        "Contains public sector information from the Bus Open Data Service, licensed under the Open Government Licence v3.0.",
        "official",
        (DataFile("gtfs/chester-20230816-small_gtfs.zip",
                  "1a6dd12da34b68144103c8fd6e414bce3ff00c66e8d634c65a29f278c2b30169", 505639,
                  _gh("datasciencecampus/transport-network-performance", "21a58acb85320b6c789e714c43a3f1a4051bd67f",
                      "tests/data/chester-20230816-small_gtfs.zip")),),
        "https://data.bus-data.dft.gov.uk/", optional=True,
    ),
    # --- area evidence (issue 14): official statistics kept byte for byte as committed in public repositories;
    # PROVENANCE.md gives only short commits, so no pinned download address: used from the data directory.
    Dataset(
        "iod2019_domains_rda", "English indices of deprivation 2019: domain ranks and deciles by LSOA (R data)",
        "MHCLG (packaged by humaniverse/IMD)", "2019", OGL, MHCLG_ATTR, "third_party",
        (DataFile("evidence/imd2019_england_lsoa11.rda",
                  "6eb52614c9a6b7c96c6b0276d472d61558bd607e1d4c6833edf43dcc0faaa4a6", 703401,
                  _gh("humaniverse/IMD", "2f6c9050afee99a40041eb63b02b6b0c58850704", "data/imd2019_england_lsoa11.rda")),),
        IOD_PAGE, optional=True,
    ),
    Dataset(
        "iod2019_subdomains_rda", "English indices of deprivation 2019: sub-domain ranks and deciles by LSOA (R data)",
        "MHCLG (packaged by humaniverse/IMD)", "2019", OGL, MHCLG_ATTR, "third_party",
        (DataFile("evidence/imd2019_england_lsoa11_subdomains.rda",
                  "272085e1a18ecb7fefec7ed21650c9c4bb22c0e68a30ed3f20d71a0fa362881f", 781288,
                  _gh("humaniverse/IMD", "2f6c9050afee99a40041eb63b02b6b0c58850704",
                      "data/imd2019_england_lsoa11_subdomains.rda")),),
        IOD_PAGE, optional=True,
    ),
    Dataset(
        "iod2019_indicators_rda", "English indices of deprivation 2019: indicators by LSOA (R data)",
        "MHCLG (packaged by humaniverse/IMD)", "2019", OGL, MHCLG_ATTR, "third_party",
        (DataFile("evidence/imd2019_england_lsoa11_indicators.rda",
                  "162086d54e7d8068e111553d40e9d143c67a17e959950cec4e1f9a90b95a7819", 1128893,
                  _gh("humaniverse/IMD", "2f6c9050afee99a40041eb63b02b6b0c58850704",
                      "data/imd2019_england_lsoa11_indicators.rda")),),
        IOD_PAGE, optional=True,
    ),
    Dataset(
        "aps_qualifications", "Annual Population Survey: highest qualification by age, districts and LEPs (2017-2021)",
        "ONS (via Nomis; compiled by DfE lsip_dashboard)", "2017-2021", OGL,
        "Source: Office for National Statistics (Annual Population Survey) licensed under the Open Government "
        "Licence v.3.0.", "third_party",
        (DataFile("evidence/D_skillsnvq_APS1721.csv",
                  "61000e832b6358f81b3fb37f7f0954a6556412fc01d53889923b89dda2503a18", 635074),),
        "https://www.nomisweb.co.uk/", optional=True,
        note=f"{_LSIP} Data/AppData/D_skillsnvq_APS1721.csv @ 771be6f8; districts by 2021 name, no codes",
    ),
    Dataset(
        "aps_industry", "Annual Population Survey: employment by broad industry group, districts and LEPs (2017-2021)",
        "ONS (via Nomis; compiled by DfE lsip_dashboard)", "2017-2021", OGL,
        "Source: Office for National Statistics (Annual Population Survey) licensed under the Open Government "
        "Licence v.3.0.", "third_party",
        (DataFile("evidence/D_empind_APS1721.csv",
                  "19f66c7c0fb4165df4e2d206749806517bce64cbba2fa32b10df07950c93f877", 176407),),
        "https://www.nomisweb.co.uk/", optional=True,
        note=f"{_LSIP} Data/AppData/D_empind_APS1721.csv; districts by 2021 name, no codes",
    ),
    Dataset(
        "lep2020_codes", "Local Enterprise Partnership codes and names (2020)", "ONS (via DfE lsip_dashboard)",
        "2020", OGL, ONS_ATTR.format(year=2020), "third_party",
        (DataFile("evidence/2020_LEP_codes.csv",
                  "42fe6b58df8ccec827710a8fcc6160ee437dbcefb5d0a95e5716e6615a44fc26", 1109),),
        ONS_PORTAL, optional=True, note=f"{_LSIP} Data/2020 LEP.csv @ 4826562e (renamed)",
    ),
    Dataset(
        "fes_achievements_lad", "FE and skills achievements by type, by district (2016/17 to 2021/22)",
        "DfE", "2016/17-2021/22", OGL, DFE_ATTR, "third_party",
        (DataFile("evidence/fes_achievements_by_LAD_201617-202122_permalink-3960ad0f.csv",
                  "60b74506f84ca845ab975c4d3a01866bc4729af61e70cd6071bfdfc5e0985103", 716447),),
        "https://explore-education-statistics.service.gov.uk/find-statistics/further-education-and-skills",
        optional=True, note=f"{_LSIP} Data/6_ILRach/permalink-3960ad0f...csv @ b6f747dd",
    ),
    Dataset(
        "fes_ssa_lad", "Education and training achievements by sector subject area, by district (2021/22)",
        "DfE", "2021/22", OGL, DFE_ATTR, "third_party",
        (DataFile("evidence/fes_ach_by_SSA_LAD_202122_permalink-c390bb3f.csv",
                  "5ccd200d60b984c854d8dba568ce482059c388a7de7d6009805c0d70a3c170dc", 567366),),
        "https://explore-education-statistics.service.gov.uk/find-statistics/further-education-and-skills",
        optional=True, note=f"{_LSIP} Data/5_ILRachSSA/permalink-c390bb3f...csv @ 7fa7a458",
    ),
    Dataset(
        "apprenticeships_poc3", "Apprenticeship starts and achievements by sector subject area and district (2016/17)",
        "DfE", "2016/17", OGL, DFE_ATTR, "third_party",
        (DataFile("evidence/poc3.csv", "b87556f28962ce435b5552a55eebcc285fb534ea6464d2d7639f1be174df060d", 1027661),),
        "https://www.gov.uk/government/collections/fe-data-library-apprenticeships", optional=True,
        note="dfe-analytical-services/fe-apprenticeship-statistics data/poc3.csv @ bad05eab; districts by name only",
    ),
    Dataset(
        "mye2019_lad", "Population estimates, mid-2019, by single year of age (April 2020 local authority codes)",
        "ONS", "2019", OGL, ONS_ATTR.format(year=2020), "third_party",
        (DataFile("evidence/ukmidyearestimates20192020ladcodes.xls",
                  "9a9d628135f999540a5ed8ee4057cb31658320dd0d92e95e2922c302cbb98255", 2501632),),
        "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates",
        optional=True, note="TheDebata/Young-Claimants-by-LA ukmidyearestimates20192020ladcodes.xls @ f8291795",
    ),
)

_BY_NAME = {d.name: d for d in DATASETS}


def get_dataset(name: str) -> Dataset:
    """Return the catalogue entry called ``name``.

    Raises
    ------
    InvalidInputError
        If no dataset has that name; the message lists the names there are.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise InvalidInputError(
            f"unknown dataset {name!r}; known datasets: {', '.join(sorted(_BY_NAME))}"
        ) from None


def dataset_path(name: str, *, data_dir: str | os.PathLike[str] | None = None, index: int = 0) -> Path:
    """Return the path of a dataset's file in the data directory, checking that it exists.

    Parameters
    ----------
    name : str
        Catalogue name, for example ``"lep2021"``.
    data_dir : path, optional
        Data directory; default from :func:`iot_geo.settings.get_data_dir`.
    index : int
        Which of the dataset's files (a shapefile has several).

    Raises
    ------
    DataNotFoundError
        If the data directory or the file is missing; the message names both
        and how to get the file.
    """
    ds = get_dataset(name)
    READ.add(name)
    root = settings.get_data_dir(data_dir)
    if not root.is_dir():
        raise DataNotFoundError(
            f"data directory {root} does not exist: set --data-dir or ${settings.DATA_ENV}, "
            f"or run `iot-geo data fetch` to download the data"
        )
    path = root / ds.files[index].path
    if not path.is_file():
        how = (
            f"run `iot-geo data fetch {name}`"
            if ds.downloadable or ds.kind == "derived"
            else "this file has no download address: copy it into the data directory"
        )
        raise DataNotFoundError(f"{ds.title}: {path.name} not found in {path.parent} ({how})")
    verify(ds, root)
    return path


@contextlib.contextmanager
def reading(name: str, path: Path) -> Iterator[None]:
    """Turn a failure to parse a dataset file into one readable error naming the file and the fix."""
    try:
        yield
    except (IotGeoError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise InvalidInputError(
            f"{path}: unreadable as {name} ({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            f"run `iot-geo data check`, and `iot-geo data fetch --force {name}` for a fresh copy"
        ) from None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


#: File in the cache folder that remembers each dataset file's sha256 by resolved path, size and mtime (ns).
SHA_CACHE_FILE = "dataset-sha256.json"
#: At most this many files are remembered (files that no longer exist are forgotten first).
SHA_CACHE_MAX = 2000
#: In-process memory of the same: resolved path -> (size, mtime_ns, sha256).
SHA_MEMO: dict[str, tuple[int, int, str]] = {}
_WARNED: set[tuple[str, str]] = set()


def _sha_cache_path() -> Path | None:
    try:
        return settings.get_cache_dir() / SHA_CACHE_FILE
    except OSError:
        return None


def _read_sha_cache(path: Path | None) -> dict[str, tuple[int, int, str]]:
    if path is None:
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[str, tuple[int, int, str]] = {}
    if isinstance(raw, dict):
        for key, v in raw.items():
            if (isinstance(v, list) and len(v) == 3 and isinstance(v[0], int) and isinstance(v[1], int)
                    and isinstance(v[2], str)):
                out[str(key)] = (v[0], v[1], v[2])
    return out


def _write_sha_cache(path: Path, entries: dict[str, tuple[int, int, str]]) -> None:
    keep = {k: v for k, v in entries.items() if os.path.isfile(k)}
    if len(keep) > SHA_CACHE_MAX:
        keep = dict(list(keep.items())[-SHA_CACHE_MAX:])
    try:
        with atomic(path) as tmp:
            tmp.write_text(json.dumps({k: list(v) for k, v in keep.items()}, indent=0), encoding="utf-8")
    except (IotGeoError, OSError) as exc:  # a read-only or full cache: the answer is kept in memory only
        log.debug("could not remember checksums in %s: %s", path, exc)


def cached_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file, remembered by (resolved path, size, mtime in ns).

    The answer is kept in memory and in :data:`SHA_CACHE_FILE` in the cache
    folder (written atomically), so a file is hashed again only when its size
    or modification time changes. A cache that cannot be written is skipped.
    """
    real = Path(path).resolve()
    key = str(real)
    st = real.stat()
    now = (st.st_size, st.st_mtime_ns)
    hit = SHA_MEMO.get(key)
    if hit is not None and hit[:2] == now:
        return hit[2]
    cache = _sha_cache_path()
    stored = _read_sha_cache(cache)
    for k, v in stored.items():  # one read of the cache file serves every file this process opens
        SHA_MEMO.setdefault(k, v)
    hit = stored.get(key)
    if hit is not None and hit[:2] == now:
        SHA_MEMO[key] = hit
        return hit[2]
    digest = sha256_file(real)
    after = real.stat()
    if (after.st_size, after.st_mtime_ns) != now:  # changed while being read: answer, but remember nothing
        return digest
    SHA_MEMO[key] = (*now, digest)
    if cache is not None:
        stored.pop(key, None)
        stored[key] = SHA_MEMO[key]
        _write_sha_cache(cache, stored)
    return digest


def verify(ds: Dataset, root: Path) -> None:
    """Check every present file of ``ds`` under ``root`` against the catalogue's sha256.

    Derived tables are not checked (iot-geo builds them; see :func:`check`).

    Raises
    ------
    ChecksumError
        For a file that differs, naming it and the fix, unless
        :data:`iot_geo.settings.allow_modified_data` is set: then a
        :class:`~iot_geo.errors.ModifiedDataWarning` is issued instead (and
        :func:`iot_geo.provenance.stamp` records the file in every output).
    """
    if ds.kind == "derived":
        return
    for f in ds.files:
        path = root / f.path
        if not path.is_file():
            continue
        digest = cached_sha256(path)
        if digest == f.sha256:
            continue
        what = (f"{path}: sha256 {digest[:12]}... is not the catalogue's {f.sha256[:12]}... for {ds.name} "
                f"({ds.title})")
        if settings.allow_modified_data:
            if (str(path), digest) not in _WARNED:
                _WARNED.add((str(path), digest))
                warnings.warn(f"{what}: used anyway because of --allow-modified-data; every output's provenance "
                              "records it", ModifiedDataWarning, stacklevel=3)
            continue
        how = (f"run `iot-geo data fetch {ds.name}` for an intact copy" if ds.downloadable
               else "copy an intact file into the data directory (it has no download address; see its PROVENANCE.md)")
        raise ChecksumError(f"{what}: the file was changed or damaged; {how}, or give --allow-modified-data "
                            "(iot_geo.settings.allow_modified_data = True) to use it anyway")


def verify_path(path: str | os.PathLike[str], *, data_dir: str | os.PathLike[str] | None = None) -> None:
    """Verify ``path`` with :func:`verify` when it is one of the catalogue's files in the data directory.

    For readers that take a path (road networks, timetables) rather than a
    catalogue name; any other file (a user's own extract) is left alone.
    """
    root = settings.get_data_dir(data_dir)
    try:
        rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return
    for ds in DATASETS:
        if any(f.path == rel for f in ds.files):
            READ.add(ds.name)
            verify(ds, root)
            return


@dataclass(frozen=True)
class FileStatus:
    """The state of one dataset file in the data directory."""

    dataset: str
    path: str
    status: str  # "ok", "missing", "corrupt", "rebuildable"
    detail: str = ""


def check(*, data_dir: str | os.PathLike[str] | None = None, names: Iterable[str] | None = None) -> list[FileStatus]:
    """Check each dataset file: present, and with the catalogue's sha256.

    A derived table that is absent but whose inputs are present is
    ``rebuildable`` (iot-geo builds it in memory when needed). A derived table
    that is present is checked against the catalogue's sha256 only to report
    whether it equals the known build.
    """
    root = settings.get_data_dir(data_dir)
    out: list[FileStatus] = []
    selected = [get_dataset(n) for n in names] if names else list(DATASETS)
    for ds in selected:
        for f in ds.files:
            path = root / f.path
            if not path.is_file():
                if ds.kind == "derived" and all(
                    (root / g.path).is_file() for n in ds.derived_from for g in get_dataset(n).files
                ):
                    out.append(FileStatus(ds.name, f.path, "rebuildable", "built from its inputs when needed"))
                else:
                    out.append(FileStatus(ds.name, f.path, "missing", "optional" if ds.optional else "required"))
                continue
            digest = sha256_file(path)
            if digest == f.sha256:
                out.append(FileStatus(ds.name, f.path, "ok"))
            elif ds.kind == "derived":
                out.append(FileStatus(ds.name, f.path, "ok", "present; differs from the reference build"))
            else:
                out.append(FileStatus(ds.name, f.path, "corrupt", f"sha256 {digest[:12]}... expected {f.sha256[:12]}..."))
    return out


def _atomic_write_bytes(path: Path, payload: bytes) -> None:
    with atomic(path, what="the derived table", internal=True) as tmp:
        tmp.write_bytes(payload)


def _download(url: str, dest: Path, f: DataFile, progress: Progress | None, session: requests.Session) -> None:
    """Stream ``url`` to ``dest`` through a temporary file, verifying size and sha256."""
    import requests  # deferred: imported where a download happens, so reading data never pays for it

    h = hashlib.sha256()
    got = 0
    task = progress.add_task(dest.name, total=f.size) if progress is not None else None
    with atomic(dest, what="the download", internal=True) as tmp:
        try:
            with session.get(url, stream=True, timeout=settings.download_timeout) as resp:
                if resp.status_code != 200:
                    raise DownloadError(f"{url}: HTTP {resp.status_code} {resp.reason}")
                with open(tmp, "wb") as out:
                    for block in resp.iter_content(chunk_size=1 << 16):
                        out.write(block)
                        h.update(block)
                        got += len(block)
                        if progress is not None and task is not None:
                            progress.update(task, completed=got)
        except requests.RequestException as exc:
            raise DownloadError(f"{url}: transfer failed after {got} of {f.size} bytes ({exc.__class__.__name__}); "
                                f"nothing was written, run the fetch again") from exc
        if got != f.size:
            raise DownloadError(f"{url}: got {got} of {f.size} bytes; the transfer was cut short, nothing was written")
        digest = h.hexdigest()
        if digest != f.sha256:
            raise ChecksumError(
                f"{url}: sha256 {digest} does not match the catalogue's {f.sha256}; the file was refused"
            )


def _with_inputs(selected: list[Dataset]) -> list[Dataset]:
    """The datasets in fetch order: each derived table after the inputs it is built from, each once."""
    ordered: list[Dataset] = []
    for ds in selected:
        for dep in ds.derived_from:
            dd = get_dataset(dep)
            if dd not in ordered:
                ordered.append(dd)
        if ds not in ordered:
            ordered.append(ds)
    return ordered


def _check_fetchable(datasets: list[Dataset], root: Path) -> None:
    """Refuse, before anything is fetched, a dataset without a download address (copied in by hand)."""
    for ds in datasets:
        if ds.kind == "prepared" or (ds.kind == "third_party" and not ds.downloadable):
            raise InvalidInputError(
                f"{ds.name}: {ds.title} has no download address ({ds.kind}); copy "
                f"{', '.join(f.path for f in ds.files)} into {root} by hand"
            )


def _fetch_file(ds: Dataset, f: DataFile, root: Path, mirror: str | None, force: bool, progress: Progress | None,
                session: requests.Session) -> Path:
    """One file of a dataset, present and intact: kept when it already is, else built or downloaded."""
    dest = root / f.path
    if not force and dest.is_file() and (ds.kind == "derived" or sha256_file(dest) == f.sha256):
        return dest
    if ds.kind == "derived":
        assert ds.builder is not None
        _atomic_write_bytes(dest, ds.builder(root))
        log.info("built %s from %s", f.path, ", ".join(ds.derived_from))
    else:
        url = f"{mirror}/{quote(f.path)}" if mirror else f.source_url
        assert url is not None
        _download(url, dest, f, progress, session)
    return dest


def fetch(
    names: Iterable[str] | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    force: bool = False,
    show_progress: bool = True,
) -> list[Path]:
    """Download datasets into the data directory, verifying each checksum.

    Parameters
    ----------
    names : iterable of str, optional
        Catalogue names; default every downloadable and derived dataset.
    data_dir : path, optional
        Target directory (created if missing).
    base_url : str, optional
        A mirror serving the data directory's layout; default
        :func:`iot_geo.settings.get_base_url`, else each file's source address.
    force : bool
        Download again even where an intact copy is present.
    show_progress : bool
        Draw a progress bar per file.

    Returns
    -------
    list of pathlib.Path
        The files now present and intact.

    Raises
    ------
    ChecksumError, DownloadError
        On the first file that fails; files already fetched stay, the failed
        one leaves nothing behind.
    InvalidInputError
        For a dataset that cannot be downloaded (third-party or prepared).
    """
    root = settings.get_data_dir(data_dir)
    mirror = (base_url or settings.get_base_url() or "").rstrip("/") or None
    selected = [get_dataset(n) for n in names] if names else [d for d in DATASETS if d.downloadable or d.kind == "derived"]
    ordered = _with_inputs(selected)
    _check_fetchable(ordered, root)
    import requests  # deferred: imported where a download happens, so reading data never pays for it

    done: list[Path] = []
    session = requests.Session()
    progress = (
        Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), transient=False)
        if show_progress
        else None
    )
    try:
        if progress is not None:
            progress.start()
        for ds in ordered:
            done += [_fetch_file(ds, f, root, mirror, force, progress, session) for f in ds.files]
    finally:
        if progress is not None:
            progress.stop()
        session.close()
    return done
