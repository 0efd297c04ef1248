"""U-Net (2D/3D) in ``flax.nnx`` with CARE defaults, optional dropout and the N2V2 variant.

Layout is channels-last: ``(batch, [Z,] Y, X, channels)``. The network is the CSBDeep/CARE
U-Net: two KxK convolutions + ReLU per level, 2x down-sampling, nearest up-sampling and skip
concatenation, a linear 1x1 output head and, when requested, a residual connection that adds
the input to the first ``in_channels`` outputs.

Dropout is applied *functionally*: ``model(x, dropout_key=key)`` drops activations in the
bottleneck and decoder, ``model(x)`` is deterministic. Passing the key explicitly (instead
of keeping an RNG stream inside the module) keeps training steps and Monte-Carlo sampling
pure functions of their inputs, which makes them reproducible bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
from flax import nnx

from fijax.errors import InputError


@dataclass(frozen=True)
class UNetSpec:
    """Architecture of a :class:`UNet` (saved with every model).

    Attributes
    ----------
    ndim : int
        Spatial dimensions, 2 or 3.
    in_channels, out_channels : int
        Channels of the input image and of the network output (task head).
    depth : int
        Number of down-sampling steps.
    kernel : int
        Convolution kernel size (odd).
    filters : int
        Filters of the first level, doubled per level.
    residual : bool
        Add the input to the first ``in_channels`` outputs.
    dropout : float
        Dropout rate in bottleneck and decoder (0 disables; >0 enables Monte-Carlo sampling).
    batch_norm : bool
        BatchNorm after each convolution.
    n2v2 : bool
        N2V2 variant: max-blur-pool instead of max-pool and no skip connection at the top level.
    compact_decoder : bool
        CAREamics' layout: the bottleneck and each decoder block end with half their width
        (depth 2, 32 filters: bottleneck 64→128→64, decoder 128→64→32, 64→32→32), ~25 % fewer
        operations than CSBDeep's layout (decoder blocks keep their level's width).
    """

    ndim: int = 2
    in_channels: int = 1
    out_channels: int = 1
    depth: int = 2
    kernel: int = 5
    filters: int = 32
    residual: bool = True
    dropout: float = 0.0
    batch_norm: bool = False
    n2v2: bool = False
    compact_decoder: bool = False

    def __post_init__(self) -> None:
        if self.ndim not in (2, 3):
            raise InputError(f"U-Net ndim must be 2 or 3, got {self.ndim}")
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise InputError(f"U-Net kernel must be odd and positive, got {self.kernel}")
        if self.depth < 0 or self.depth > 6:
            raise InputError(f"U-Net depth must be in 0..6, got {self.depth}")
        if self.filters < 1 or self.in_channels < 1 or self.out_channels < 1:
            raise InputError("U-Net filters and channel counts must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.residual and self.out_channels < self.in_channels:
            raise InputError("a residual U-Net needs at least as many output as input channels")

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def divisor(self) -> int:
        """Spatial sizes must be multiples of this (``2**depth``)."""
        return 2 ** self.depth

    def halo(self) -> int:
        """Context (pixels per side) that determines an output pixel, rounded up to :attr:`divisor`.

        An upper bound of the receptive-field radius: each KxK convolution at level ``l`` adds
        ``(K-1)/2 * 2**l``, each down-sampling ``2 * 2**l`` (max-pool window, blur tap), each
        up-sampling ``2**l``. Tiles cropped by this many pixels reproduce the untiled output.
        """
        r = (self.kernel - 1) // 2
        radius = 0
        for level in range(self.depth):
            radius += 4 * r * 2 ** level          # two convs in the encoder, two in the decoder
            radius += 2 * 2 ** level + 2 ** level  # down-sampling + up-sampling
        radius += 2 * r * 2 ** self.depth          # bottleneck
        m = self.divisor
        return int(math.ceil(radius / m) * m)


def _conv(cin: int, cout: int, k: int, ndim: int, rngs: nnx.Rngs) -> nnx.Conv:
    # Glorot-uniform initialisation as in CSBDeep.
    return nnx.Conv(cin, cout, kernel_size=(k,) * ndim, padding="SAME",
                    kernel_init=nnx.initializers.glorot_uniform(), rngs=rngs)


class ConvBlock(nnx.Module):
    """Two convolutions with ReLU (and BatchNorm when asked)."""

    def __init__(self, cin: int, cout: int, spec: UNetSpec, rngs: nnx.Rngs, cout2: int | None = None):
        cout2 = cout if cout2 is None else cout2
        self.conv1 = _conv(cin, cout, spec.kernel, spec.ndim, rngs)
        self.conv2 = _conv(cout, cout2, spec.kernel, spec.ndim, rngs)
        if spec.batch_norm:
            self.bn1 = nnx.BatchNorm(cout, momentum=0.9, rngs=rngs)
            self.bn2 = nnx.BatchNorm(cout2, momentum=0.9, rngs=rngs)
        else:
            self.bn1 = self.bn2 = None

    def __call__(self, x: jax.Array) -> jax.Array:
        x = self.conv1(x)
        if self.bn1 is not None:
            x = self.bn1(x)
        x = jax.nn.relu(x)
        x = self.conv2(x)
        if self.bn2 is not None:
            x = self.bn2(x)
        return jax.nn.relu(x)


def _max_pool(x: jax.Array, ndim: int) -> jax.Array:
    return nnx.max_pool(x, window_shape=(2,) * ndim, strides=(2,) * ndim)


def _max_blur_pool(x: jax.Array, ndim: int) -> jax.Array:
    """N2V2's anti-aliased down-sampling: max over a 2-window (stride 1), then a [1,2,1] blur, stride 2."""
    x = nnx.max_pool(x, window_shape=(2,) * ndim, strides=(1,) * ndim, padding="SAME")
    c = x.shape[-1]
    taps = jnp.array([1.0, 2.0, 1.0], x.dtype) / 4.0
    for axis in range(ndim):
        shape = [1] * ndim
        shape[axis] = 3
        kernel = jnp.broadcast_to(taps.reshape(shape + [1, 1]), tuple(shape) + (1, c))
        strides = [1] * ndim
        strides[axis] = 2
        dn = jax.lax.conv_dimension_numbers(x.shape, kernel.shape,
                                            ("NHWC", "HWIO", "NHWC") if ndim == 2 else ("NDHWC", "DHWIO", "NDHWC"))
        pads = [(0, 0)] * ndim
        pads[axis] = (1, 1)
        x = jax.lax.conv_general_dilated(x, kernel, tuple(strides), pads, dimension_numbers=dn,
                                         feature_group_count=c)
    return x


def _upsample(x: jax.Array, ndim: int) -> jax.Array:
    for axis in range(1, ndim + 1):
        x = jnp.repeat(x, 2, axis=axis)
    return x


def _dropout(x: jax.Array, rate: float, key: jax.Array | None) -> jax.Array:
    if key is None or rate <= 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0)


class UNet(nnx.Module):
    """CARE-style U-Net, 2D or 3D, channels-last.

    Parameters
    ----------
    spec : UNetSpec
        Architecture.
    rngs : nnx.Rngs
        Parameter initialisation stream.

    Examples
    --------
    >>> net = UNet(UNetSpec(ndim=2, filters=8, kernel=3), nnx.Rngs(0))
    >>> net(jnp.zeros((1, 32, 32, 1))).shape
    (1, 32, 32, 1)
    """

    def __init__(self, spec: UNetSpec, rngs: nnx.Rngs):
        self.spec = spec
        f = spec.filters
        self.down = nnx.List([
            ConvBlock(spec.in_channels if lvl == 0 else f * 2 ** (lvl - 1), f * 2 ** lvl, spec, rngs)
            for lvl in range(spec.depth)
        ])
        cin = spec.in_channels if spec.depth == 0 else f * 2 ** (spec.depth - 1)
        compact = spec.compact_decoder and spec.depth > 0
        prev = f * 2 ** (spec.depth - 1) if compact else f * 2 ** spec.depth
        self.bottom = ConvBlock(cin, f * 2 ** spec.depth, spec, rngs, cout2=prev)
        ups = []
        for lvl in reversed(range(spec.depth)):
            skip = 0 if (spec.n2v2 and lvl == 0) else f * 2 ** lvl
            out = f * 2 ** max(lvl - 1, 0) if compact else f * 2 ** lvl
            ups.append(ConvBlock(prev + skip, f * 2 ** lvl, spec, rngs, cout2=out))
            prev = out
        self.up = nnx.List(ups)
        self.head = nnx.Conv(f, spec.out_channels, kernel_size=(1,) * spec.ndim,
                             kernel_init=nnx.initializers.glorot_uniform(), rngs=rngs)

    def encode(self, x: jax.Array) -> list[jax.Array]:
        """Deterministic encoder activations: each level's block output, then the bottleneck's.

        Used by the domain check (:mod:`fijax.engine.domain`); costs about half a forward pass.
        """
        spec = self.spec
        maps = []
        for block in self.down:
            x = block(x)
            maps.append(x)
            x = _max_blur_pool(x, spec.ndim) if spec.n2v2 else _max_pool(x, spec.ndim)
        maps.append(self.bottom(x))
        return maps

    def __call__(self, x: jax.Array, dropout_key: jax.Array | None = None) -> jax.Array:
        """Map ``(B, *spatial, in_channels)`` to ``(B, *spatial, out_channels)``.

        Spatial sizes must be multiples of ``2**depth``; ``dropout_key`` enables dropout.
        """
        spec = self.spec
        if x.ndim != spec.ndim + 2 or x.shape[-1] != spec.in_channels:
            raise InputError(f"U-Net expects (batch, {'Z, ' if spec.ndim == 3 else ''}Y, X, "
                             f"{spec.in_channels}) input, got shape {tuple(x.shape)}")
        if any(s % spec.divisor for s in x.shape[1:-1]):
            raise InputError(f"spatial sizes {tuple(x.shape[1:-1])} must be multiples of {spec.divisor}")
        keys = (list(jax.random.split(dropout_key, spec.depth + 1))
                if dropout_key is not None and spec.dropout > 0 else [None] * (spec.depth + 1))
        inp = x
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = _max_blur_pool(x, spec.ndim) if spec.n2v2 else _max_pool(x, spec.ndim)
        x = _dropout(self.bottom(x), spec.dropout, keys[0])
        for i, block in enumerate(self.up):
            lvl = spec.depth - 1 - i
            x = _upsample(x, spec.ndim)
            if not (spec.n2v2 and lvl == 0):
                x = jnp.concatenate([x, skips[lvl]], axis=-1)
            x = _dropout(block(x), spec.dropout, keys[i + 1])
        y = self.head(x)
        if spec.residual:
            c = spec.in_channels
            y = y.at[..., :c].add(inp)
        return y


def make_unet(spec: UNetSpec, seed: int = 0) -> UNet:
    """Build a :class:`UNet` with Glorot-uniform kernels drawn by NumPy from ``seed``.

    Equivalent in distribution to ``UNet(spec, nnx.Rngs(seed))`` but without compiling one XLA
    initialiser per parameter shape (seconds on a small CPU); deterministic for a given seed.
    """
    import numpy as np

    abstract = nnx.eval_shape(lambda: UNet(spec, nnx.Rngs(0)))
    graphdef, state = nnx.split(abstract)
    pure = nnx.to_pure_dict(state)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(pure)
    rng = np.random.default_rng(seed)
    values = []
    for path, leaf in leaves:
        name = str(getattr(path[-1], "key", path[-1]))
        shape = tuple(leaf.shape)
        if name == "kernel":
            receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
            limit = math.sqrt(6.0 / (receptive * (shape[-2] + shape[-1])))
            values.append(rng.uniform(-limit, limit, shape).astype(np.float32))
        elif name in ("scale", "var"):
            values.append(np.ones(shape, np.float32))
        else:  # biases, running means
            values.append(np.zeros(shape, np.float32))
    nnx.replace_by_pure_dict(state, jax.tree_util.tree_unflatten(treedef, [jnp.asarray(v) for v in values]))
    return nnx.merge(graphdef, state)


def count_params(model: nnx.Module) -> int:
    """Number of trainable parameters."""
    return int(sum(p.size for p in jax.tree.leaves(nnx.state(model, nnx.Param))))
