"""Smooth random fields defined everywhere in LPS space (texture, bias, edema heterogeneity).

A field is a sum of random plane waves, so the same field evaluates consistently on any grid:
the sagittal, axial and localizer images of one phantom see one texture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SmoothField:
    """Zero-mean, unit-variance random field: ``sqrt(2/K) * sum_k cos(k_k . p + phase_k)``."""

    wave_vectors: np.ndarray  # (K, 3), rad/mm
    phases: np.ndarray  # (K,)

    @classmethod
    def random(
        cls,
        rng: np.random.Generator,
        *,
        wavelength_mm: tuple[float, float],
        n_waves: int = 24,
        stretch: tuple[float, float, float] = (1.0, 1.0, 1.0),
    ) -> SmoothField:
        """Waves with wavelengths uniform in ``wavelength_mm``; ``stretch`` > 1 along an LPS
        axis makes the texture longer along it (muscle fibres along S: (1, 1, 4))."""
        d = rng.normal(size=(n_waves, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        lam = rng.uniform(wavelength_mm[0], wavelength_mm[1], size=n_waves)
        k = d * (2.0 * np.pi / lam)[:, None] / np.asarray(stretch, dtype=float)[None, :]
        ph = rng.uniform(0.0, 2.0 * np.pi, size=n_waves)
        return cls(wave_vectors=k, phases=ph)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Values at ``points`` given as an array (3, ...) of LPS coordinates."""
        shape = points.shape[1:]
        p = points.reshape(3, -1)
        out = np.zeros(p.shape[1], dtype=np.float32)
        for k, ph in zip(self.wave_vectors, self.phases):
            arg = k[0] * p[0] + k[1] * p[1] + k[2] * p[2] + ph
            out += np.cos(arg).astype(np.float32)
        out *= np.float32(np.sqrt(2.0 / len(self.phases)))
        return out.reshape(shape)
