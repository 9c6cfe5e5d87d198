"""A voxel grid in LPS physical space, in SimpleITK conventions.

``origin`` is the centre of the first voxel, ``spacing`` is (column, row, slice) spacing in mm,
``direction`` is a row-major 3x3 matrix whose columns are the row, column and slice directions,
``size`` is (columns, rows, slices). Arrays laid on a grid are (slices, rows, columns), as
``sitk.GetArrayFromImage`` returns them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from acuity.errors import InputError

Vec3 = tuple[float, float, float]
Direction = tuple[float, float, float, float, float, float, float, float, float]


@dataclass(frozen=True)
class Grid:
    """A 3-D voxel grid placed in LPS space; the constructor validates it."""

    origin: Vec3
    spacing: Vec3
    direction: Direction
    #: (columns, rows, slices)
    size: tuple[int, int, int]

    def __post_init__(self) -> None:
        if len(self.origin) != 3 or len(self.spacing) != 3 or len(self.size) != 3:
            raise InputError(
                f"Grid needs 3 values for origin, spacing and size; got {self.origin}, "
                f"{self.spacing}, {self.size}"
            )
        if min(self.spacing) <= 0:
            raise InputError(f"Grid.spacing {self.spacing} must be positive (mm)")
        if min(self.size) < 1:
            raise InputError(f"Grid.size {self.size} must be at least 1 along each axis")
        d = np.asarray(self.direction, dtype=float).reshape(3, 3)
        if not np.allclose(d.T @ d, np.eye(3), atol=1e-4):
            raise InputError(
                f"Grid.direction {tuple(self.direction)} is not orthonormal: its columns must be "
                "unit vectors at right angles"
            )
        object.__setattr__(self, "origin", tuple(float(v) for v in self.origin))
        object.__setattr__(self, "spacing", tuple(float(v) for v in self.spacing))
        object.__setattr__(self, "direction", tuple(float(v) for v in d.ravel()))
        object.__setattr__(self, "size", tuple(int(v) for v in self.size))

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_image(cls, image: sitk.Image) -> Grid:
        """The grid of a 3-D SimpleITK image."""
        dim = image.GetDimension()  # type: ignore[no-untyped-call]
        if dim != 3:
            raise InputError(f"image dimension is {dim}; a Grid is 3-D")
        return cls(
            origin=image.GetOrigin(),  # type: ignore[no-untyped-call]
            spacing=image.GetSpacing(),  # type: ignore[no-untyped-call]
            direction=image.GetDirection(),  # type: ignore[no-untyped-call]
            size=image.GetSize(),  # type: ignore[no-untyped-call]
        )

    @classmethod
    def centred(
        cls,
        centre: Vec3,
        row_dir: Vec3,
        col_dir: Vec3,
        spacing: Vec3,
        size: tuple[int, int, int],
    ) -> Grid:
        """A grid whose centre is ``centre``; slices stack along ``row_dir x col_dir``."""
        r = np.asarray(row_dir, dtype=float)
        c = np.asarray(col_dir, dtype=float)
        r /= np.linalg.norm(r)
        c /= np.linalg.norm(c)
        n = np.cross(r, c)
        d = np.stack([r, c, n], axis=1)
        half = (np.asarray(size, dtype=float) - 1.0) / 2.0 * np.asarray(spacing, dtype=float)
        origin = np.asarray(centre, dtype=float) - d @ half
        return cls(
            origin=_vec3(origin),
            spacing=spacing,
            direction=tuple(float(v) for v in d.ravel()),  # type: ignore[arg-type]
            size=size,
        )

    # -- geometry ---------------------------------------------------------------------------

    @property
    def matrix(self) -> np.ndarray:
        """3x3 direction matrix (columns: row, column and slice directions)."""
        return np.asarray(self.direction, dtype=float).reshape(3, 3)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape (slices, rows, columns)."""
        return (self.size[2], self.size[1], self.size[0])

    @property
    def normal(self) -> np.ndarray:
        """Slice-stacking direction (LPS unit vector)."""
        return self.matrix[:, 2].copy()

    def index_to_lps(self, idx_xyz: np.ndarray) -> np.ndarray:
        """Continuous (x=column, y=row, z=slice) indices (..., 3) -> LPS points (..., 3)."""
        idx = np.asarray(idx_xyz, dtype=float)
        scaled = idx * np.asarray(self.spacing)
        return np.asarray(np.asarray(self.origin) + scaled @ self.matrix.T)

    def lps_to_index(self, points: np.ndarray) -> np.ndarray:
        """LPS points (..., 3) -> continuous (x=column, y=row, z=slice) indices (..., 3)."""
        p = np.asarray(points, dtype=float) - np.asarray(self.origin)
        return np.asarray((p @ self.matrix) / np.asarray(self.spacing))

    def points(self, slice_offset_mm: float = 0.0, dtype: type = np.float32) -> np.ndarray:
        """LPS centres of every voxel as an array (3, slices, rows, columns).

        ``slice_offset_mm`` moves every point along the slice normal (to sample a slice's
        thickness).
        """
        nz, ny, nx = self.shape
        d = self.matrix * np.asarray(self.spacing)[None, :]
        o = np.asarray(self.origin) + slice_offset_mm * self.normal
        k = np.arange(nz, dtype=float)[:, None, None]
        j = np.arange(ny, dtype=float)[None, :, None]
        i = np.arange(nx, dtype=float)[None, None, :]
        out: np.ndarray = np.empty((3, nz, ny, nx), dtype=dtype)
        for a in range(3):
            out[a] = o[a] + d[a, 0] * i + d[a, 1] * j + d[a, 2] * k
        return out

    def centre(self) -> np.ndarray:
        """LPS centre of the grid."""
        return self.index_to_lps((np.asarray(self.size, dtype=float) - 1.0) / 2.0)

    def to_image(self, array: np.ndarray) -> sitk.Image:
        """``array`` (slices, rows, columns) as a SimpleITK image on this grid."""
        if tuple(array.shape) != self.shape:
            raise InputError(f"array shape {array.shape} does not match grid shape {self.shape}")
        image = sitk.GetImageFromArray(array)
        image.SetOrigin(self.origin)  # type: ignore[no-untyped-call]
        image.SetSpacing(self.spacing)  # type: ignore[no-untyped-call]
        image.SetDirection(self.direction)  # type: ignore[no-untyped-call]
        return image

    def axis_along(self, lps_axis: int) -> tuple[int, int]:
        """(array axis, sign) of the grid axis most parallel to LPS axis 0=L, 1=P, 2=S.

        The array axis is in (slices, rows, columns) order; sign is +1 when increasing the
        index moves towards +L/+P/+S.
        """
        m = self.matrix
        col = int(np.argmax(np.abs(m[lps_axis, :])))  # 0=column(x), 1=row(y), 2=slice(z)
        sign = 1 if m[lps_axis, col] > 0 else -1
        return (2 - col, sign)


def _vec3(v: np.ndarray) -> Vec3:
    return (float(v[0]), float(v[1]), float(v[2]))
