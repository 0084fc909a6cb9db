"""One avatar on the daemon: its face, its worker thread, its utterances.

Each session has its own worker, so a slow avatar (a long clip being computed) never stalls
another. The worker only computes; it hands replies and timed frames to the daemon's
outbox, and the daemon's loop (the only thread that touches sockets) sends them.
"""

from __future__ import annotations

import logging
import os
import queue
import tempfile
import threading
import time

import numpy as np

from bridge.errors import FacebridgeError
from bridge.protocol import Frame

log = logging.getLogger(__name__)


class Session:
    def __init__(self, name: str, outbox, fps: float, lookahead_s: float, reader_fn):
        self.name = name
        self.outbox = outbox  # daemon.post(kind, ...)
        self.fps = fps
        self.lookahead_s = lookahead_s
        self.reader_fn = reader_fn  # -> the shared text emotion reader
        self.avatar = None
        self.video = None  # VideoPacer when the avatar was created with render "warp" or "gan"
        self.emotion: str | None = None  # set_emotion: applies to the next utterances
        self.utterance = 0
        self.seq = 0
        self.stream = None  # StreamingSpeaker of the utterance being streamed
        self.stream_frames = 0
        self.listening = None  # ListeningStream while the user's audio comes in (`listen`)
        self.listen_rate = 0
        self.listen_events: list = []  # decided reactions not yet in a frame header
        self.speaking_until = 0.0  # monotonic time the current clip's frames run to
        self.jobs: queue.Queue = queue.Queue(maxsize=16)
        self.cancelled = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"session-{name}", daemon=True)
        self.thread.start()

    def describe(self) -> dict:
        """What a monitor shows about this avatar (daemon stats -> avatars)."""
        return {"image_size": list(self.avatar.image_size) if self.avatar is not None else None,
                "video": self.video is not None, "mode": "listening" if self.listening else "speaking",
                "utterance": self.utterance,
                "emotion": self.emotion}

    # ---- called from the daemon loop (cheap)
    def submit(self, job) -> bool:
        try:
            self.jobs.put_nowait(job)
            return True
        except queue.Full:
            return False

    def close(self) -> None:
        self.cancelled.set()
        self.jobs.put(None)
        if self.video is not None:
            self.video.close()
        listening = self.listening
        if listening is not None:  # its recogniser thread (the worker may still be using it)
            listening.close()

    # ---- the worker
    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            kind, peer, rid, args = job
            t0 = time.monotonic()
            try:
                getattr(self, "_" + kind)(peer, rid, **args)
            except FacebridgeError as e:
                self.outbox("error", peer, rid, code="bad_input", message=str(e))
            except Exception:  # a bug must not kill the session or the daemon
                log.exception("session %s: %s failed", self.name, kind)
                self.outbox("error", peer, rid, code="internal", message=f"{kind} failed inside the daemon (see its log)")
            self.outbox("timing", None, None, job=kind, seconds=time.monotonic() - t0)

    def _create(self, peer, rid, image: bytes, render: str = "none", video_size: int | None = None) -> None:
        from bridge.face import decode_image
        from bridge.pipeline import Avatar

        extra = {}
        try:
            self.avatar = Avatar.from_image(decode_image(image, name="create_avatar.image"), name="create_avatar.image")
            if render != "none":  # a missing generator model is refused here, like a faceless image
                from bridge.server.video import DEFAULT_SIDE, VideoPacer

                self.video = VideoPacer(self.avatar, self.name, self.outbox, side=video_size or DEFAULT_SIDE, kind=render)
                extra["video_size"] = self.video.size
        except FacebridgeError:
            self.outbox("drop_session", None, None, name=self.name)
            raise
        self.outbox("reply", peer, rid, type="avatar_created", avatar=self.name,
                    image_size=list(self.avatar.image_size), **extra)

    # ---- listening (bridge/listening): the user's audio in, reactions out
    def _listen(self, peer, rid, pcm: bytes, rate: int = 16000, final: bool = False) -> None:
        from bridge.listening.stream import ListeningStream

        if self.cancelled.is_set():  # a stop: whatever was said is cut off
            self.speaking_until = 0.0
        if self.stream is not None or time.monotonic() < self.speaking_until:
            # The character is speaking: it does not listen over itself (no barge-in yet).
            self.outbox("reply", peer, rid, type="ok", avatar=self.name, utterance=self.utterance)
            return
        if self.listening is not None and self.cancelled.is_set():  # stopped: the next listen starts afresh
            self._end_listening()
        if self.listening is not None and rate != self.listen_rate:
            raise FacebridgeError("listen.rate", f"changed from {self.listen_rate} to {rate} Hz mid-stream",
                                  "send a stream at one rate (end it with final=true to change)")
        if self.listening is None:
            from bridge.listening.hearing import recognized_words

            self.utterance += 1
            self.cancelled.clear()
            self.listening = ListeningStream(rate, self.fps, seed=self.utterance, words=recognized_words,
                                             reader=self.reader_fn(), background=True)
            self.listen_rate, self.listen_events = rate, []
        w, pose = self.listening.push(np.frombuffer(pcm, "<f4"), final=final)
        self._post_listening(w, pose, final)
        if final:
            self._end_listening()
        self.outbox("reply", peer, rid, type="ok", avatar=self.name, utterance=self.utterance)

    def _post_listening(self, w, pose, final: bool = False) -> None:
        """Listening frames out now, each with the reactions that start in it."""
        stream = self.listening
        self.listen_events += [e.to_json() for e in stream.new_events()]
        first = stream.listener.frame - len(w)
        landmarks = self._landmarks(w, pose) if len(w) else []
        out = []
        for i in range(len(w)):
            pts = (first + i) / self.fps
            mine = [e for e in self.listen_events if e["t"] < pts + 1 / self.fps]
            self.listen_events = [e for e in self.listen_events if e["t"] >= pts + 1 / self.fps]
            out.append(Frame(avatar=self.name, kind="anim", seq=self.seq, pts=pts, t_ns=0, mode="listening",
                             utterance=self.utterance, emotion="neutral", blendshapes=w[i].astype(np.float32),
                             head_pose=pose[i].astype(np.float32), landmarks=landmarks[i],
                             final=final and i == len(w) - 1, events=mine))
            self.seq += 1
        self._publish_now(out)

    def _publish_now(self, frames: list) -> None:
        """Streamed frames out at once (speaking or listening), and to the renderer."""
        if not frames:
            return
        now = time.monotonic()
        # One post for the chunk: the loop's queue is shared by every avatar.
        self.outbox("frames", None, None, due=now, frames=frames, session=self)
        if self.video is not None:
            self.video.add([(now, f.pts, f.utterance, f.landmarks, f.final) for f in frames])

    def _end_listening(self) -> None:
        self.listening.close()
        self.listening = None

    def _hand_over(self) -> float:
        """A speak while listening: an inhale, lips parting and eyes back to the user lead
        into the character's turn. Returns how long that lead-in lasts (seconds)."""
        if self.listening is None:
            return 0.0
        stream = self.listening
        now = stream.listener.frame / self.fps
        lead = stream.listener.p.inhale_s
        stream.listener.turn_at_time(now + lead)
        w, pose = stream.advance(now + lead)
        self._post_listening(w, pose, final=True)
        self._end_listening()
        return lead

    def _speak(self, peer, rid, audio: bytes | None = None, pcm: bytes | None = None, rate: int = 16000,
               final: bool = False, text: str | None = None, emotion: str | None = None) -> None:
        self._hand_over()
        if pcm is not None:
            return self._stream(peer, rid, np.frombuffer(pcm, "<f4"), rate, final, text, emotion or self.emotion)
        self._utter(peer, rid, audio, text, emotion or self.emotion)

    def _stream(self, peer, rid, samples, rate, final, text, emotion) -> None:
        """A chunk of a streamed utterance: its frames go out now (see bridge/motion/streaming.py),
        the emotion from `emotion` or from `text` when given."""
        from bridge.emotion.expression import constant_expression
        from bridge.emotion.track import dominant_label
        from bridge.motion.streaming import StreamingSpeaker

        if self.stream is None or text is not None or emotion is not None and self.stream_frames == 0:
            probs = self._stream_emotion(text, emotion)
            if self.stream is None:
                self.utterance += 1
                self.cancelled.clear()
                self.stream = StreamingSpeaker(rate, self.fps, seed=self.utterance, rig=self.avatar.rig)
                self.stream_frames = 0
                self.stream_label = "neutral"
            if probs is not None:
                self.stream.expression = constant_expression(probs)
                self.stream_label = dominant_label(probs)
        frames = self.stream.push(samples, final=final)
        landmarks = self._landmarks(np.array([f[1] for f in frames]), np.array([f[2] for f in frames])) if frames else []
        out = []
        for i, (pts, weights, pose) in enumerate(frames):
            out.append(Frame(avatar=self.name, kind="anim", seq=self.seq, pts=pts, t_ns=0, mode="speaking",
                             utterance=self.utterance, emotion=self.stream_label, blendshapes=weights, head_pose=pose,
                             landmarks=landmarks[i], final=final and i == len(frames) - 1))
            self.seq += 1
        self._publish_now(out)
        self.stream_frames += len(frames)
        if final:
            n, self.stream = self.stream_frames, None
            self.outbox("reply", peer, rid, type="ok", avatar=self.name, utterance=self.utterance, frames=n,
                        duration_s=round(n / self.fps, 4))
        else:
            self.outbox("reply", peer, rid, type="ok", avatar=self.name, utterance=self.utterance)

    def _stream_emotion(self, text, emotion):
        from bridge.emotion.tags import parse_emotion
        from bridge.emotion.track import expressed, from_explicit

        if emotion is not None:
            return from_explicit(parse_emotion(emotion, name="speak.emotion"))
        if text is not None and text.strip():
            return expressed(self.reader_fn().probabilities([text])[0], None)
        return None

    def _landmarks(self, weights, pose) -> np.ndarray:
        """(N, 52), (N, 6) -> (N, 478, 3) image landmarks."""
        from bridge.motion.pose import apply_pose

        a = self.avatar
        return a.frame.to_image(apply_pose(a.rig.apply(weights), pose.astype(np.float64))).astype(np.float32)

    def _utter(self, peer, rid, audio: bytes, text, emotion) -> None:
        from bridge.pipeline import animate_avatar, prepare_emotion
        from bridge.speech import load_audio

        text, sentences, override, reader = prepare_emotion(text, emotion, None, "speak.text",
                                                            reader=None if emotion else self.reader_fn())
        with tempfile.TemporaryDirectory(prefix="facebridge-") as tmp:
            path = os.path.join(tmp, "speak.audio")
            with open(path, "wb") as f:
                f.write(audio)
            try:
                clip = load_audio(path)
            except FacebridgeError as e:  # name the message field, not our temporary file
                raise FacebridgeError("speak.audio", e.problem, e.hint) from None
        anim = animate_avatar(self.avatar, clip, text=text, sentences=sentences, fps=self.fps, override=override,
                              reader=reader, text_name="speak.text", audio_name="speak.audio",
                              seed=self.utterance)
        self.utterance += 1
        self.cancelled.clear()
        label = _labels(anim)
        landmarks = anim.landmarks()  # before `ok`: the clock starts when everything is ready
        t0 = time.monotonic()
        # The client starts its audio when it gets `ok`: frame f is due at pts - lookahead.
        self.outbox("reply", peer, rid, type="ok", avatar=self.name, utterance=self.utterance,
                    frames=anim.n_frames, duration_s=round(anim.duration_s, 4))
        self.speaking_until = t0 + anim.duration_s - self.lookahead_s
        if self.video is not None:
            self.video.add([(t0 + f / anim.fps - self.lookahead_s, f / anim.fps, self.utterance, landmarks[f],
                             f == anim.n_frames - 1) for f in range(anim.n_frames)])
        for f in range(anim.n_frames):
            pts = f / anim.fps
            frame = Frame(avatar=self.name, kind="anim", seq=self.seq, pts=pts, t_ns=0, mode="speaking",
                          utterance=self.utterance, emotion=label[f], blendshapes=anim.weights[f].astype(np.float32),
                          head_pose=anim.head_pose[f].astype(np.float32), landmarks=landmarks[f].astype(np.float32),
                          final=f == anim.n_frames - 1)
            self.seq += 1
            self.outbox("frame", None, None, due=t0 + pts - self.lookahead_s, frame=frame, session=self)


def _labels(anim) -> list[str]:
    if anim.emotion is None:
        return ["neutral"] * anim.n_frames
    from bridge.emotion import LABELS

    return [LABELS[int(i)] for i in anim.emotion.probs.argmax(1)]
