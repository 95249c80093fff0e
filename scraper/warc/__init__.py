"""Web archives (WARC, ISO 28500) out and in: the only package that imports warcio.

``export`` writes WARC/1.1 (gzip per record); ``read`` scans records (bounded header reading,
de-chunking, capped decompression, resync after a bad record); ``ingest`` turns records into
pages and archives them through ``scraper.pipeline``. warcio is imported by this package's
modules only.
"""

from .export import ExportStats, export_warc, warc_date
from .ingest import ImportStats, import_warc
from .read import DEFAULT_MAX_BYTES, MAX_HEADER_BYTES, archive_time

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_HEADER_BYTES",
    "ExportStats",
    "ImportStats",
    "archive_time",
    "export_warc",
    "import_warc",
    "warc_date",
]
