"""``python -m scraper`` runs the archiver command line."""

from scraper.cli import main

main()
