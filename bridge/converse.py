"""A dialogue, offline: the character listens to the user's turns and speaks its own.

    facebridge converse --script dialogue.json --image face.png --out DIR

dialogue.json is a list of turns, `{"who": "user"|"avatar", "audio": PATH, "text": "…"}`
(paths relative to the script; text optional). User turns are heard as the daemon's
`listen` hears them (bridge/listening); avatar turns are spoken as `animate` speaks them.
Hand-overs: after a user turn the character takes a breath, parts its lips and looks back
at the user before it speaks (HANDOVER_S later); after its own turn it listens again.
The result is one animation.json (mode "conversation", with `turns`) and one preview
with both voices.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from bridge.errors import InputError
from bridge.motion.idle import Event
from bridge.speech.audio import RATE, Audio

TURN_KEYS = {"who", "audio", "text"}
WHO = ("user", "avatar")
HANDOVER_S = 0.3  # silence between a user's last word and the character's first
SEAM_S = 0.2  # motion eases across a change of mode over this long
MAX_TURNS = 500


@dataclass
class Turn:
    who: str
    audio_path: str
    text: str | None
    name: str  # "turn 3" (1-based), for errors


def load_script(path: str) -> list[Turn]:
    """Read and check the whole script before any slow work: one line per problem, naming the turn."""
    name = f"script {path}"
    if not os.path.isfile(path):
        raise InputError(name, "file not found", "check the path")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except UnicodeDecodeError:
        raise InputError(name, "is not UTF-8 text", "save it as UTF-8 JSON") from None
    except json.JSONDecodeError as e:
        raise InputError(name, f"is not JSON ({e.msg} at line {e.lineno})",
                         'write a list of turns: [{"who": "user", "audio": "a.wav"}, …]') from None
    if not isinstance(data, list) or not data:
        raise InputError(name, "must be a non-empty JSON list of turns",
                         'write [{"who": "user", "audio": "a.wav"}, {"who": "avatar", "audio": "b.wav"}]')
    if len(data) > MAX_TURNS:
        raise InputError(name, f"has {len(data)} turns", f"split it into scripts of at most {MAX_TURNS}")
    base = os.path.dirname(os.path.abspath(path))
    turns = []
    for i, t in enumerate(data, 1):
        where = f"{name}: turn {i}"
        if not isinstance(t, dict):
            raise InputError(where, f"is {type(t).__name__}, not an object", 'write {"who": …, "audio": …}')
        unknown = sorted(set(t) - TURN_KEYS)
        if unknown:
            raise InputError(where, f"has unknown key {unknown[0]!r}", f"use only {', '.join(sorted(TURN_KEYS))}")
        if t.get("who") not in WHO:
            raise InputError(where, f"has who {t.get('who')!r}", 'use "user" or "avatar"')
        audio = t.get("audio")
        if not isinstance(audio, str) or not audio:
            raise InputError(where, "has no audio", "give the path of its speech (WAV, FLAC, OGG)")
        full = os.path.join(base, audio)
        if not os.path.isfile(full):
            raise InputError(where, f"audio {audio} not found (looked in {base})", "check the path")
        text = t.get("text")
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise InputError(where, "has an empty or non-string text", "give the words spoken, or leave text out")
        turns.append(Turn(t["who"], full, text, f"turn {i}"))
    return turns


def converse(script: str, image_path: str, fps: float = 30.0, seed: int = 0, progress=None):
    """-> (Animation with mode "conversation" and its turns, the mixed audio as Audio)."""
    from bridge.emotion import load_reader
    from bridge.face import load_image
    from bridge.pipeline import Animation, Avatar, animate_avatar, listen_avatar, prepare_emotion
    from bridge.progress import Progress
    from bridge.speech import envelope, load_audio, speech_segments

    progress = progress or Progress(enabled=False)
    if not (1 <= fps <= 120):
        raise InputError("--fps", f"{fps} is out of range", "use 1 to 120 frames per second")
    turns = load_script(script)
    reader = load_reader(None)
    clips = []
    for t in turns:  # every file read and checked before the slow work
        try:
            clip = load_audio(t.audio_path)
            if t.who == "avatar" and not speech_segments(envelope(clip)):
                raise InputError(f"audio {os.path.basename(t.audio_path)}", "contains no speech (silence only)",
                                 "an avatar turn is speech; check the recording level")
        except InputError as e:
            raise InputError(f"script {script}: {t.name}", f"{e.what}: {e.problem}", e.hint) from None
        clips.append(clip)
    progress.stage("finding the face")
    avatar = Avatar.from_image(load_image(image_path), name=f"image {image_path}")
    # The timeline: each turn starts when the last ends; the character answers a user after
    # HANDOVER_S (its inhale fills that gap and a little before it).
    starts, t = [], 0.0
    for i, (turn, clip) in enumerate(zip(turns, clips)):
        if i and turn.who == "avatar" and turns[i - 1].who == "user":
            t += HANDOVER_S
        starts.append(t)
        t += clip.duration
    total = t
    n = max(1, int(np.ceil(total * fps)))
    weights = np.zeros((n, 52), np.float32)
    pose = np.zeros((n, 6), np.float32)
    events: list[Event] = []
    mixed = np.zeros(int(np.ceil(total * RATE)) + 1, np.float32)
    spans = []
    prev_end = 0
    for i, (turn, clip, start) in enumerate(zip(turns, clips, starts)):
        progress.stage(f"{turn.name} of {len(turns)}: {'listening' if turn.who == 'user' else 'speaking'}")
        text, sentences, override, rd = prepare_emotion(turn.text, None, None, "text", reader=reader)
        try:
            if turn.who == "user":
                nxt = i + 1 < len(turns) and turns[i + 1].who == "avatar"
                # Listen a little past the user's end, to the character's first word.
                hear = clip if not nxt else Audio(np.concatenate([clip.samples, np.zeros(int(HANDOVER_S * RATE),
                                                                                         np.float32)]),
                                                  clip.source, clip.source_rate, clip.source_channels)
                anim = listen_avatar(avatar, hear, text=text, fps=fps, seed=seed + i, reader=rd,
                                     text_name="text", turn_at=hear.duration if nxt else None)
            else:
                anim = animate_avatar(avatar, clip, text=text, sentences=sentences, fps=fps, seed=seed + i,
                                      override=override, reader=rd, text_name="text",
                                      audio_name=f"audio {os.path.basename(turn.audio_path)}")
        except InputError as e:
            raise InputError(f"script {script}: {turn.name}", f"{e.what}: {e.problem}", e.hint) from None
        f0 = int(round(start * fps))
        k = min(anim.n_frames, n - f0)
        w, p = anim.weights[:k].astype(np.float32), anim.head_pose[:k].astype(np.float32)
        if f0 > 0:  # ease across the seam from where the face was
            _ease_in(w, p, weights[f0 - 1], pose[f0 - 1], int(SEAM_S * fps))
        weights[f0:f0 + k], pose[f0:f0 + k] = w, p
        if f0 > prev_end:  # a gap (none in practice): hold the last frame
            weights[prev_end:f0], pose[prev_end:f0] = weights[prev_end - 1], pose[prev_end - 1]
        prev_end = f0 + k
        events += [Event(e.type, e.t + start, e.duration_s, e.strength) for e in anim.events
                   if e.t + start < total]
        s0 = int(round(start * RATE))
        mixed[s0:s0 + len(clip.samples)] += clip.samples[:len(mixed) - s0]
        spans.append({"who": turn.who, "mode": anim.mode, "start_s": round(start, 3),
                      "end_s": round(start + clip.duration, 3), "audio": os.path.basename(turn.audio_path),
                      "transcript": anim.transcript})
    if prev_end < n:
        weights[prev_end:], pose[prev_end:] = weights[prev_end - 1], pose[prev_end - 1]
    anim = Animation(avatar=avatar, fps=fps, weights=weights, head_pose=pose, phones=[],
                     transcript=" ".join(s["transcript"] for s in spans if s["transcript"]),
                     events=sorted(events, key=lambda e: e.t), mode="conversation", turns=spans)
    return anim, Audio(np.clip(mixed, -1, 1), script, RATE, 1)


def _ease_in(w: np.ndarray, p: np.ndarray, w_prev: np.ndarray, p_prev: np.ndarray, k: int) -> None:
    """Blend the first k frames from the previous frame into the new segment (in place)."""
    k = min(k, len(w))
    for j in range(k):
        a = (j + 1) / (k + 1)
        a = a * a * (3 - 2 * a)
        w[j] = (1 - a) * w_prev + a * w[j]
        p[j] = (1 - a) * p_prev + a * p[j]
