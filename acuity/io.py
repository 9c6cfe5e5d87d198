"""File-writing helpers: every output file is written atomically.

Each file is written to a temporary name beside its target, flushed to disk and renamed over
the target in one step (``os.replace``): a reader or a killed writer never sees a
half-written file, at most a stray hidden ``.NAME.*.tmp``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from acuity.errors import AcuityError, InputError

if TYPE_CHECKING:
    import SimpleITK as sitk


def read_text(
    path: str | Path,
    what: str,
    *,
    error: type[AcuityError] = InputError,
    encoding: str = "utf-8",
) -> str:
    """The text of ``path``; ``error`` (naming ``what`` and the file) when it is missing or
    unreadable."""
    p = Path(path)
    try:
        return p.read_text(encoding=encoding)
    except FileNotFoundError:
        raise error(f"{what} {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{what} {p} cannot be read: {exc}") from exc


def _file_mode() -> int:
    """Mode of a new file under the process umask (mkstemp alone gives 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_write(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write bytes (or UTF-8 text) to ``path`` atomically."""
    with atomic_write(Path(path), "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented UTF-8 JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    write_atomic(path, text)


def write_image(path: Path, image: sitk.Image) -> None:
    """Write a SimpleITK image (format from the suffix, e.g. ``.nii.gz``) atomically."""
    import SimpleITK

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = ".nii.gz" if path.name.endswith(".nii.gz") else path.suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    try:
        SimpleITK.WriteImage(image, tmp, True)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
