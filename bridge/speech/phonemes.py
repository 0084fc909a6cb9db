"""Phoneme timing with pocketsphinx's bundled English model.

With a transcript: two-pass forced alignment (words, then phones). Without one: phone-loop
decoding (allphone) of each speech segment. Times are seconds on the audio's timeline.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

import numpy as np

from bridge.errors import AlignmentError, InputError
from bridge.speech import text as textmod
from bridge.speech.audio import RATE, Audio

log = logging.getLogger(__name__)

FRAME_S = 0.01  # pocketsphinx frame step


@dataclass
class Phone:
    phone: str  # ARPAbet without stress, or "SIL"
    start_s: float
    end_s: float


@dataclass
class Word:
    word: str
    start_s: float
    end_s: float
    confidence: float = 1.0  # the recogniser's posterior; 1 for a given transcript


def _model_path() -> str:
    import pocketsphinx

    return pocketsphinx.get_model_path()


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def _phone_name(name: str) -> str:
    name = re.sub(r"\d", "", name).upper()
    return "SIL" if name in ("SIL", "+NSN+", "+SPN+", "+BREATH+", "+NOISE+", "+COUGH+") or \
        name.startswith("+") else name


class Aligner:
    """Forced alignment of a transcript to audio (word and phone timings)."""

    def __init__(self):
        from pocketsphinx import Decoder

        # Wide beams: the search is constrained by the transcript anyway, and narrow beams
        # make alignment fail on unusual voices.
        self._dec = Decoder(lm=None, loglevel="FATAL", beam=1e-100, pbeam=1e-100, wbeam=1e-80,
                            bestpath=False)

    def _lookup(self, w: str):
        return self._dec.lookup_word(w)

    def align(self, audio: Audio, transcript: str, name: str = "transcript") -> tuple[list[Phone], list[Word]]:
        words = textmod.words_of(transcript)
        if not words:
            raise InputError(name, "has no English words to align",
                             "pass the words spoken in the audio, or leave the text out to decode it")
        for w in words:
            if self._lookup(w) is None:
                phones = textmod.pronounce(w, self._lookup)
                log.info("no dictionary entry for %r: using %s", w, " ".join(phones))
                self._dec.add_word(w, " ".join(phones), True)
        pcm = _pcm16(audio.samples)
        self._dec.set_align_text(" ".join(words))
        try:
            for second_pass in (False, True):
                if second_pass:
                    self._dec.set_alignment()  # phone-level pass over the word alignment
                self._dec.start_utt()
                self._dec.process_raw(pcm, full_utt=True)
                self._dec.end_utt()
                if not second_pass and self._dec.hyp() is None:
                    raise RuntimeError("no alignment")
            alignment = self._dec.get_alignment()
        except RuntimeError:
            alignment = None
        if alignment is None:
            raise AlignmentError(name, "does not match the audio (forced alignment failed)",
                             "check that the text is what is said, or leave it out to decode the audio")
        phones, out_words = [], []
        for w in alignment:
            wname = re.sub(r"\(\d+\)$", "", w.name)
            if not wname.startswith("<") and not wname.startswith("["):
                out_words.append(Word(wname, w.start * FRAME_S, (w.start + w.duration) * FRAME_S))
            for p in w:
                phones.append(Phone(_phone_name(p.name), p.start * FRAME_S,
                                    (p.start + p.duration) * FRAME_S))
        return _merge_silence(phones), out_words


class PhoneDecoder:
    """Phones from audio alone: a phone loop with the bundled phonetic language model."""

    def __init__(self):
        from pocketsphinx import Decoder

        self._dec = Decoder(allphone=os.path.join(_model_path(), "en-us", "en-us-phone.lm.bin"),
                            lm=None, loglevel="FATAL", beam=1e-20, pbeam=1e-20,
                            # A low language weight lets the acoustics speak: the default
                            # (6.5) collapses natural speech into a few long phones.
                            lw=2.0)

    def decode(self, audio: Audio, segments: list[tuple[float, float]], progress=None) -> list[Phone]:
        phones: list[Phone] = []
        total = sum(e - s for s, e in segments) or 1.0
        done = 0.0
        for s, e in segments:
            chunk = audio.samples[int(s * RATE):int(e * RATE)]
            self._dec.start_utt()
            self._dec.process_raw(_pcm16(chunk), full_utt=True)
            self._dec.end_utt()
            for seg in self._dec.seg():
                phones.append(Phone(_phone_name(seg.word), s + seg.start_frame * FRAME_S,
                                    s + (seg.end_frame + 1) * FRAME_S))
            done += e - s
            if progress:
                progress(done / total)
        return _merge_silence(phones)


MIN_CONFIDENCE = 0.5  # recognised words at least this sure give their own phones
RUN_GAP_S = 0.1  # confident words closer than this are aligned together
RUN_PAD_S = 0.05  # audio kept around a run so its first and last phones can be placed


def confident_phones(audio: Audio, loop: list[Phone], words: list[Word], aligner: Aligner | None = None,
                     min_confidence: float = MIN_CONFIDENCE) -> list[Phone]:
    """The phone loop, with the recogniser's confident words put in its place: each run of
    confident words is force-aligned on its own stretch of audio, so its phones come from
    the dictionary (right far more often than the loop's guesses) while the loop keeps the
    stretches the recogniser was unsure of. A run that fails to align keeps the loop."""
    runs: list[list[Word]] = []
    for w in words:
        if w.confidence < min_confidence:
            continue
        if runs and w.start_s - runs[-1][-1].end_s < RUN_GAP_S:
            runs[-1].append(w)
        else:
            runs.append([w])
    if not runs:
        return loop
    aligner = aligner or Aligner()
    placed: list[tuple[float, float, list[Phone]]] = []
    for run in runs:
        s0 = max(0.0, run[0].start_s - RUN_PAD_S)
        s1 = min(audio.duration, run[-1].end_s + RUN_PAD_S)
        chunk = Audio(audio.samples[int(s0 * RATE):int(s1 * RATE)], audio.source, audio.source_rate,
                      audio.source_channels)
        try:
            phones, _ = aligner.align(chunk, " ".join(w.word for w in run))
        except InputError:
            continue
        speech = [Phone(p.phone, p.start_s + s0, p.end_s + s0) for p in phones]
        speech = [p for p in speech if p.phone != "SIL"]
        if speech:
            placed.append((speech[0].start_s, speech[-1].end_s, speech))
    out: list[Phone] = []
    for p in loop:
        # The loop's phones, cut away wherever an aligned run lies.
        pieces = [(p.start_s, p.end_s)]
        for a, b, _ in placed:
            pieces = [q for s, e in pieces for q in ((s, min(e, a)), (max(s, b), e)) if q[1] - q[0] > 1e-6]
        out.extend(Phone(p.phone, s, e) for s, e in pieces)
    for _, _, phones in placed:
        out.extend(phones)
    out.sort(key=lambda p: p.start_s)
    return _merge_silence(out)


def _merge_silence(phones: list[Phone]) -> list[Phone]:
    out: list[Phone] = []
    for p in phones:
        if p.end_s <= p.start_s:
            continue
        if out and p.phone == "SIL" and out[-1].phone == "SIL":
            out[-1].end_s = p.end_s
        else:
            out.append(p)
    return out
