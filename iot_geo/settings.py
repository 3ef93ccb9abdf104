"""Settings of iot-geo: plain module-level variables, each documented here.

data_dir : pathlib.Path or None
    The data directory. ``None`` means: the environment variable
    ``IOT_GEO_DATA`` if set, else the per-user data folder of the platform
    (``platformdirs.user_data_dir("iot-geo")``). The CLI option ``--data-dir``
    sets this variable.
cache_dir : pathlib.Path or None
    Where built travel networks are cached. ``None`` means ``IOT_GEO_CACHE``
    if set, else the per-user cache folder (``platformdirs.user_cache_dir``).
base_url : str or None
    A mirror that serves the data directory's layout over HTTP (for example
    ``http://127.0.0.1:8000``). When set, ``iot-geo data fetch`` downloads
    ``{base_url}/{relative path}`` instead of each file's source address.
    Environment variable ``IOT_GEO_BASE_URL``; CLI option ``--base-url``.
crs : str
    The coordinate reference system of every result: British National Grid.
wgs84 : str
    The coordinate reference system of maps and of lat/lon input.
download_timeout : float
    Seconds to wait for a server before giving up (connect and read).
allow_modified_data : bool
    Every dataset file is checked against its catalogue sha256 when it is read
    (the answer cached by size and modification time in the cache folder), and
    a file that differs is an error. ``True`` reads such a file anyway, with a
    warning that is also written into the provenance of every output. CLI
    option ``--allow-modified-data``. Default ``False``.
postcodes_url : str or None
    The postcodes.io server used for postcodes not found in the data
    directory's ``postcodes/`` folder (default ``https://api.postcodes.io``;
    environment variable ``IOT_GEO_POSTCODES_URL``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import platformdirs

__all__ = [
    "CACHE_ENV", "DATA_ENV", "allow_modified_data", "cache_dir", "crs", "data_dir", "download_timeout",
    "get_base_url", "get_cache_dir", "get_data_dir", "package_version", "postcodes_url", "wgs84",
]


DATA_ENV = "IOT_GEO_DATA"
CACHE_ENV = "IOT_GEO_CACHE"
BASE_URL_ENV = "IOT_GEO_BASE_URL"

data_dir: Path | None = None
cache_dir: Path | None = None
base_url: str | None = None
crs: str = "EPSG:27700"
wgs84: str = "EPSG:4326"
download_timeout: float = 30.0
allow_modified_data: bool = False
postcodes_url: str | None = None


def get_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory in force.

    Parameters
    ----------
    explicit : path, optional
        A directory given by the caller; wins over everything else.

    Returns
    -------
    pathlib.Path
        ``explicit``, else ``settings.data_dir``, else ``$IOT_GEO_DATA``, else
        the per-user data folder. It is not checked for existence here.
    """
    if explicit is not None:
        return Path(explicit).expanduser()
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("iot-geo"))


def get_cache_dir(*, create: bool = True) -> Path:
    """Return the cache folder for built networks and tables (created if missing and ``create``).

    A folder that cannot be created is still returned: writing into it then fails, and the cache
    writer (:func:`iot_geo.files.write_cache`) warns once and builds in memory.
    """
    if cache_dir is not None:
        path = Path(cache_dir)
    elif os.environ.get(CACHE_ENV):
        path = Path(os.environ[CACHE_ENV])
    else:
        path = Path(platformdirs.user_cache_dir("iot-geo"))
    if create:
        with contextlib.suppress(OSError):
            path.mkdir(parents=True, exist_ok=True)
    return path


def get_base_url() -> str | None:
    """Return the mirror base address in force, or ``None`` for each file's source."""
    if base_url:
        return base_url.rstrip("/")
    env = os.environ.get(BASE_URL_ENV)
    return env.rstrip("/") if env else None


def package_version() -> str:
    """iot-geo's installed version, from the package metadata (``"0.0.0"`` in a bare source tree).

    Examples
    --------
    >>> from iot_geo.settings import package_version
    >>> package_version().count(".") >= 2
    True
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("iot-geo")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"
