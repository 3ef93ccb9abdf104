"""outputs: exact refusals, formula neutralising both ways and CR quoting (issue 18, mutation testing)."""

from __future__ import annotations

import os
import socket

import pandas as pd
import pytest

from iot_geo import InvalidInputError, files, outputs


@pytest.mark.parametrize("name", ["", "..", "sub/.."])
def test_a_path_naming_a_folder_is_refused(name):
    with pytest.raises(InvalidInputError) as e:
        files.check_output(name)
    assert str(e.value) == f"output {name} names a folder, not a file; name a file to write"


def test_special_files_are_refused_by_kind(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        for path, kind in (("/dev/null", "a device"), (fifo, "a FIFO"), (sock_path, "a socket")):
            with pytest.raises(InvalidInputError) as e:
                files.check_output(path)
            assert str(e.value) == f"output {path} is {kind}; iot-geo writes only regular files: name a new file"
    finally:
        sock.close()
    with pytest.raises(InvalidInputError) as e:
        files.check_output(tmp_path)
    assert str(e.value) == f"output {tmp_path} is a folder; name a file to write"


def test_the_data_directory_is_refused_unless_internal(data_dir):
    target = data_dir / "boundaries" / "never-written.csv"
    with pytest.raises(InvalidInputError) as e:
        files.check_output(target)
    assert str(e.value) == (f"output {target} is inside the data directory {data_dir.resolve()}; iot-geo never "
                            "writes there: choose a folder outside it")
    assert files.check_output(target, internal=True) == target and not target.exists()


def test_neutralise_and_back_exactly():
    cells = ["=1+1", "'=x", "-3", "-x", "plain", "@a", "\tz", "''+q", "'", "'-3", "+1e5"]
    out = outputs.neutralise(pd.DataFrame({"t": cells, "n": range(len(cells))}))
    assert out["t"].tolist() == ["'=1+1", "''=x", "-3", "'-x", "plain", "'@a", "'\tz", "'''+q", "'", "''-3", "+1e5"]
    assert out["n"].tolist() == list(range(len(cells)))  # numbers are never text
    assert outputs.unneutralise(out)["t"].tolist() == cells
    # text a user wrote with a quote of their own before a number or plain text is kept as it is
    kept = ["'-3", "'plain", "'"]
    assert outputs.unneutralise(pd.DataFrame({"t": kept}))["t"].tolist() == kept


def test_csv_round_trip_and_carriage_returns(tmp_path):
    df = pd.DataFrame({"t": ["=cmd", "a\rb", "ok"], "v": [1.5, 2.0, 3.25]})
    assert outputs.to_csv_text(df) == "t,v\n'=cmd,1.5\n\"a\rb\",2.0\nok,3.25\n"
    path = outputs.write_csv(df, tmp_path / "t.csv")
    back = outputs.read_csv(path, dtype={"t": str})
    assert back["t"].tolist() == ["=cmd", "a\rb", "ok"] and back["v"].tolist() == [1.5, 2.0, 3.25]
