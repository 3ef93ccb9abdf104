"""Datasets iot-geo derives from official files, as pure functions of those files.

The catalogue (:mod:`iot_geo.sources.catalogue`) builds a derived file from its
inputs' paths with these functions, and the area layers
(:mod:`iot_geo.sources.boundaries`) derive the same table in memory when the file is
absent. Neither the catalogue nor this module reads anything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["lad17_lep17"]


def lad17_lep17(lad_lookup: Path, lep_lookup: Path) -> pd.DataFrame:
    """The LAD 2017 -> LEP 2017 table from the ONS LSOA -> LAD and LSOA -> LEP lookups.

    For each district: every LEP that any of its LSOAs falls in (through
    ``LEP17CD1`` or ``LEP17CD2``). ``LEP17CD1`` is the LEP with most LSOAs (ties
    go to the ONS first column), ``LEP17CD2`` the other one. ``RELATION`` is
    ``single``, ``overlap`` (the whole district in two LEPs) or ``split`` (its
    LSOAs divided between two LEPs with none in both).

    Parameters
    ----------
    lad_lookup, lep_lookup : Path
        The ONS LSOA 2011 -> LAD April 2017 (v4) and LSOA 2011 -> LEP April 2017 (v2) CSV files.

    Returns
    -------
    pandas.DataFrame
        One row per English LAD 2017: ``LAD17CD, LAD17NM, LEP17CD1, LEP17NM1,
        LEP17CD2, LEP17NM2, RELATION, N_LSOA, SHARE_LSOA_LEP1, SHARE_LSOA_LEP2``.

    Examples
    --------
    >>> from iot_geo.sources.catalogue import dataset_path
    >>> t = lad17_lep17(dataset_path("lookup_lsoa11_lad2017"), dataset_path("lookup_lsoa11_lep2017"))
    >>> t["RELATION"].value_counts().to_dict()
    {'single': 291, 'overlap': 31, 'split': 4}
    """
    import pandas as pd  # deferred: the catalogue imports this module and stays light

    lad = pd.read_csv(lad_lookup, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    lep = pd.read_csv(lep_lookup, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    df = lad[["LSOA11CD", "LAD17CD", "LAD17NM"]].merge(lep, on="LSOA11CD", how="inner", validate="1:1")
    long = pd.concat(
        [
            df[["LAD17CD", "LAD17NM", "LSOA11CD", "LEP17CD1", "LEP17NM1"]].rename(
                columns={"LEP17CD1": "LEP", "LEP17NM1": "LEPNM"}).assign(col=1),
            df[["LAD17CD", "LAD17NM", "LSOA11CD", "LEP17CD2", "LEP17NM2"]].rename(
                columns={"LEP17CD2": "LEP", "LEP17NM2": "LEPNM"}).assign(col=2),
        ]
    )
    long = long[long["LEP"] != ""]
    n_lsoa = df.groupby("LAD17CD").size()
    counts = (
        long.groupby(["LAD17CD", "LEP", "LEPNM"]).agg(n=("LSOA11CD", "nunique"), col=("col", "min")).reset_index()
    )
    counts = counts.sort_values(["LAD17CD", "n", "col", "LEP"], ascending=[True, False, True, True])
    rows = []
    names = df.drop_duplicates("LAD17CD").set_index("LAD17CD")["LAD17NM"]
    for lad_code, grp in counts.groupby("LAD17CD", sort=True):
        total = int(n_lsoa[lad_code])
        first = grp.iloc[0]
        second = grp.iloc[1] if len(grp) > 1 else None
        if second is None:
            relation = "single"
        else:
            both = df[(df["LAD17CD"] == lad_code) & (df["LEP17CD2"] != "")]
            relation = "overlap" if len(both) > 0 else "split"
        rows.append(
            {
                "LAD17CD": lad_code,
                "LAD17NM": names[lad_code],
                "LEP17CD1": first["LEP"],
                "LEP17NM1": first["LEPNM"],
                "LEP17CD2": "" if second is None else second["LEP"],
                "LEP17NM2": "" if second is None else second["LEPNM"],
                "RELATION": relation,
                "N_LSOA": total,
                "SHARE_LSOA_LEP1": round(first["n"] / total, 4),
                "SHARE_LSOA_LEP2": "" if second is None else round(second["n"] / total, 4),
            }
        )
    return pd.DataFrame(rows)
