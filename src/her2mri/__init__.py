"""her2mri: non-invasive assessment of HER2 status (zero / low / positive) in breast cancer from MRI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("her2mri")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
