"""Array types of the knowledge modules (numpy's generic `ndarray` spelled out once, for mypy)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Floats", "Ints", "Bools"]

Floats = NDArray[np.floating[Any]]
"""Vectors, scores and features (float32 or float64)."""
Ints = NDArray[np.integer[Any]]
"""Row and entry indexes."""
Bools = NDArray[np.bool_]
"""Masks."""
