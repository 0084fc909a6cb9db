"""`animate`: face image + speech (+ transcript) -> per-frame motion, landmarks, preview.

Stages run forward; each owns one step and hands plain arrays to the next:
face -> speech -> motion (speaking + idle, one rig) -> outputs (file, preview).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np

from bridge.emotion import load_reader
from bridge.emotion.expression import default_expression_model
from bridge.emotion.prosody import emphasis, prosody
from bridge.emotion.tags import parse_emotion, split_tags
from bridge.emotion.track import EmotionTrack, build_track, phrases, place_sentences
from bridge.errors import InputError
from bridge.face import FaceFrame, detect_face, load_image
from bridge.motion import arkit
from bridge.motion.compose import compose
from bridge.motion.idle import Event, idle
from bridge.motion.pose import apply_pose
from bridge.motion.rig import Rig
from bridge.motion.speaking import speaking_tracks
from bridge.progress import Progress
from bridge.textfile import read_utf8
from bridge.speech import (Aligner, Audio, Phone, PhoneDecoder, envelope, load_audio,
                           speech_frames, speech_segments)
from bridge.speech.asr import Recognizer
from bridge.speech.phonemes import confident_phones

log = logging.getLogger(__name__)


@dataclass
class Avatar:
    """A face ready to animate: its image, the rig built on its neutral shape, its frame."""

    image: np.ndarray  # RGB uint8
    points: np.ndarray  # (478, 3) detected landmarks, pixels
    frame: FaceFrame
    rig: Rig

    @property
    def image_size(self) -> tuple[int, int]:
        return self.image.shape[1], self.image.shape[0]

    @staticmethod
    def from_image(image: np.ndarray, name: str = "image") -> "Avatar":
        face = detect_face(image, name=name)
        frame = FaceFrame.from_points(face.points)
        return Avatar(image=image, points=face.points, frame=frame,
                      rig=Rig.from_neutral(frame.to_aligned(face.points)))


@dataclass
class Animation:
    avatar: Avatar
    fps: float
    weights: np.ndarray  # (F, 52)
    head_pose: np.ndarray  # (F, 6)
    phones: list[Phone]
    transcript: str
    events: list[Event]
    mode: str = "speaking"
    emotion: EmotionTrack | None = None
    names: list[str] = field(default_factory=lambda: list(arkit.NAMES))
    turns: list[dict] = field(default_factory=list)  # a conversation's turns (bridge/converse.py)

    @property
    def n_frames(self) -> int:
        return len(self.weights)

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fps

    @property
    def image_size(self) -> tuple[int, int]:
        return self.avatar.image_size

    def landmarks(self, f0: int = 0, f1: int | None = None) -> np.ndarray:
        """(f1-f0, 478, 3) landmarks in input-image pixels: rig(weights), posed."""
        f1 = self.n_frames if f1 is None else f1
        aligned = self.avatar.rig.apply(self.weights[f0:f1])
        return self.avatar.frame.to_image(apply_pose(aligned, self.head_pose[f0:f1]))


def read_text(text: str | None, text_file: str | None) -> str | None:
    if text is not None and text_file is not None:
        raise InputError("--text/--text-file", "both given", "pass one of them")
    if text_file is not None:
        name = f"text file {text_file}"
        text = read_utf8(text_file, name)
    else:
        name = "--text"
    if text is not None and not text.strip():
        raise InputError(name, "is empty", "pass the words spoken in the audio, or leave the text out")
    return text


def prepare_emotion(text: str | None, emotion: str | None, emotion_model: str | None = None,
                    text_name: str = "--text", reader=None):
    """Check the text and emotion options before any slow work -> (text without tags, its
    sentences, the override or None, the emotion reader or None). `reader`: one already
    loaded (the daemon keeps one)."""
    if text is not None and not text.strip():
        raise InputError(text_name, "is empty", "pass the words spoken in the audio, or leave the text out")
    override = parse_emotion(emotion) if emotion is not None else None
    sentences = []
    if text is not None:
        text, sentences = split_tags(text, name=text_name)
        if not text.strip():
            raise InputError(text_name, "holds only emotion tags", "add the words spoken after the tags")
        if override is not None and any(s.tag for s in sentences):
            log.warning("--emotion %s overrides the emotion tags in the text", emotion)
    if override is None and reader is None:
        # Loaded first: a wrong --emotion-model should fail before the slow stages.
        reader = load_reader(emotion_model)
    return text, sentences, override, (None if override is not None else reader)


def animate(image_path: str, audio_path: str, text: str | None = None, fps: float = 30.0,
            seed: int = 0, progress: Progress | None = None, text_name: str = "--text",
            emotion: str | None = None, emotion_model: str | None = None,
            mode: str = "speaking") -> tuple[Animation, Audio]:
    """Face image + speech (+ transcript, optionally with [emotion] tags) -> Animation.

    emotion: 'label[:intensity]' for the whole clip (overrides tags and the text model);
    emotion_model: a local Hugging Face classifier folder instead of the shipped model;
    mode: "speaking" (the face says the audio) or "listening" (the face hears it: the user's
    voice, and reacts without moving its lips)."""
    if mode not in ("speaking", "listening"):
        raise InputError("--mode", f"{mode!r} is not a mode", "use speaking or listening")
    progress = progress or Progress(enabled=False)
    if not (1 <= fps <= 120):
        raise InputError("--fps", f"{fps} is out of range", "use 1 to 120 frames per second")
    text, sentences, override, reader = prepare_emotion(text, emotion, emotion_model, text_name)

    progress.stage("reading audio")
    audio = load_audio(audio_path, progress=progress.update)
    progress.stage("finding the face")
    avatar = Avatar.from_image(load_image(image_path), name=f"image {image_path}")
    run = animate_avatar if mode == "speaking" else listen_avatar
    anim = run(avatar, audio, text=text, sentences=sentences, fps=fps, seed=seed, progress=progress,
               text_name=text_name, override=override, reader=reader, audio_name=f"audio {audio_path}")
    return anim, audio


def listen_avatar(avatar: Avatar, audio: Audio, text: str | None = None, sentences=None, fps: float = 30.0,
                  seed: int = 0, progress: Progress | None = None, text_name: str = "--text",
                  override=None, reader=None, audio_name: str = "audio", turn_at: float | None = None) -> Animation:
    """The face listening to `audio` (the user): reactions, no lip-sync (motion/listening.py).
    `text`: the user's words, aligned so each phrase's emotion is read from its own words;
    without it they are recognised phrase by phrase, as the daemon does live. `override`:
    the character's own emotion, shown throughout under the reactions. `turn_at`: the
    character speaks at this time (an inhale and parted lips lead into it)."""
    from bridge.emotion.expression import constant_expression
    from bridge.emotion.track import from_explicit
    from bridge.listening.stream import listen_to_file

    progress = progress or Progress(enabled=False)
    words = _phrase_words(audio, text, text_name, progress) if text is not None or reader is not None else None
    mood = constant_expression(from_explicit(override)) if override is not None else None
    progress.stage("listening")
    weights, pose, stream = listen_to_file(audio.samples, fps, seed, words=words, reader=reader, mood=mood,
                                           progress=progress.update, turn_at=turn_at)
    heard = [h.text for h in stream.heard if h.type == "words"]
    events = sorted(stream.listener.events, key=lambda e: e.t)
    return Animation(avatar=avatar, fps=fps, weights=weights, head_pose=pose, phones=[],
                     transcript=text if text is not None else " ".join(heard), events=events, mode="listening")


def _phrase_words(audio: Audio, text: str | None, text_name: str, progress: Progress):
    """-> words(samples, start_s, end_s): what the user said in a phrase heard there. From
    the transcript aligned to the audio when given, else from the recogniser."""
    if text is None:
        from bridge.listening.hearing import recognized_words

        return recognized_words
    progress.stage("aligning the user's words")
    try:
        _, aligned = Aligner().align(audio, text, name=text_name)
    except InputError as e:
        # The words only tell the emotion here: without their timing, each phrase heard
        # takes the next sentence in order (the last one repeats).
        log.warning("%s; each phrase heard takes the next sentence instead", e)
        order = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
        return lambda samples, start, end: order.pop(0) if len(order) > 1 else order[0]
    return lambda samples, start, end: " ".join(
        w.word for w in aligned if start - 0.1 <= (w.start_s + w.end_s) / 2 < end + 0.1)


def animate_avatar(avatar: Avatar, audio: Audio, text: str | None = None, sentences=None, fps: float = 30.0,
                   seed: int = 0, progress: Progress | None = None, text_name: str = "--text",
                   override=None, reader=None, audio_name: str = "audio") -> Animation:
    """The motion stages for a face already found and audio already read (the daemon calls
    this per utterance). `text` is the transcript without tags, `sentences` its tagged
    sentences (from split_tags); `reader` the emotion model unless `override` is given."""
    progress = progress or Progress(enabled=False)
    sentences = sentences or []
    env = envelope(audio)
    segments = speech_segments(env)
    if not segments:
        raise InputError(audio_name, "contains no speech (silence only)",
                         "check the recording level, or pass a file with speech")

    if text is not None:
        progress.stage("aligning the transcript")
        phones, words = Aligner().align(audio, text, name=text_name)
        transcript = " ".join(text.split())
        spans, source = place_sentences(sentences, words), "text"
    else:
        progress.stage("decoding phonemes")
        phones = PhoneDecoder().decode(audio, segments, progress=progress.update)
        transcript, spans, source = "", [], "audio"
        if override is None:
            progress.stage("recognising speech (for its emotion)")
            words = Recognizer().transcribe(audio, segments, progress=progress.update)
            transcript = " ".join(w.word for w in words)
            spans = phrases(words)
            # The words are recognised anyway: where the recogniser is sure of them, their
            # dictionary phones replace the phone loop's guesses (docs/benchmarks.md).
            phones = confident_phones(audio, phones, words)

    progress.stage("computing motion")
    frames = speech_frames(audio, env, phones, segments, fps)
    n = frames.n_frames
    voice = prosody(audio, env, phones, segments)
    track = build_track(spans, n, fps, model=reader, prosody=voice, source=source, override=override,
                        model_name=reader.name if reader else "")
    expression = default_expression_model().weights(
        track, emphasis(voice.f0, env.db, env.speech_db, n, fps), seed=seed)
    mouth = speaking_tracks(frames, avatar.rig, decoded=text is None)
    life = idle(n, fps, level=frames.level, seed=seed)
    weights = compose(mouth, expression, life.weights, frames, avatar.rig, decoded=text is None)
    return Animation(avatar=avatar, fps=fps, weights=weights, head_pose=life.head_pose,
                     phones=phones, transcript=transcript, events=life.events, emotion=track)
