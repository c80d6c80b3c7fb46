"""tap-workvivo: Workvivo SIEM events as a Singer tap, incremental in hourly windows."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tap-workvivo")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
