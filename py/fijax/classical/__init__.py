"""Classical restoration baselines (PURE-LET), pure JAX/NumPy."""

from fijax.classical.noise import estimate_noise
from fijax.classical.puredenoise import puredenoise

__all__ = ["estimate_noise", "puredenoise"]
