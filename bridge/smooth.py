"""Smoothing of tracks over time (numpy only: scipy.ndimage costs 0.4 s to import)."""

from __future__ import annotations

import functools

import numpy as np


def gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    """Smooth along axis 0 with a Gaussian of `sigma` samples; edges hold their value."""
    if sigma <= 0:
        return x
    r = max(1, int(np.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    x2 = x.reshape(len(x), -1).astype(np.float64)
    padded = np.concatenate([np.repeat(x2[:1], r, 0), x2, np.repeat(x2[-1:], r, 0)])
    out = np.stack([np.convolve(padded[:, j], k, mode="valid") for j in range(x2.shape[1])], 1)
    return out.reshape(x.shape).astype(x.dtype)


def causal_ema(x: np.ndarray, alpha: float, state) -> tuple[np.ndarray, np.ndarray]:
    """Exponential moving average along axis 0, y[k] = y[k-1] + alpha (x[k] - y[k-1]),
    continuing from `state` (the previous y, or None to start at x[0]); for streams, where
    samples come in small blocks. -> (y, new state)."""
    x = np.asarray(x, np.float64)
    if len(x) == 0:
        return x, state
    state = x[0] if state is None else np.asarray(state, np.float64)
    out = np.empty_like(x)
    for b0 in range(0, len(x), 256):  # (block, block) weights: bounded memory on long input
        xb = x[b0:b0 + 256]
        w, carry = _ema_weights(len(xb), float(alpha))
        out[b0:b0 + len(xb)] = np.tensordot(w, xb, axes=1) + np.multiply.outer(carry, state)
        state = out[b0 + len(xb) - 1]
    return out, state


@functools.lru_cache(maxsize=64)
def _ema_weights(n: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    k = np.arange(n)
    lag = k[:, None] - k[None, :]
    return np.where(lag >= 0, alpha * (1 - alpha) ** np.maximum(lag, 0), 0.0), (1 - alpha) ** (k + 1)
