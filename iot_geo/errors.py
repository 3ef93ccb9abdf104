"""The exceptions iot-geo raises.

Every message says what was wrong, where (file, row, field or value) and what
to do about it. The CLI turns them into one readable line and exit code 2.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

__all__ = [
    "ChecksumError", "DataNotFoundError", "DownloadError", "InvalidInputError", "IotGeoError", "ModifiedDataWarning",
    "NetworkBuildError", "warn_caller",
]

_PACKAGE = str(Path(__file__).resolve().parent)


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


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn at the first line outside iot-geo: the user's call, however deep inside iot-geo the cause lies.

    A fixed ``stacklevel`` names the right line only for one path through the package; this counts the
    frames that lie in iot-geo's own files instead.

    Examples
    --------
    >>> import warnings
    >>> from iot_geo.errors import warn_caller
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_caller("a note")
    >>> w[0].filename.endswith("errors.py")
    False
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    warnings.warn(message, category, stacklevel=level + 1)
