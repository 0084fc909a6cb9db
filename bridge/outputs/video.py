"""Preview video: H.264 frames with the speech muxed in as AAC, via PyAV (ffmpeg in its wheel)."""

from __future__ import annotations

import os
from fractions import Fraction

import av
import numpy as np

from bridge.speech.audio import RATE


def write_video(path: str, frames, n_frames: int, fps: float, size: tuple[int, int],
                audio: np.ndarray | None = None, progress=None) -> None:
    """frames: iterable of RGB uint8 (h, w, 3). Written to a temporary name, then renamed."""
    tmp = path + ".partial.mp4"
    w, h = size
    ew, eh = w - w % 2, h - h % 2  # yuv420p needs even sizes
    try:
        with av.open(tmp, mode="w") as out:
            vs = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            vs.width, vs.height, vs.pix_fmt = ew, eh, "yuv420p"
            vs.options = {"crf": "20", "preset": "veryfast"}
            as_ = None
            if audio is not None:
                as_ = out.add_stream("aac", rate=RATE)
                as_.layout = "mono"
            for i, rgb in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:eh, :ew]), format="rgb24")
                for packet in vs.encode(frame):
                    out.mux(packet)
                if progress:
                    progress((i + 1) / max(n_frames, 1))
            for packet in vs.encode():
                out.mux(packet)
            if as_ is not None:
                _write_audio(out, as_, audio)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _write_audio(out, stream, audio: np.ndarray) -> None:
    step = 1024  # AAC frame size
    pcm = np.clip(audio, -1, 1).astype(np.float32)
    pad = (-len(pcm)) % step
    pcm = np.concatenate([pcm, np.zeros(pad, np.float32)])
    for i in range(0, len(pcm), step):
        frame = av.AudioFrame.from_ndarray(pcm[None, i:i + step], format="fltp", layout="mono")
        frame.sample_rate = RATE
        frame.pts = i
        frame.time_base = Fraction(1, RATE)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
