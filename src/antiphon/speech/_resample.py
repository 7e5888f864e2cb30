"""Band-limited resampling of PCM16 mono, one-shot or streamed (numpy, imported lazily).

A polyphase windowed-sinc filter (Kaiser window, 16 zero crossings each side) over the rational
ratio between the two rates: 24000/16000 is 3:2, 22050/24000 is 147:160. Downsampling narrows
the cutoff to the output's Nyquist frequency, so nothing above it aliases back into speech.

numpy is imported only when a rate actually changes, so the audio helpers (and the realtime
server with same-rate engines) work without the ``speech`` extra.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from antiphon.exceptions import SpeechUnavailable

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["Resampler", "resample"]

#: Zero crossings of the sinc on each side of the centre (at the input's rate when upsampling).
_ZERO_CROSSINGS = 16
#: The cutoff sits a little below Nyquist: the window's transition band then ends at Nyquist.
_ROLLOFF = 0.94
_KAISER_BETA = 8.6
#: Outputs computed per numpy pass: bounds the (outputs x taps) gather matrix to ~2 MB.
_BLOCK = 4096


def _numpy() -> Any:
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover - the dev extra installs numpy
        raise SpeechUnavailable(
            "resampling needs numpy: pip install 'antiphon[speech]'", engine="audio"
        ) from exc
    return numpy


class Resampler:
    """Converts a stream of PCM16 mono from ``source_rate`` to ``target_rate``.

    :meth:`push` returns what can be computed so far (the filter needs a few samples of look
    ahead), :meth:`flush` the rest; chunk boundaries leave no seams, unlike resampling each chunk
    alone. Feeding a whole signal then flushing gives ``ceil(n * target / source)`` samples.
    """

    def __init__(self, source_rate: int, target_rate: int) -> None:
        if source_rate <= 0 or target_rate <= 0:
            raise ValueError(f"sample rates must be positive, not {source_rate}/{target_rate}")
        self.source_rate = source_rate
        self.target_rate = target_rate
        gcd = math.gcd(source_rate, target_rate)
        self._up = target_rate // gcd
        self._down = source_rate // gcd
        self._same = self._up == self._down
        self._consumed = 0  # input samples pushed so far
        self._produced = 0  # output samples returned so far
        self._pending = b""  # an odd trailing byte, completed by the next push
        if self._same:
            return
        xp = _numpy()
        cutoff = min(1.0, self._up / self._down) * _ROLLOFF
        self._half = math.ceil(_ZERO_CROSSINGS / min(1.0, self._up / self._down))
        offsets = xp.arange(-self._half + 1, self._half + 1, dtype=xp.float64)
        phases = xp.arange(self._up, dtype=xp.float64)[:, None] / self._up
        x = offsets[None, :] - phases  # distance from each tap to the output instant
        window = xp.i0(_KAISER_BETA * xp.sqrt(xp.clip(1 - (x / self._half) ** 2, 0, None)))
        taps = cutoff * xp.sinc(cutoff * x) * window / xp.i0(_KAISER_BETA)
        # Unity gain at DC for every phase, so a constant stays constant.
        self._taps: NDArray[np.float64] = taps / taps.sum(axis=1, keepdims=True)
        self._offsets: NDArray[np.int64] = offsets.astype(xp.int64)
        # The buffer starts at input index -half with zeros: the signal is silent before it.
        self._start = -self._half
        self._buffer: NDArray[np.float64] = xp.zeros(self._half, dtype=xp.float64)

    def push(self, pcm: bytes) -> bytes:
        """Feed PCM16 little-endian samples; the output samples now computable."""
        data = self._pending + pcm
        whole = len(data) - len(data) % 2
        self._pending = data[whole:]
        data = data[:whole]
        if self._same:
            return data
        xp = _numpy()
        samples = xp.frombuffer(data, dtype="<i2").astype(xp.float64)
        self._consumed += len(samples)
        self._buffer = xp.concatenate([self._buffer, samples])
        # Output n is ready once input floor(n * down / up) + half has arrived.
        end = self._start + len(self._buffer)
        ready = ((end - self._half) * self._up + self._down - 1) // self._down
        return self._compute(max(ready, self._produced))

    def flush(self) -> bytes:
        """The remaining output, as if silence followed; the resampler then starts afresh."""
        if self._same:
            self._pending = b""
            return b""
        xp = _numpy()
        self._buffer = xp.concatenate([self._buffer, xp.zeros(self._half, dtype=xp.float64)])
        total = (self._consumed * self._up + self._down - 1) // self._down
        out = self._compute(total)
        self._consumed = self._produced = 0
        self._pending = b""
        self._start = -self._half
        self._buffer = xp.zeros(self._half, dtype=xp.float64)
        return out

    def _compute(self, until: int) -> bytes:
        xp = _numpy()
        blocks: list[bytes] = []
        for first in range(self._produced, until, _BLOCK):
            n = xp.arange(first, min(first + _BLOCK, until), dtype=xp.int64)
            position = n * self._down
            base = position // self._up - self._start
            index = base[:, None] + self._offsets[None, :]
            values = (self._buffer[index] * self._taps[position % self._up]).sum(axis=1)
            blocks.append(xp.clip(xp.rint(values), -32768, 32767).astype("<i2").tobytes())
        self._produced = max(self._produced, until)
        # Keep only what later outputs still read: from the next output's first tap on.
        keep_from = (self._produced * self._down) // self._up - self._half + 1 - self._start
        if keep_from > 0:
            self._buffer = self._buffer[keep_from:]
            self._start += keep_from
        return b"".join(blocks)


def resample(pcm: bytes, source_rate: int, target_rate: int) -> bytes:
    """``pcm`` (PCM16 mono, whole samples) converted from ``source_rate`` to ``target_rate``."""
    if source_rate == target_rate:
        return pcm
    resampler = Resampler(source_rate, target_rate)
    return resampler.push(pcm) + resampler.flush()
