"""The 3D world of a synthetic game: court, players with swinging limbs, a ball that is passed and bounces.

Everything is a deterministic function of the seed and the game-time span. Players are
simulated once on a fine time grid (steering towards random targets, staying on the court,
keeping apart) and read back by interpolation at any game time; the ball's path is a list
of analytic segments (dribbles and passes, parabolic arcs between ground contacts), so
bounce times are exact.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

GRAVITY = 9.81
BALL_RADIUS_M = 0.12
HAND_HEIGHT_M = 0.95
SIM_DT = 0.02

HOME_COLOURS = ((200, 30, 40), (245, 245, 245))  # jersey, shorts (RGB)
AWAY_COLOURS = ((35, 75, 200), (20, 30, 70))
SKIN = ((241, 194, 160), (224, 172, 125), (198, 134, 90), (141, 85, 54), (100, 62, 40))
HAIR = ((30, 22, 18), (70, 45, 25), (150, 110, 60), (20, 20, 20), (110, 70, 40))
SHOES = ((25, 25, 25), (235, 235, 235), (200, 60, 30))
BALL_COLOUR = (228, 110, 25)


@dataclass(frozen=True)
class ObjectSpec:
    """A tracked object: id, name, team and how it looks.

    Attributes:
        object_id: 1 for the ball, then the home players, then the away players.
        name: "ball", "home 1", ..., "away 1", ...
        team: "home", "away" or None (the ball).
        height_m: standing height (players).
        colours: named RGB colours of its body parts.
    """

    object_id: int
    name: str
    team: str | None
    height_m: float = 0.0
    colours: tuple[tuple[str, tuple[int, int, int]], ...] = ()

    def colour(self, part: str) -> tuple[int, int, int]:
        return dict(self.colours)[part]


@dataclass(frozen=True)
class Event:
    """A sound-making moment of the game: a ball ``bounce`` or a referee ``whistle``, at a game time (s)."""

    time: float
    kind: str
    strength: float = 1.0


@dataclass(frozen=True)
class _BallSegment:
    t0: float
    t1: float
    kind: str  # "dribble" or "arc"
    holder: int = -1  # player index while dribbling
    period: float = 0.55  # dribble period
    p0: tuple[float, float, float] = (0.0, 0.0, 0.0)  # arc start (x, y, z)
    p1: tuple[float, float, float] = (0.0, 0.0, 0.0)  # arc end


def _arc_z(z0: float, z1: float, duration: float, tau: np.ndarray | float) -> np.ndarray | float:
    """Height on a ballistic arc from ``z0`` to ``z1`` in ``duration`` seconds, ``tau`` s after its start."""
    v0 = (z1 - z0 + 0.5 * GRAVITY * duration**2) / duration
    return z0 + v0 * tau - 0.5 * GRAVITY * tau**2


class Scene:
    """Court, players and ball over the game-time span ``[t_start, t_end]``.

    Args:
        seed: random seed.
        players_per_team: players in each team.
        court_size_m: ``(length, width)`` of the court in metres.
        t_start, t_end: game-time span to simulate (s); reading outside it clamps.
    """

    def __init__(
        self, seed: int, players_per_team: int, court_size_m: tuple[float, float], t_start: float, t_end: float
    ):
        self.seed = seed
        self.court_size_m = (float(court_size_m[0]), float(court_size_m[1]))
        self.t_start = float(t_start)
        self.t_end = float(max(t_end, t_start + SIM_DT))
        rng = np.random.default_rng([seed, 7001])
        self.objects = self._make_objects(rng, players_per_team)
        self.players = [o for o in self.objects if o.team is not None]
        self._simulate_players(rng)
        self._segments: list[_BallSegment] = []
        self._segment_starts: list[float] | None = None
        self.bounces: list[Event] = []
        self._plan_ball(rng)
        self._segment_starts = [s.t0 for s in self._segments]

    # -- construction ----------------------------------------------------------------------
    @staticmethod
    def _make_objects(rng: np.random.Generator, n: int) -> list[ObjectSpec]:
        objects = [ObjectSpec(1, "ball", None, 2 * BALL_RADIUS_M, (("ball", BALL_COLOUR),))]
        for team, (jersey, shorts) in (("home", HOME_COLOURS), ("away", AWAY_COLOURS)):
            for k in range(n):
                objects.append(
                    ObjectSpec(
                        object_id=len(objects) + 1,
                        name=f"{team} {k + 1}",
                        team=team,
                        height_m=float(rng.uniform(1.72, 1.98)),
                        colours=(
                            ("jersey", jersey),
                            ("shorts", shorts),
                            ("skin", SKIN[int(rng.integers(len(SKIN)))]),
                            ("hair", HAIR[int(rng.integers(len(HAIR)))]),
                            ("shoes", SHOES[int(rng.integers(len(SHOES)))]),
                        ),
                    )
                )
        return objects

    def _simulate_players(self, rng: np.random.Generator) -> None:
        length, width = self.court_size_m
        n = len(self.players)
        steps = int(math.ceil((self.t_end - self.t_start) / SIM_DT)) + 2
        self.sim_times = self.t_start + SIM_DT * np.arange(steps)
        self.pos = np.zeros((n, steps, 2))
        self.heading = np.zeros((n, steps))
        self.phase = np.zeros((n, steps))
        self.speed = np.zeros((n, steps))
        if n == 0:
            return
        lo = np.array([0.6, 0.6])
        hi = np.array([length - 0.6, width - 0.6])
        home = np.array([o.team == "home" for o in self.players])
        pos = np.column_stack(
            [
                np.where(home, rng.uniform(1.0, length / 2 - 1.0, n), rng.uniform(length / 2 + 1.0, length - 1.0, n)),
                rng.uniform(1.0, width - 1.0, n),
            ]
        )
        vel = np.zeros((n, 2))
        heading = np.where(home, 0.0, math.pi) + rng.uniform(-0.5, 0.5, n)
        phase = rng.uniform(0, 2 * math.pi, n)
        target = rng.uniform(lo, hi, (n, 2))
        pref = rng.uniform(1.5, 5.5, n)
        timer = rng.uniform(0.5, 3.0, n)
        for k in range(steps):
            self.pos[:, k] = pos
            self.heading[:, k] = heading
            self.phase[:, k] = phase
            speed = np.linalg.norm(vel, axis=1)
            self.speed[:, k] = speed
            # new targets when reached or when the timer runs out
            to_target = target - pos
            dist = np.linalg.norm(to_target, axis=1)
            timer -= SIM_DT
            renew = (dist < 0.5) | (timer <= 0)
            if renew.any():
                m = int(renew.sum())
                target[renew] = rng.uniform(lo, hi, (m, 2))
                pref[renew] = rng.uniform(0.0, 5.5, m) * rng.choice([0.3, 1.0], m, p=[0.25, 0.75])
                timer[renew] = rng.uniform(1.0, 4.0, m)
                to_target = target - pos
                dist = np.linalg.norm(to_target, axis=1)
            want = np.minimum(pref, 1.2 * dist)[:, None] * to_target / np.maximum(dist, 1e-6)[:, None]
            # keep apart: push away from players closer than 1.2 m
            diff = pos[:, None, :] - pos[None, :, :]
            d2 = (diff**2).sum(-1) + np.eye(n) * 1e6
            near = d2 < 1.44
            push = (diff / np.maximum(d2, 0.04)[..., None] * near[..., None]).sum(1)
            want += 1.5 * push
            dv = want - vel
            dv_norm = np.linalg.norm(dv, axis=1, keepdims=True)
            vel = vel + dv * np.minimum(1.0, 4.5 * SIM_DT / np.maximum(dv_norm, 1e-9))
            pos = np.clip(pos + vel * SIM_DT, lo, hi)
            speed = np.linalg.norm(vel, axis=1)
            # turn towards the direction of motion, at most 5 rad/s
            moving = speed > 0.3
            goal = np.arctan2(vel[:, 1], vel[:, 0])
            turn = (goal - heading + math.pi) % (2 * math.pi) - math.pi
            heading = heading + np.where(moving, np.clip(turn, -5 * SIM_DT, 5 * SIM_DT), 0.0)
            cadence = 0.9 + 0.14 * speed  # stride cycles per second
            phase = phase + 2 * math.pi * cadence * SIM_DT * np.minimum(1.0, speed / 0.3)

    def _plan_ball(self, rng: np.random.Generator) -> None:
        length, width = self.court_size_m
        n = len(self.players)
        t = self.t_start
        holder = int(rng.integers(n)) if n else -1
        last = (length / 2, width / 2, HAND_HEIGHT_M)
        while t < self.t_end:
            if n:
                period = float(rng.uniform(0.48, 0.62))
                bounces = int(rng.integers(2, 6))
                seg = _BallSegment(t, t + bounces * period, "dribble", holder=holder, period=period)
                self._segments.append(seg)
                self.bounces.extend(
                    Event(t + (j + 0.5) * period, "bounce", float(rng.uniform(0.7, 1.0))) for j in range(bounces)
                )
                t = seg.t1
                p0 = tuple(self.ball_center(t))
                team = self.players[holder].team
                mates = [i for i in range(n) if i != holder and self.players[i].team == team]
                others = [i for i in range(n) if i != holder]
                if not others:
                    continue
                pool = mates if mates and rng.random() < 0.8 else others
                receiver = int(pool[int(rng.integers(len(pool)))])
            else:
                p0 = last
                receiver = -1
            # a pass: estimate its duration from the receiver's position now, aim where he will be
            if receiver >= 0:
                here = self.player_state(t)[0][receiver]
            else:
                here = rng.uniform([1.0, 1.0], [length - 1.0, width - 1.0])
            dist = float(np.hypot(here[0] - p0[0], here[1] - p0[1]))
            bounce_pass = rng.random() < 0.6
            duration = float(np.clip(dist / rng.uniform(7.0, 11.0), 0.45, 1.3))
            t1 = t + duration
            if receiver >= 0:
                self._segments.append(_BallSegment(t1, t1, "dribble", holder=receiver, period=0.55))
                p1 = tuple(self.ball_center(t1))
                self._segments.pop()
            else:
                p1 = (float(here[0]), float(here[1]), HAND_HEIGHT_M)
            if bounce_pass:
                frac = float(rng.uniform(0.5, 0.65))
                mid = (p0[0] + frac * (p1[0] - p0[0]), p0[1] + frac * (p1[1] - p0[1]), BALL_RADIUS_M)
                tm = t + frac * duration
                self._segments.append(_BallSegment(t, tm, "arc", p0=p0, p1=mid))
                self._segments.append(_BallSegment(tm, t1, "arc", p0=mid, p1=p1))
                self.bounces.append(Event(tm, "bounce", float(rng.uniform(0.8, 1.0))))
            else:
                self._segments.append(_BallSegment(t, t1, "arc", p0=p0, p1=p1))
            t = t1
            holder = receiver
            last = p1

    # -- reading the state -----------------------------------------------------------------
    def player_state(self, time: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Players at a game time: positions (P, 2) m, headings (P,) rad, gait phases (P,), speeds (P,) m/s."""
        x = (np.clip(time, self.sim_times[0], self.sim_times[-1]) - self.t_start) / SIM_DT
        k = min(int(math.floor(x)), len(self.sim_times) - 2)
        a = x - k
        if k < 0:
            k, a = 0, 0.0

        def lerp(arr: np.ndarray) -> np.ndarray:
            return arr[:, k] * (1 - a) + arr[:, k + 1] * a

        return lerp(self.pos), lerp(self.heading), lerp(self.phase), lerp(self.speed)

    def ball_center(self, time: float) -> np.ndarray:
        """The ball's centre (3,) in metres at a game time."""
        starts = [s.t0 for s in self._segments] if self._segment_starts is None else self._segment_starts
        i = max(bisect.bisect_right(starts, time) - 1, 0)
        seg = self._segments[i]
        if seg.kind == "dribble":
            pos, heading, _, _ = self.player_state(time)
            c, s = math.cos(heading[seg.holder]), math.sin(heading[seg.holder])
            # ball to the front-right of the dribbler
            x = pos[seg.holder, 0] + 0.25 * c + 0.32 * s
            y = pos[seg.holder, 1] + 0.25 * s - 0.32 * c
            phi = ((time - seg.t0) / seg.period + 0.5) % 1.0
            z = BALL_RADIUS_M + (HAND_HEIGHT_M - BALL_RADIUS_M) * 4 * phi * (1 - phi)
            return np.array([x, y, z])
        dur = max(seg.t1 - seg.t0, 1e-6)
        tau = float(np.clip(time - seg.t0, 0.0, dur))
        f = tau / dur
        x = seg.p0[0] + f * (seg.p1[0] - seg.p0[0])
        y = seg.p0[1] + f * (seg.p1[1] - seg.p0[1])
        z = max(float(_arc_z(seg.p0[2], seg.p1[2], dur, tau)), BALL_RADIUS_M)
        return np.array([x, y, z])

    def roots(self, time: float) -> np.ndarray:
        """Each object's root (O, 3) in object order: the ball's centre, a player's point on the ground."""
        pos = self.player_state(time)[0]
        out = np.zeros((len(self.objects), 3))
        out[0] = self.ball_center(time)
        out[1:, :2] = pos
        return out

    def bounces_between(self, t0: float, t1: float) -> list[Event]:
        return [e for e in self.bounces if t0 <= e.time < t1]


# -- bodies ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Parts:
    """The 3D primitives of all objects at one time.

    Attributes:
        a: (M, 3) first end of each part (a sphere's centre).
        b: (M, 3) second end (equal to ``a`` for spheres).
        radius: (M,) radius in metres.
        colour: (M, 3) RGB uint8.
        object_index: (M,) index of the part's object in the scene's object list.
    """

    a: np.ndarray
    b: np.ndarray
    radius: np.ndarray
    colour: np.ndarray
    object_index: np.ndarray


def _rotate_down(forward: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Unit vectors (P, 3): straight down tilted by ``angle`` (P,) rad towards ``forward`` (P, 3)."""
    down = np.array([0.0, 0.0, -1.0])
    return np.sin(angle)[:, None] * forward + np.cos(angle)[:, None] * down


def body_parts(scene: Scene, time: float, only: int | None = None) -> Parts:
    """All primitives (capsules and spheres) of the scene's objects at a game time.

    Args:
        scene: the scene.
        time: game time (s).
        only: an object index to keep alone (for unoccluded renders), or None for all.
    """
    segments: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    players = scene.players
    p = len(players)
    if p and (only is None or only > 0):
        pos, heading, phase, speed = scene.player_state(time)
        height = np.array([o.height_m for o in players])
        fwd = np.column_stack([np.cos(heading), np.sin(heading), np.zeros(p)])
        left = np.column_stack([-np.sin(heading), np.cos(heading), np.zeros(p)])
        up = np.array([0.0, 0.0, 1.0])
        amp = np.minimum(0.7, 0.16 * speed)
        lean = np.minimum(0.12, 0.025 * speed)[:, None] * fwd
        thigh, shin = 0.245 * height, 0.245 * height
        hip_z = 0.53 * height
        legs = {}
        for side, sign in (("l", 1.0), ("r", -1.0)):
            swing = sign * amp * np.sin(phase)
            knee_flex = 1.4 * amp * np.maximum(0.0, np.sin(phase + 1.3 + (0.0 if sign > 0 else math.pi)))
            hip = np.column_stack([pos, hip_z]) + sign * 0.055 * height[:, None] * left
            knee = hip + thigh[:, None] * _rotate_down(fwd, swing)
            foot = knee + shin[:, None] * _rotate_down(fwd, swing - knee_flex)
            legs[side] = (hip, knee, foot)
        lowest = np.minimum(legs["l"][2][:, 2], legs["r"][2][:, 2])
        lift = (0.045 - lowest)[:, None] * up  # the lower foot touches the ground
        root = np.column_stack([pos, np.zeros(p)])
        pelvis = np.column_stack([pos, hip_z]) + lift
        neck = root + (0.815 * height)[:, None] * up + lift + lean
        chest = pelvis + 0.6 * (neck - pelvis)
        head = root + (0.915 * height)[:, None] * up + lift + 1.1 * lean
        hair = head + 0.03 * up - 0.035 * fwd
        cols = {
            name: np.array([o.colour(name) for o in players], dtype=np.float64)
            for name in ("jersey", "shorts", "skin", "hair", "shoes")
        }
        shade = 0.82  # limbs on the far side of the body are darker

        def add(a, b, r, colour, factor=1.0):
            segments.append(
                (
                    a,
                    b,
                    np.broadcast_to(np.asarray(r, dtype=np.float64), (p,)),
                    np.clip(colour * factor, 0, 255),
                    np.arange(1, p + 1),
                )
            )

        add(pelvis, chest, 0.15, cols["jersey"])
        add(chest - 0.12 * height[:, None] * left, chest + 0.12 * height[:, None] * left, 0.08, cols["jersey"])
        add(pelvis - 0.06 * height[:, None] * left, pelvis + 0.06 * height[:, None] * left, 0.115, cols["shorts"])
        add(neck, head, 0.05, cols["skin"])
        add(hair, hair, 0.108, cols["hair"])
        add(head, head, 0.105, cols["skin"])
        for side, sign in (("l", 1.0), ("r", -1.0)):
            hip, knee, foot = (v + lift for v in legs[side])
            factor = 1.0 if sign > 0 else shade
            upper = hip + 0.45 * (knee - hip)
            add(hip, upper, 0.085, cols["shorts"], factor)
            add(upper, knee, 0.068, cols["skin"], factor)
            add(knee, foot, 0.055, cols["skin"], factor)
            add(foot + 0.05 * fwd, foot + 0.05 * fwd, 0.055, cols["shoes"], factor)
            swing = -sign * 0.8 * amp * np.sin(phase)
            shoulder = chest + 0.75 * (neck - chest) + sign * 0.125 * height[:, None] * left
            out = sign * 0.08 * left
            elbow = shoulder + (0.17 * height)[:, None] * (_rotate_down(fwd, swing) + out)
            hand = elbow + (0.16 * height)[:, None] * (_rotate_down(fwd, swing + 0.35 + 0.9 * amp) + out)
            sleeve = shoulder + 0.4 * (elbow - shoulder)
            add(shoulder, sleeve, 0.058, cols["jersey"], factor)
            add(sleeve, elbow, 0.045, cols["skin"], factor)
            add(elbow, hand, 0.04, cols["skin"], factor)
            add(hand, hand, 0.048, cols["skin"], factor)
    if only is None or only == 0:
        c = scene.ball_center(time)[None, :]
        segments.append((c, c, np.array([BALL_RADIUS_M]), np.array([BALL_COLOUR], dtype=np.float64), np.array([0])))
    if not segments:
        empty = np.zeros((0, 3))
        return Parts(empty, empty, np.zeros(0), np.zeros((0, 3), np.uint8), np.zeros(0, np.int64))
    a = np.concatenate([s[0] for s in segments])
    b = np.concatenate([s[1] for s in segments])
    radius = np.concatenate([s[2] for s in segments])
    colour = np.concatenate([s[3] for s in segments]).astype(np.uint8)
    index = np.concatenate([s[4] for s in segments]).astype(np.int64)
    if only is not None and only > 0:
        keep = index == only
        a, b, radius, colour, index = a[keep], b[keep], radius[keep], colour[keep], index[keep]
    return Parts(a, b, radius, colour, index)
