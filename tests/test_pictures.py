"""Static pictures: each layer is drawn where it belongs, in one pass."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.image import imread

from iot_geo.bids import read_bids
from iot_geo.maps import PALETTE, save_picture
from iot_geo.sources.boundaries import PROJECT_DATA


def _pixels_near(img: np.ndarray, hex_colour: str, tol: float = 0.04) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((np.abs(img[..., :3] - rgb).max(axis=-1) < tol).sum())


def test_picture_layers_by_hand(tmp_path, data_dir):
    bids = list(read_bids(PROJECT_DATA / "examples" / "rutland.yaml"))[:2]
    hubs = [b.sites.geometry.values[0] for b in bids]
    d = float(shapely.distance(hubs[0], hubs[1]))
    assert d > 1000
    rows = []
    for b, hub in zip(bids, hubs):
        for band, r in ((20, 0.7 * d), (10, 0.3 * d)):  # the 20-minute areas meet between the hubs
            rows.append({"group_id": b.id, "minutes": band, "geometry": shapely.buffer(hub, r)})
    catch = gpd.GeoDataFrame(rows, crs="EPSG:27700")
    big = catch[catch["minutes"] == 20].geometry.values
    ov = gpd.GeoDataFrame({"geometry": [shapely.intersection(big[0], big[1])]}, crs="EPSG:27700")
    a = imread(save_picture(tmp_path / "a.png", bids, catchments=catch, overlaps=ov, data_dir=data_dir))
    b = imread(save_picture(tmp_path / "b.png", bids, catchments=catch, overlaps=None, data_dir=data_dir))
    assert a.shape == b.shape
    # the hub stars are drawn in each bid's own colour, on top of the areas
    assert _pixels_near(a, PALETTE[0], 0.02) > 20 and _pixels_near(a, PALETTE[1], 0.02) > 20
    # where the two 20-minute areas meet, the overlap layer tints the picture red; without it, it does not
    assert not ov.geometry.values[0].is_empty
    changed = np.abs(a[..., :3] - b[..., :3]).max(axis=-1) > 0.05
    redder = changed & (a[..., 0] - a[..., 2] > b[..., 0] - b[..., 2] + 0.05)
    assert changed.sum() > 2000 and redder.sum() > 0.75 * changed.sum()  # the rest: the legend gains a row
    # nothing outside the axes but the title, legend text and attribution: the corners are white
    assert (a[:5, :5, :3] > 0.99).all() and (a[-3:, -3:, :3] > 0.99).all()
