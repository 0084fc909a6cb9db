"""Reading face images: any common format, colour model and size, as RGB uint8."""

from __future__ import annotations

import os

MAX_PIXELS = 100_000_000  # 100 MP: decoding more would take GBs of memory
# OpenCV checks a header's claimed size against this before allocating (its default is 1 G
# pixels, so a 200-byte file could make it allocate 3 GB). Set before cv2's first decode.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bridge.errors import InputError  # noqa: E402
from bridge.native import native_stderr_to_log  # noqa: E402


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as an RGB uint8 array (H, W, 3)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"image {path}", "file not found", "check the path")
    if os.path.isdir(path):
        raise InputError(f"image {path}", "is a directory, not an image file", "pass a JPEG or PNG file")
    with open(path, "rb") as f:
        data = f.read()
    return decode_image(data, name=f"image {path}")


def _undecodable(name: str) -> InputError:
    return InputError(name, "cannot be decoded as an image (corrupt or unsupported format)",
                      "pass a JPEG or PNG photo of a face")


def _too_big(name: str) -> InputError:
    return InputError(name, f"claims more than {MAX_PIXELS // 1_000_000} MP in its header",
                      "downscale it first, or check that the file is not corrupt")


def _check_header(data: bytes, name: str) -> None:
    """Identify the format and size from the header alone, before any decoder allocates:
    OpenCV trusts corrupt headers (a 300-byte file can make it allocate 4 GB)."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:  # lazy: parses the header only
                w, h = im.size
    except Image.DecompressionBombError:
        raise _too_big(name) from None
    except Exception:  # Pillow raises many types for corrupt headers; all mean the same here
        raise _undecodable(name) from None
    if w * h > MAX_PIXELS:
        raise _too_big(name)


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """Decode encoded image bytes (JPEG, PNG, WebP, BMP, TIFF…) to RGB uint8."""
    if len(data) == 0:
        raise InputError(name, "is empty (0 bytes)", "pass a JPEG or PNG photo of a face")
    _check_header(data, name)
    buf = np.frombuffer(data, np.uint8)
    # IMREAD_COLOR honours EXIF orientation and turns grayscale into 3 channels.
    try:
        with native_stderr_to_log():  # libpng warns about harmless colour-profile quirks
            bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error:  # e.g. a size OpenCV's own cap refuses
        raise _undecodable(name) from None
    if bgr is None:
        raise _undecodable(name)
    h, w = bgr.shape[:2]
    if h * w > MAX_PIXELS:
        raise InputError(name, f"is {w}x{h} pixels, more than {MAX_PIXELS // 1_000_000} MP",
                         "downscale it first")
    with native_stderr_to_log():
        raw = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if raw is not None and raw.ndim == 3 and raw.shape[2] == 4 and raw.shape[:2] == bgr.shape[:2]:
        # Transparent pixels would decode as black; show them on mid-grey instead.
        alpha = raw[:, :, 3:4].astype(np.float32) / (65535.0 if raw.dtype == np.uint16 else 255.0)
        bgr = (bgr.astype(np.float32) * alpha + 128.0 * (1.0 - alpha)).astype(np.uint8)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
