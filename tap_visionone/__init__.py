"""Singer tap for the Trend Vision One API v3.0."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tap-visionone")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
