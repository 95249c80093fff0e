"""archiver: capture republished government articles into one deduplicated SQLite archive."""

__version__ = "0.1.0"
