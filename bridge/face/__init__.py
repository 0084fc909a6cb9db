"""Face stage: image loading, FaceMesh landmarks, the face-aligned frame."""

from bridge.face.align import FaceFrame
from bridge.face.image import decode_image, load_image
from bridge.face.landmarks import Face, FaceMeshDetector, detect_face

__all__ = ["Face", "FaceFrame", "FaceMeshDetector", "decode_image", "detect_face", "load_image"]
