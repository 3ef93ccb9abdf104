"""``python -m iot_geo`` runs the CLI."""

from iot_geo.cli import main

main()
