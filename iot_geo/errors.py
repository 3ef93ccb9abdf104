"""The exceptions iot-geo raises.

Every message says what was wrong, where (file, row, field or value) and what
to do about it. The CLI turns them into one readable line and exit code 2.
"""

from __future__ import annotations

__all__ = [
    "ChecksumError", "DataNotFoundError", "DownloadError", "InvalidInputError", "IotGeoError", "ModifiedDataWarning",
    "NetworkBuildError",
]


class IotGeoError(Exception):
    """Base class of every error iot-geo raises on purpose."""


class DataNotFoundError(IotGeoError, FileNotFoundError):
    """A data file or the data directory is missing."""


class InvalidInputError(IotGeoError, ValueError):
    """Input that iot-geo cannot use: bad coordinates, unknown names, malformed files."""


class ChecksumError(IotGeoError):
    """A file's sha256 does not match the catalogue."""


class ModifiedDataWarning(UserWarning):
    """A dataset file that differs from the catalogue was read because ``allow_modified_data`` was set."""


class DownloadError(IotGeoError):
    """A download failed or was cut short."""


class NetworkBuildError(IotGeoError):
    """A travel network could not be built from its source."""
