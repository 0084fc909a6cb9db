"""Speech stage: audio loading, loudness, speech segments, phoneme timing, speech frames."""

from bridge.speech.audio import RATE, Audio, load_audio
from bridge.speech.frames import SpeechFrames, envelope, speech_frames, speech_segments
from bridge.speech.phonemes import Aligner, Phone, PhoneDecoder, Word

__all__ = ["RATE", "Aligner", "Audio", "Phone", "PhoneDecoder", "SpeechFrames", "Word",
           "envelope", "load_audio", "speech_frames", "speech_segments"]
