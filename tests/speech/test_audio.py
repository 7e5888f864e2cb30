"""The audio codecs and helpers: G.711 against reference values, resampling, wire formats, WAV."""

from __future__ import annotations

import hashlib
import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from antiphon.speech.audio import (
    Resampler,
    alaw_decode,
    alaw_encode,
    decode_input,
    encode_output,
    format_duration_ms,
    format_type,
    pcm16_duration_ms,
    read_wav,
    resample,
    ulaw_decode,
    ulaw_encode,
    wav_bytes,
)

EVERY_SAMPLE = struct.pack("<65536h", *range(-32768, 32768))
EVERY_CODE = bytes(range(256))


def pcm(*samples: int) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


def samples(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 2}h", data))


def sine(frequency: float, rate: int, seconds: float = 0.5, amplitude: float = 10000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype("<i2").tobytes()


def test_ulaw_known_values() -> None:
    assert ulaw_encode(pcm(0, 32767, -32768, 1000, -1000)) == bytes([0xFF, 0x80, 0x00, 0xCE, 0x4E])
    assert samples(ulaw_decode(bytes([0xFF, 0x80, 0x00, 0x7F, 0xCE]))) == [0, 32124, -32124, 0, 988]


def test_alaw_known_values() -> None:
    assert alaw_encode(pcm(0, 32767, -32768, 1000, -1000)) == bytes([0xD5, 0xAA, 0x2A, 0xFA, 0x7A])
    assert samples(alaw_decode(bytes([0xD5, 0x55, 0xAA, 0x2A, 0xFA]))) == [
        8,
        -8,
        32256,
        -32256,
        1008,
    ]


def test_the_tables_match_the_reference_implementation() -> None:
    # SHA-256 of the whole tables as CPython's audioop (Sun's g711.c) computes them: every
    # 16-bit sample encoded, every code decoded.
    digests = [
        hashlib.sha256(data).hexdigest()[:16]
        for data in (
            ulaw_encode(EVERY_SAMPLE),
            alaw_encode(EVERY_SAMPLE),
            ulaw_decode(EVERY_CODE),
            alaw_decode(EVERY_CODE),
        )
    ]
    assert digests == [
        "81d633c9e6972a18",
        "38488f6fd710f468",
        "3dab54339e520bb2",
        "e04788d110e58ff8",
    ]


def test_every_code_survives_a_round_trip() -> None:
    # μ-law 0x7F is "negative zero": it decodes to 0, which encodes as 0xFF.
    assert ulaw_encode(ulaw_decode(EVERY_CODE)) == EVERY_CODE.replace(b"\x7f", b"\xff")
    assert alaw_encode(alaw_decode(EVERY_CODE)) == EVERY_CODE


@given(st.lists(st.integers(-32768, 32767), min_size=1, max_size=200))
def test_companding_error_is_proportional(values: list[int]) -> None:
    for encode, decode in ((ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)):
        for before, after in zip(values, samples(decode(encode(pcm(*values)))), strict=True):
            # G.711 keeps ~4 bits of mantissa: the error is within 1/16 of the level (+ the
            # smallest step near zero).
            assert abs(after - before) <= abs(before) / 16 + 36


def test_pcm_must_be_whole_samples() -> None:
    with pytest.raises(ValueError, match="whole 2-byte samples"):
        ulaw_encode(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="whole 2-byte samples"):
        decode_input(b"\x00", {"type": "audio/pcm"})


@pytest.mark.parametrize(
    ("source", "target"),
    [(24000, 16000), (16000, 24000), (24000, 8000), (8000, 24000), (22050, 24000), (22050, 16000)],
)
def test_resampling_keeps_a_tone(source: int, target: int) -> None:
    out = np.frombuffer(resample(sine(440, source), source, target), dtype="<i2")
    assert len(out) == math.ceil(len(sine(440, source)) / 2 * target / source)
    expected = 10000 * np.sin(2 * np.pi * 440 * np.arange(len(out)) / target)
    edge = target // 100  # the filter's start-up at either end
    assert np.abs(out[edge:-edge] - expected[edge:-edge]).max() < 4


def test_downsampling_removes_what_the_target_cannot_hold() -> None:
    # 10 kHz is above 8 kHz's Nyquist frequency (4 kHz): it must not alias into the band.
    out = np.frombuffer(resample(sine(10000, 24000), 24000, 8000), dtype="<i2").astype(float)
    assert np.sqrt(np.mean(out[80:-80] ** 2)) < 10  # from an RMS of ~7071


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 999), min_size=1, max_size=12))
def test_streaming_matches_one_shot(cuts: list[int]) -> None:
    signal = sine(300, 22050, 0.3)
    resampler = Resampler(22050, 24000)
    out: list[bytes] = []
    start = 0
    for cut in cuts:  # odd sizes split samples: the resampler completes them
        out.append(resampler.push(signal[start : start + cut]))
        start += cut
    out.append(resampler.push(signal[start:]))
    out.append(resampler.flush())
    assert b"".join(out) == resample(signal, 22050, 24000)


def test_same_rate_is_a_pass_through() -> None:
    data = sine(100, 24000, 0.01)
    assert resample(data, 24000, 24000) == data
    resampler = Resampler(24000, 24000)
    assert resampler.push(data[:3]) + resampler.push(data[3:]) + resampler.flush() == data
    with pytest.raises(ValueError, match="positive"):
        Resampler(0, 8000)


def test_wire_formats() -> None:
    assert format_type(None) == "audio/pcm"
    assert format_type({"type": "audio/pcmu"}) == "audio/pcmu"
    assert format_type("audio/pcma") == "audio/pcma"

    class Model:
        type = "audio/pcmu"

    assert format_type(Model()) == "audio/pcmu"
    assert format_type({"rate": 24000}) == "audio/pcm"
    with pytest.raises(ValueError, match="unsupported audio format"):
        decode_input(b"", "audio/opus")


@pytest.mark.parametrize("fmt", [{"type": "audio/pcmu"}, {"type": "audio/pcma"}])
def test_g711_in_and_out(fmt: dict[str, object]) -> None:
    speech_band = sine(1000, 24000, 0.2)
    wire = encode_output(speech_band, fmt)
    assert len(wire) == len(speech_band) // 2 // 3  # 8 kHz, one byte a sample
    assert format_duration_ms(len(wire), fmt) == pytest.approx(200)
    back = np.frombuffer(decode_input(wire, fmt), dtype="<i2").astype(float)
    original = np.frombuffer(speech_band, dtype="<i2").astype(float)
    assert len(back) == len(original)
    error = back[100:-100] - original[100:-100]
    assert np.sqrt(np.mean(error**2)) < 10000 / 30  # G.711's ~38 dB SNR, with margin


def test_pcm_in_and_out() -> None:
    data = sine(440, 24000, 0.1)
    assert decode_input(data, {"type": "audio/pcm", "rate": 24000}) == data
    assert encode_output(data) == data
    assert len(encode_output(data, {"type": "audio/pcm", "rate": 16000})) == len(data) * 2 // 3
    assert format_duration_ms(4800, {"type": "audio/pcm", "rate": 24000}) == 100
    assert pcm16_duration_ms(3200, 16000) == 100


def test_wav_round_trip() -> None:
    data = sine(440, 16000, 0.1)
    wav = wav_bytes(data, 16000)
    assert wav[:4] == b"RIFF"
    assert read_wav(wav) == (data, 16000)
    with pytest.raises(ValueError, match="not a WAV file"):
        read_wav(b"nonsense")
