"""Audio input: any rate, any channel count, WAV/FLAC/OGG (MP3 where libsndfile can), read
in blocks and resampled to 16 kHz mono float32 so memory stays bounded on long files."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

from bridge.errors import InputError

RATE = 16000
BLOCK_S = 30.0  # seconds read per block
MAX_DURATION_S = 4 * 3600.0


@dataclass
class Audio:
    samples: np.ndarray  # float32, mono, RATE Hz
    source: str
    source_rate: int
    source_channels: int

    @property
    def duration(self) -> float:
        return len(self.samples) / RATE


def load_audio(path: str | os.PathLike, progress=None) -> Audio:
    path = os.fspath(path)
    name = f"audio {path}"
    if not os.path.exists(path):
        raise InputError(name, "file not found", "check the path")
    if os.path.isdir(path):
        raise InputError(name, "is a directory, not an audio file", "pass a WAV, FLAC or OGG file")
    if os.path.getsize(path) == 0:
        raise InputError(name, "is empty (0 bytes)", "pass a WAV, FLAC or OGG file with speech")
    try:
        f = sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise InputError(name, f"cannot be read as audio ({_short(e)})",
                         "convert it to 16-bit WAV, e.g. with ffmpeg -i IN -ar 16000 OUT.wav") from None
    with f:
        rate, channels = f.samplerate, f.channels
        if rate < 4000:
            raise InputError(name, f"sample rate {rate} Hz is too low for speech", "use 8 kHz or more")
        total = f.frames if f.frames and f.frames > 0 else None
        if total is not None and total / rate > MAX_DURATION_S:
            raise InputError(name, f"is {total / rate / 3600:.1f} h long, more than "
                             f"{MAX_DURATION_S / 3600:.0f} h", "split it into shorter files")
        samples = _read_resampled(f, rate, total, name, progress)
    if len(samples) < RATE // 10:
        raise InputError(name, f"holds only {len(samples) / RATE * 1000:.0f} ms of audio (truncated?)",
                         "pass at least a tenth of a second of speech")
    if not np.isfinite(samples).all():
        raise InputError(name, "contains invalid samples (NaN or infinity)", "re-export the file")
    return Audio(samples=samples, source=path, source_rate=rate, source_channels=channels)


def _short(e: Exception) -> str:
    return str(e).strip().splitlines()[-1][:160] if str(e).strip() else type(e).__name__


def _read_resampled(f: sf.SoundFile, rate: int, total, name: str, progress) -> np.ndarray:
    # soxr's streaming resampler keeps filter state across blocks: exact seams, bounded memory.
    stream = None if rate == RATE else soxr.ResampleStream(rate, RATE, 1, dtype="float32", quality="HQ")
    block = int(BLOCK_S * rate)
    out: list[np.ndarray] = []
    done = 0
    while True:
        data = _read(f, block, name)
        last = len(data) < block
        mono = np.ascontiguousarray(data.mean(axis=1), dtype=np.float32)
        out.append(mono if stream is None else stream.resample_chunk(mono, last=last))
        done += len(data)
        if progress and total:
            progress(min(done, total) / total)
        if last:
            break
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def _read(f: sf.SoundFile, frames: int, name: str) -> np.ndarray:
    try:
        return f.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise InputError(name, f"cannot be decoded ({_short(e)})", "re-export the file as WAV") from None
