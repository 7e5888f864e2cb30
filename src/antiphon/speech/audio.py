"""Audio conversions between the realtime wire and the speech seams.

The wire carries ``session.audio.input.format`` / ``output.format``: ``{"type": "audio/pcm",
"rate": 24000}`` (PCM16 little-endian mono), ``{"type": "audio/pcmu"}`` (G.711 μ-law, 8 kHz) or
``{"type": "audio/pcma"}`` (G.711 A-law, 8 kHz). The seams take PCM16 mono at a rate they name;
the server works at 24 kHz. :func:`decode_input` and :func:`encode_output` convert between the
two, :func:`resample` and :class:`Resampler` between rates (numpy, the ``speech`` extra, only
when a rate changes), and :func:`wav_bytes` / :func:`read_wav` frame PCM16 as WAV.

The G.711 tables follow ITU-T G.711 as the classic Sun reference implementation (``g711.c``,
also CPython's former ``audioop``) computes them: μ-law on 14 bits with bias 0x84, A-law on 13
bits with even-bit inversion 0x55. They are built once, on first use.
"""

from __future__ import annotations

import io
import sys
import wave
from array import array
from collections.abc import Mapping
from functools import cache
from typing import cast

from antiphon.speech._resample import Resampler, resample

__all__ = [
    "SERVER_RATE",
    "AudioFormat",
    "Resampler",
    "alaw_decode",
    "alaw_encode",
    "decode_input",
    "encode_output",
    "format_duration_ms",
    "format_type",
    "pcm16_duration_ms",
    "read_wav",
    "resample",
    "ulaw_decode",
    "ulaw_encode",
    "wav_bytes",
]

#: The rate the realtime server works at (the wire's ``audio/pcm`` rate).
SERVER_RATE = 24000
#: G.711 is always 8 kHz, one byte a sample.
G711_RATE = 8000

#: A wire format: the session's mapping, its ``type`` string, or an object with a ``type``
#: attribute (the openai SDK's models); None means the default, ``audio/pcm`` at 24 kHz.
AudioFormat = Mapping[str, object] | str | object | None

_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159  # of the 14-bit magnitude
_BIG_ENDIAN = sys.byteorder == "big"


def _ulaw_from_linear(sample: int) -> int:
    value = sample >> 2  # μ-law codes 14 bits
    if value < 0:
        mask, value = 0x7F, -value
    else:
        mask = 0xFF
    value = min(value, _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    # Segment = position of the top bit above the 6 low ones.
    segment = max(0, value.bit_length() - 6)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def _linear_from_ulaw(code: int) -> int:
    code = ~code & 0xFF
    exponent = (code >> 4) & 0x07
    magnitude = ((((code & 0x0F) << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return -magnitude if code & 0x80 else magnitude


def _alaw_from_linear(sample: int) -> int:
    value = sample >> 3  # A-law codes 13 bits
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        value = -value - 1
    # Segment = position of the top bit above the 5 low ones; 13-bit input tops out at 7.
    segment = max(0, value.bit_length() - 5)
    shift = 1 if segment < 2 else segment
    return ((segment << 4) | ((value >> shift) & 0x0F)) ^ mask


def _linear_from_alaw(code: int) -> int:
    code ^= 0x55
    magnitude = (code & 0x0F) << 4
    segment = (code & 0x70) >> 4
    if segment == 0:
        magnitude += 8
    else:
        magnitude = (magnitude + 0x108) << (segment - 1)
    return magnitude if code & 0x80 else -magnitude


@cache
def _decode_table(law: str) -> tuple[bytes, ...]:
    """Code -> its PCM16 little-endian sample, as two bytes."""
    decode = _linear_from_ulaw if law == "u" else _linear_from_alaw
    return tuple(decode(code).to_bytes(2, "little", signed=True) for code in range(256))


@cache
def _encode_table(law: str) -> bytes:
    """Unsigned view of a PCM16 sample (0..65535) -> its code."""
    encode = _ulaw_from_linear if law == "u" else _alaw_from_linear
    return bytes(encode(u - 65536 if u >= 32768 else u) for u in range(65536))


def _encode(pcm: bytes, law: str) -> bytes:
    samples = array("H", _whole_samples(pcm))
    if _BIG_ENDIAN:  # pragma: no cover - the wire is little-endian
        samples.byteswap()
    return bytes(map(_encode_table(law).__getitem__, samples))


def _whole_samples(pcm: bytes) -> bytes:
    if len(pcm) % 2:
        raise ValueError(f"PCM16 audio must hold whole 2-byte samples, got {len(pcm)} bytes")
    return pcm


def ulaw_encode(pcm: bytes) -> bytes:
    """PCM16 little-endian -> G.711 μ-law, one byte a sample (no rate change)."""
    return _encode(pcm, "u")


def ulaw_decode(data: bytes) -> bytes:
    """G.711 μ-law -> PCM16 little-endian (no rate change)."""
    return b"".join(map(_decode_table("u").__getitem__, data))


def alaw_encode(pcm: bytes) -> bytes:
    """PCM16 little-endian -> G.711 A-law, one byte a sample (no rate change)."""
    return _encode(pcm, "a")


def alaw_decode(data: bytes) -> bytes:
    """G.711 A-law -> PCM16 little-endian (no rate change)."""
    return b"".join(map(_decode_table("a").__getitem__, data))


def _field(fmt: AudioFormat, name: str) -> object:
    if isinstance(fmt, Mapping):
        return cast(Mapping[str, object], fmt).get(name)
    return cast(object, getattr(fmt, name, None))


def format_type(fmt: AudioFormat) -> str:
    """The ``type`` of a wire format (``"audio/pcm"`` when None or unknown-shaped)."""
    if fmt is None:
        return "audio/pcm"
    if isinstance(fmt, str):
        return fmt
    found = _field(fmt, "type")
    return found if isinstance(found, str) else "audio/pcm"


def _pcm_rate(fmt: AudioFormat) -> int:
    rate = _field(fmt, "rate")
    return rate if isinstance(rate, int) and rate > 0 else SERVER_RATE


def _check(kind: str) -> str:
    if kind not in ("audio/pcm", "audio/pcmu", "audio/pcma"):
        raise ValueError(f"unsupported audio format {kind!r}")
    return kind


def decode_input(data: bytes, fmt: AudioFormat = None) -> bytes:
    """Wire input audio in ``fmt`` -> PCM16 mono at :data:`SERVER_RATE`.

    Raises ValueError for an unknown format or PCM that is not whole samples. Each call is
    converted alone: to resample a stream seamlessly, decode at 8 kHz and use a
    :class:`Resampler`.
    """
    kind = _check(format_type(fmt))
    if kind == "audio/pcm":
        return resample(_whole_samples(data), _pcm_rate(fmt), SERVER_RATE)
    pcm = ulaw_decode(data) if kind == "audio/pcmu" else alaw_decode(data)
    return resample(pcm, G711_RATE, SERVER_RATE)


def encode_output(pcm: bytes, fmt: AudioFormat = None) -> bytes:
    """PCM16 mono at :data:`SERVER_RATE` -> wire output audio in ``fmt``."""
    kind = _check(format_type(fmt))
    if kind == "audio/pcm":
        return resample(_whole_samples(pcm), SERVER_RATE, _pcm_rate(fmt))
    narrow = resample(_whole_samples(pcm), SERVER_RATE, G711_RATE)
    return ulaw_encode(narrow) if kind == "audio/pcmu" else alaw_encode(narrow)


def pcm16_duration_ms(byte_count: int, sample_rate: int) -> float:
    """How long ``byte_count`` bytes of PCM16 mono at ``sample_rate`` play, in milliseconds."""
    return (byte_count // 2) * 1000 / sample_rate


def format_duration_ms(byte_count: int, fmt: AudioFormat = None) -> float:
    """How long ``byte_count`` bytes of wire audio in ``fmt`` play, in milliseconds."""
    kind = _check(format_type(fmt))
    if kind == "audio/pcm":
        return pcm16_duration_ms(byte_count, _pcm_rate(fmt))
    return byte_count * 1000 / G711_RATE


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """PCM16 mono framed as a WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(_whole_samples(pcm))
    return buffer.getvalue()


def read_wav(data: bytes) -> tuple[bytes, int]:
    """The PCM16 mono samples and rate of a WAV file; ValueError for other encodings."""
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            if reader.getsampwidth() != 2 or reader.getnchannels() != 1:
                raise ValueError("WAV audio must be 16-bit mono")
            return reader.readframes(reader.getnframes()), reader.getframerate()
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a WAV file: {exc}") from exc
