"""Listening: the character hears the user and reacts, frame by frame, without lip-sync.

Three layers, each tunable in `ListeningParams` (docs/listening.md):

1. events from hearing (bridge/listening/hearing.py): a phrase begins, a pause, a turn end,
   the phrase's words and their emotion;
2. the choice of reaction: a nod at a pause (a double one now and then, deeper after a
   stressed phrase), a brow raise at a question, a mirrored smile to happy words, concern
   to sad ones, a frown to angry ones, an acknowledging nod at a turn's end; a refractory
   gap and random draws so no two reactions are the same (`seed` makes a run repeatable);
3. motion primitives on the rig: head pitch for nods, brow shapes, the expression model's
   own emotion faces for mirroring (at a listener's lower intensity), blinks that cluster
   at pauses, gaze held on the speaker with brief aversions, attention that drifts when
   nobody speaks, breathing; and, before the character's own turn, an inhale with the lips
   parting.

Causal: a frame at time t depends only on what was heard by t, so the daemon's live stream
and a file give the same motion. The jaw stays below JAW_MAX: listeners do not lip-sync.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.emotion import LABELS
from bridge.motion import arkit
from bridge.motion.idle import Event, _blink_profile, set_gaze

JAW_MAX = 0.05  # the most the jaw opens while listening (a parted mouth, never speech)
BLINK_S = 0.25  # one blink's close + hold + open


@dataclass
class ListeningParams:
    """Every tunable of the behaviour, with its default (docs/listening.md explains each)."""

    nod_chance: float = 0.95  # a pause after a phrase gets a nod (a question gets a brow raise)
    double_nod_chance: float = 0.25
    nod_deg: tuple[float, float] = (2.5, 6.5)  # nod depth, for no stress .. full stress
    nod_s: float = 0.55  # one nod, down and back up
    reaction_delay_s: tuple[float, float] = (0.0, 0.02)  # after the pause is known (live: p95 <= 300 ms)
    refractory_s: float = 1.2  # no two reactions closer than this
    short_phrase_s: float = 0.6  # shorter phrases get a nod half as often
    brow_chance: float = 0.9  # a question gets a brow raise
    brow_strength: tuple[float, float] = (0.55, 0.9)
    brow_s: float = 1.1
    turn_nod_chance: float = 0.6  # an acknowledging nod at a turn's end, if none just happened
    mirror_gain: float = 0.55  # a listener mirrors at about half the speaker's intensity
    mirror_min: float = 0.15  # weaker emotions are not mirrored
    mirror_rise_s: float = 0.5
    mirror_hold_s: float = 4.0  # then it fades back to neutral
    mirror_fade_s: float = 1.5
    blink_mean_s: float = 3.6  # between blinks, on average (~16 a minute)
    blink_mid_phrase_factor: float = 1.5  # longer gaps while the user is mid-phrase
    pause_blink_chance: float = 0.55  # a blink soon after a pause begins
    aversion_chance: float = 0.12  # per second of the user speaking: a brief look away
    aversion_s: tuple[float, float] = (0.3, 0.9)
    drift_after_s: float = 3.0  # nobody speaking this long: attention starts to drift
    drift_aversion_chance: float = 0.35  # per second, once drifting
    wander_deg: float = 1.2  # slow head wander; grows by drift_gain when attention drifts
    drift_gain: float = 1.8
    inhale_s: float = 0.45  # before the character's own turn
    inhale_jaw: float = 0.04


def _bump(u: np.ndarray) -> np.ndarray:
    """0 at u<=0 and u>=1, smooth rise and fall."""
    u = np.clip(u, 0.0, 1.0)
    return np.sin(np.pi * u) ** 2


def _envelope(t: np.ndarray, rise: float, hold: float, fall: float) -> np.ndarray:
    """Attack over `rise`, hold, release over `fall` (t from the start)."""
    up = np.clip(t / rise, 0, 1)
    down = 1 - np.clip((t - rise - hold) / fall, 0, 1)
    e = np.minimum(up, down)
    return np.where(t < 0, 0.0, e * e * (3 - 2 * e))


class Listener:
    """The behaviour of one listening character. `hear` the events as they come, `frames`
    the motion up to a time; both may be called in any chunking with the same result."""

    def __init__(self, fps: float, seed: int = 0, params: ListeningParams | None = None, expression=None):
        self.fps = fps
        self.p = params or ListeningParams()
        self.rng = np.random.default_rng(seed)
        self.expression = expression  # (7,) distribution -> (52,) weights; the default model if None
        self.frame = 0  # the next frame to render
        self.events: list[Event] = []  # reactions and life events, for animation.json / headers
        self.primitives: list[tuple[str, float, float, float, float]] = []  # type, t0, dur, strength, extra
        self.last_reaction = -1e9
        self.user_speaking = False
        self.last_voice = 0.0  # when the user was last heard (attention drift)
        self.mirror = np.zeros(arkit.N, np.float32)
        self.mirror_from, self.mirror_to = np.zeros(arkit.N, np.float32), np.zeros(arkit.N, np.float32)
        self.mirror_t0 = 0.0
        self.mirror_until = -1e9
        self.next_blink = float(self.rng.uniform(0.4, 2.0))
        self.gaze = (0.0, 0.0)
        self.gaze_until = 0.0  # an aversion ends here (back to the speaker)
        self.turn_at = None  # the character's own turn starts here (inhale before it)
        # Slow head wander: a few sines per axis, evaluated at any t (causal, chunk-free).
        self.wander = self.rng.uniform(0, 2 * np.pi, (3, 3)), 1.0 / self.rng.uniform(4.0, 11.0, (3, 3))

    # ---- hearing -> reactions
    def hear(self, heard) -> None:
        """Take one Heard (bridge/listening/hearing.py); reactions start at or after heard.at."""
        p, rng = self.p, self.rng
        if heard.type == "speech":
            self.user_speaking = True
            self.last_voice = heard.t
            return
        if heard.type == "pause":
            self.user_speaking = False
            self.last_voice = heard.t
            start = heard.at + float(rng.uniform(*p.reaction_delay_s))
            if rng.uniform() < p.pause_blink_chance:
                self._blink(start + float(rng.uniform(0.05, 0.35)))
            if start - self.last_reaction < p.refractory_s:
                return
            if heard.question and rng.uniform() < p.brow_chance:
                s = float(rng.uniform(*p.brow_strength))
                self._react("brow_raise", start, p.brow_s * float(rng.uniform(0.85, 1.2)), s)
                if rng.uniform() < 0.3:  # sometimes with a small nod
                    self._nod(start + 0.15, 0.5 * heard.emphasis, single=True)
                return
            chance = p.nod_chance * (0.5 if heard.phrase_s < p.short_phrase_s else 1.0)
            if rng.uniform() < chance:
                self._nod(start, heard.emphasis)
            return
        if heard.type == "turn_end":
            self.user_speaking = False
            if heard.at - self.last_reaction > 1.5 * p.refractory_s and rng.uniform() < p.turn_nod_chance:
                self._nod(heard.at + float(rng.uniform(*p.reaction_delay_s)), 0.3)
            return
        if heard.type == "words" and heard.emotion is not None:
            self._mirror(heard.emotion, heard.at)

    def _react(self, kind: str, t0: float, dur: float, strength: float, extra: float = 0.0) -> None:
        self.primitives.append((kind, t0, dur, strength, extra))
        self.events.append(Event(kind, t0, dur, strength))
        self.last_reaction = max(self.last_reaction, t0)

    def _nod(self, t0: float, emphasis: float, single: bool = False) -> None:
        p, rng = self.p, self.rng
        depth = (p.nod_deg[0] + (p.nod_deg[1] - p.nod_deg[0]) * float(np.clip(emphasis, 0, 1)))
        depth *= float(rng.uniform(0.8, 1.2))
        double = not single and rng.uniform() < p.double_nod_chance
        dur = p.nod_s * float(rng.uniform(0.85, 1.2)) * (1.8 if double else 1.0)
        self._react("nod", t0, dur, round(depth / p.nod_deg[1], 3), 2.0 if double else 1.0)

    def _blink(self, t0: float, strength: float | None = None) -> None:
        s = float(self.rng.uniform(0.9, 1.0)) if strength is None else strength
        self.primitives.append(("blink", t0, BLINK_S, s, 0.0))
        self.events.append(Event("blink", t0, BLINK_S, s))

    def _mirror(self, emotion: np.ndarray, at: float) -> None:
        p = self.p
        e = np.asarray(emotion, np.float64)
        neutral = LABELS.index("neutral")
        top = int(np.where(np.arange(len(e)) == neutral, -1, e).argmax())
        strength = float(e[top])
        if strength < p.mirror_min:
            return
        label = LABELS[top]
        if label == "surprise":  # surprising news: raise the brows rather than mirror
            if at - self.last_reaction >= p.refractory_s:
                self._react("brow_raise", at, p.brow_s, float(np.clip(strength, 0.5, 0.9)))
            return
        kind = {"joy": "smile", "sadness": "concern", "fear": "concern"}.get(label, "frown")
        weights = self._expression(e) * p.mirror_gain
        t = at
        self.mirror_from = self._mirror_at(t)
        self.mirror_to, self.mirror_t0 = weights.astype(np.float32), t
        self.mirror_until = t + p.mirror_rise_s + p.mirror_hold_s
        self.events.append(Event(kind, t, p.mirror_rise_s + p.mirror_hold_s + p.mirror_fade_s,
                                 round(strength * p.mirror_gain, 3)))
        self.last_reaction = max(self.last_reaction, t)

    def _expression(self, e: np.ndarray) -> np.ndarray:
        if self.expression is not None:
            return np.asarray(self.expression(e), np.float32)
        from bridge.emotion.expression import constant_expression

        return constant_expression(e)

    def _mirror_at(self, t: float) -> np.ndarray:
        p = self.p
        if t < self.mirror_t0:
            return self.mirror_from
        if t <= self.mirror_until:
            u = float(np.clip((t - self.mirror_t0) / p.mirror_rise_s, 0, 1))
            u = u * u * (3 - 2 * u)
            return (1 - u) * self.mirror_from + u * self.mirror_to
        u = float(np.clip((t - self.mirror_until) / p.mirror_fade_s, 0, 1))
        return (1 - u * u * (3 - 2 * u)) * self.mirror_to

    # ---- the character's own turn
    def turn_at_time(self, t: float) -> None:
        """The character will start speaking at t: inhale, lips part and eyes come back
        to the user in the p.inhale_s before it."""
        self.turn_at = t
        self.gaze_until = 0.0
        self.events.append(Event("inhale", t - self.p.inhale_s, self.p.inhale_s, 1.0))

    # ---- frames
    def frames(self, until_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Frames from the last one rendered up to time until_s: (F, 52) weights, (F, 6) pose."""
        n = max(0, int(np.floor(until_s * self.fps + 1e-9)) - self.frame)
        w = np.zeros((n, arkit.N), np.float32)
        pose = np.zeros((n, 6), np.float32)
        for i in range(n):
            t = (self.frame + i) / self.fps
            self._life(t)
            w[i], pose[i] = self._frame(t)
        self.frame += n
        return w, pose

    def _life(self, t: float) -> None:
        """Blinks and gaze, drawn as time passes (so a chunk boundary changes nothing)."""
        p, rng = self.p, self.rng
        if t >= self.next_blink:
            self._blink(self.next_blink)
            mean = p.blink_mean_s * (p.blink_mid_phrase_factor if self.user_speaking else 1.0)
            self.next_blink += 0.25 + float(rng.gamma(3.0, (mean - 0.25) / 3.0))
        if self._new_second(t):  # once per second: a look away?
            drifting = not self.user_speaking and t - self.last_voice > p.drift_after_s
            chance = p.drift_aversion_chance if drifting else p.aversion_chance if self.user_speaking else 0.05
            if t >= self.gaze_until and (self.turn_at is None or t < self.turn_at - 2.0) and rng.uniform() < chance:
                dur = float(rng.uniform(*p.aversion_s)) * (2.5 if drifting else 1.0)
                gaze = (float(rng.uniform(-0.35, 0.35)), float(rng.uniform(-0.2, 0.1)))
                self.gaze, self.gaze_until = gaze, t + dur
                self.events.append(Event("gaze_shift", t, dur, round(float(np.hypot(*gaze)), 3)))

    def _new_second(self, t: float) -> bool:
        """True on the first frame of each second."""
        return int(t) != int(t - 1.0 / self.fps) or t == 0.0

    def _frame(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        p = self.p
        w = np.zeros(arkit.N, np.float32)
        pose = np.zeros(6, np.float32)
        # Mirrored emotion (the expression model's own faces, at listener intensity).
        w += self._mirror_at(t)
        alive = []
        blink = 0.0
        for prim in self.primitives:
            kind, t0, dur, s, extra = prim
            if t < t0:
                alive.append(prim)
                continue
            if t > t0 + dur + 0.5:
                continue  # finished: dropped
            alive.append(prim)
            u = (t - t0) / dur
            if kind == "nod":
                # Chin down and back up (negative pitch is chin down); a double nod twice, the
                # second smaller.
                depth = s * p.nod_deg[1]
                if extra == 2.0:
                    pose[0] -= depth * (_bump(2 * u) if u < 0.5 else 0.6 * _bump(2 * u - 1))
                else:
                    pose[0] -= depth * _bump(u)
                pose[4] -= 0.05 * depth * _bump(u)  # the head dips a little as it nods
            elif kind == "brow_raise":
                e = float(_envelope(np.array(t - t0), 0.15, max(0.0, dur - 0.55), 0.4))
                w[arkit.INDEX["browInnerUp"]] += 0.7 * s * e
                w[arkit.INDEX["browOuterUpLeft"]] += 0.8 * s * e
                w[arkit.INDEX["browOuterUpRight"]] += 0.8 * s * e
                w[arkit.INDEX["eyeWideLeft"]] += 0.15 * s * e
                w[arkit.INDEX["eyeWideRight"]] += 0.15 * s * e
                pose[0] += 1.0 * s * e  # the chin lifts with interest
            elif kind == "blink":
                blink = max(blink, s * float(_blink_profile(np.array(t - t0))))
        self.primitives = alive
        w[arkit.INDEX["eyeBlinkLeft"]] = max(w[arkit.INDEX["eyeBlinkLeft"]], blink)
        w[arkit.INDEX["eyeBlinkRight"]] = max(w[arkit.INDEX["eyeBlinkRight"]], blink)
        # Gaze: on the speaker, or a brief aversion (a quick saccade either way).
        gx, gy = self.gaze if t < self.gaze_until else (0.0, 0.0)
        set_gaze(w, gx, gy)
        # Head: slow wander (wider when attention drifts), breathing, following the eyes.
        drift = float(np.clip((t - self.last_voice - p.drift_after_s) / 3.0, 0, 1)) if not self.user_speaking else 0.0
        phase, freq = self.wander
        noise = np.sin(2 * np.pi * freq * t + phase).sum(1) / np.sqrt(1.5)
        amp = p.wander_deg * (1 + p.drift_gain * drift)
        pose[0] += amp * noise[0]
        pose[1] += 1.6 * amp * noise[1] + 6.0 * gx
        pose[2] += 0.7 * amp * noise[2]
        breath = np.sin(2 * np.pi * t / 4.2)
        pose[0] += 0.3 * breath
        pose[4] += 0.08 * breath
        # Before the character's own turn: an inhale (chin up a little), lips parting.
        if self.turn_at is not None:
            u = (t - (self.turn_at - p.inhale_s)) / p.inhale_s
            if 0 <= u <= 1.2:
                e = float(np.clip(u, 0, 1))
                w[arkit.INDEX["jawOpen"]] = max(w[arkit.INDEX["jawOpen"]], p.inhale_jaw * e)
                w[arkit.INDEX["mouthLowerDownLeft"]] += 0.12 * e
                w[arkit.INDEX["mouthLowerDownRight"]] += 0.12 * e
                pose[0] += 1.5 * np.sin(np.pi * min(e, 1.0))
                pose[4] += 0.15 * e
        w[arkit.INDEX["jawOpen"]] = min(w[arkit.INDEX["jawOpen"]], JAW_MAX)
        return np.clip(w, 0.0, 1.0), pose
