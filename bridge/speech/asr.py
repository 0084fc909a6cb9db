"""Speech recognition with pocketsphinx's bundled English model: a transcript (with word
timings) for audio that comes without text, so the text emotion model can read it.

Its accuracy is modest (fine on clear read speech, poor on synthetic or noisy voices), which
is acceptable here: it only feeds the emotion of what is said, never the mouth (the mouth
uses phone decoding, whose errors the acoustic cue absorbs).
"""

from __future__ import annotations

import re

from bridge.native import native_stderr_to_log
from bridge.speech.audio import RATE, Audio
from bridge.speech.phonemes import FRAME_S, Word, _pcm16


class Recognizer:
    def __init__(self):
        from pocketsphinx import Decoder

        with native_stderr_to_log():
            # The default beams: narrower ones (tried: 1e-20..1e-30) were 3-5x faster but
            # turned most words into nonsense on the shared English speech clip.
            self._dec = Decoder(loglevel="FATAL")

    def text_of(self, samples) -> str:
        """The words of one utterance (a phrase a listener heard), as plain text."""
        self._dec.start_utt()
        self._dec.process_raw(_pcm16(samples), full_utt=True)
        self._dec.end_utt()
        return " ".join(re.sub(r"\(\d+\)$", "", s.word) for s in self._dec.seg()
                        if not s.word.startswith(("<", "[", "+")))

    def transcribe(self, audio: Audio, segments: list[tuple[float, float]], progress=None) -> list[Word]:
        words: list[Word] = []
        total = sum(e - s for s, e in segments) or 1.0
        done = 0.0
        for s, e in segments:
            self._dec.start_utt()
            self._dec.process_raw(_pcm16(audio.samples[int(s * RATE):int(e * RATE)]), full_utt=True)
            self._dec.end_utt()
            for seg in self._dec.seg():
                if seg.word.startswith(("<", "[", "+")):
                    continue  # <s>, </s>, <sil>, [NOISE], +breath+
                words.append(Word(re.sub(r"\(\d+\)$", "", seg.word), s + seg.start_frame * FRAME_S,
                                  s + (seg.end_frame + 1) * FRAME_S, confidence=float(seg.prob)))
            done += e - s
            if progress:
                progress(done / total)
        return words
