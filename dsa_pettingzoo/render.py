"""Rendering of a DSA episode: text ("ansi"), a numpy image ("rgb_array") and a window ("human").

Both pictures show channels x time slots of the episode played so far. Only "human" needs
matplotlib, imported lazily. All functions take the played history of ONE episode:
actions / feedback int [t, N] and pu_busy bool [t, K].
"""

from __future__ import annotations

import numpy as np

from .physics import ACK, IDLE, NACK, PU_BLOCKED

#: Slots shown at most (the latest ones) in a picture.
ANSI_WINDOW = 80
RGB_WINDOW = 200

_USER_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

# colours (RGB uint8)
FREE = (246, 246, 246)  # PU-free channel-slot nobody used
PU_COLOUR = (160, 160, 160)  # channel-slot occupied by a primary user
UNPLAYED = (228, 232, 240)  # slot not played yet
COLLISION = (215, 25, 28)  # frame of a collided channel-slot / user outcome
BLOCKED = (20, 20, 20)  # frame of an attempt on a PU-occupied channel / user outcome
SUCCESS = (40, 165, 70)  # user outcome: ACK
IDLE_COLOUR = (250, 250, 250)  # user outcome: idle
BACKGROUND = (255, 255, 255)


def user_colors(num_users: int) -> np.ndarray:
    """Distinct colours uint8 [N, 3] (golden-ratio hues, starting at blue)."""
    h = (0.58 + 0.618033988749895 * np.arange(num_users)) % 1.0
    s, v = 0.70, 0.85
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack(
        [
            np.stack(c, -1)
            for c in (
                (np.full_like(h, v), t, np.full_like(h, p)),
                (q, np.full_like(h, v), np.full_like(h, p)),
                (np.full_like(h, p), np.full_like(h, v), t),
                (np.full_like(h, p), q, np.full_like(h, v)),
                (t, np.full_like(h, p), np.full_like(h, v)),
                (np.full_like(h, v), np.full_like(h, p), q),
            )
        ]
    )
    rgb = table[i, np.arange(num_users)]
    return (rgb * 255).round().astype(np.uint8)


def _user_char(n: int) -> str:
    return _USER_CHARS[n] if n < len(_USER_CHARS) else "*"


def render_ansi(actions, feedback, pu_busy, num_channels: int, horizon: int) -> str:
    """Text picture: one row per channel, one column per played slot (the latest ANSI_WINDOW).

    Cell legend: user id (0-9, a-z, A-Z, * beyond) = that user alone, ACK; X = collision;
    B = attempt on a PU-occupied channel; # = PU busy, unused; . = free, unused.
    """
    actions = np.asarray(actions)
    t = actions.shape[0]
    start = max(0, t - ANSI_WINDOW)
    lines = [
        f"dsa_v0  slot {t}/{horizon}  "
        "(id: ACK, X: collision, B: blocked by PU, #: PU busy, .: free)"
    ]
    for k in range(1, num_channels + 1):
        row = []
        for s in range(start, t):
            tx = np.flatnonzero(actions[s] == k)
            busy = bool(pu_busy[s, k - 1]) if pu_busy is not None else False
            if busy:
                row.append("B" if tx.size else "#")
            elif tx.size == 0:
                row.append(".")
            elif tx.size == 1:
                row.append(_user_char(int(tx[0])))
            else:
                row.append("X")
        lines.append(f"ch{k:<3d}|" + "".join(row))
    fb = np.asarray(feedback)
    lines.append(
        f"ACK {int((fb == 1).sum())}  collisions {int((fb == -1).sum())}  "
        f"PU-blocked {int((fb == -2).sum())}  idle {int((fb == 0).sum())}  "
        f"(user-slots so far)"
    )
    return "\n".join(lines) + "\n"


def render_rgb(
    actions, feedback, pu_busy, num_users: int, num_channels: int, horizon: int
) -> np.ndarray:
    """Image uint8 [H, W, 3] of the episode so far (pure numpy).

    Top band, one row per channel, one column per slot: a lone transmitter fills the cell with
    its colour (success); a collision draws a red frame around stripes of the colliding users'
    colours; an attempt on a PU-occupied channel draws a black frame on the grey PU cell; grey =
    PU busy and unused; near-white = free and unused; pale blue = not played yet.
    Bottom band, one row per user (its colour swatch on the left): green ACK, red collision,
    black PU-blocked, white idle. Shows the whole horizon, or the latest RGB_WINDOW slots.
    """
    actions = np.asarray(actions)
    feedback = np.asarray(feedback)
    t = actions.shape[0]
    W_slots = min(horizon, RGB_WINDOW)
    start = max(0, t - W_slots)
    cw, chh, uh, margin, gap = 6, 18, 8, 10, 6
    colors = user_colors(num_users)
    H = chh * num_channels + gap + uh * num_users
    W = margin + cw * W_slots
    img = np.empty((H, W, 3), dtype=np.uint8)
    img[:] = BACKGROUND
    img[: chh * num_channels, margin:] = UNPLAYED
    img[chh * num_channels + gap :, margin:] = UNPLAYED
    # left margin: channel stripes alternate grey shades, user rows show the user's colour
    for k in range(num_channels):
        img[k * chh : (k + 1) * chh, 1 : margin - 2] = (200, 200, 200) if k % 2 else (120, 120, 120)
    for n in range(num_users):
        y = chh * num_channels + gap + n * uh
        img[y + 1 : y + uh - 1, 1 : margin - 2] = colors[n]
    y_users = chh * num_channels + gap
    outcome = {ACK: SUCCESS, NACK: COLLISION, PU_BLOCKED: BLOCKED, IDLE: IDLE_COLOUR}
    for col, s in enumerate(range(start, t)):
        x0 = margin + col * cw
        for k in range(1, num_channels + 1):
            y0 = (k - 1) * chh
            cell = img[y0 + 1 : y0 + chh - 1, x0 : x0 + cw - 1]  # 1-px gaps form a grid
            tx = np.flatnonzero(actions[s] == k)
            busy = bool(pu_busy[s, k - 1]) if pu_busy is not None else False
            cell[:] = PU_COLOUR if busy else FREE
            if tx.size == 1 and not busy:
                cell[:] = colors[tx[0]]
            elif tx.size >= 1:
                cell[:] = BLOCKED if busy else COLLISION
                inner = cell[2:-2, 1:-1] if cell.shape[1] > 2 else cell[2:-2]
                stripes = np.array_split(np.arange(inner.shape[0]), tx.size)
                for rows, n in zip(stripes, tx):
                    inner[rows] = colors[n]
        for n in range(num_users):
            y0 = y_users + n * uh
            img[y0 + 1 : y0 + uh - 1, x0 : x0 + cw - 1] = outcome[int(feedback[s, n])]
    return img


class HumanRenderer:
    """Shows rgb frames in a matplotlib window (matplotlib imported on first use)."""

    def __init__(self, fps: float = 4.0):
        self.fps = fps
        self._fig = self._im = None

    def show(self, frame: np.ndarray) -> None:
        try:  # an optional dependency that only the "human" mode needs
            # imports matplotlib: only when called
            import matplotlib
            import matplotlib.pyplot as plt
        except ImportError as e:  # pragma: no cover - depends on the install
            raise ImportError(
                "render_mode='human' needs matplotlib: pip install matplotlib "
                "(or use render_mode='rgb_array' / 'ansi')"
            ) from e
        if self._fig is None or not plt.fignum_exists(self._fig.number):
            self._fig, ax = plt.subplots(
                figsize=(max(4, frame.shape[1] / 100), max(2, frame.shape[0] / 100 + 0.5))
            )
            ax.set_axis_off()
            ax.set_title("dsa_v0: channels (top) and users (bottom) over time")
            self._im = ax.imshow(frame, interpolation="nearest")
        else:
            self._im.set_data(frame)
        self._fig.canvas.draw_idle()
        backend = matplotlib.get_backend().lower()
        if backend not in ("agg", "pdf", "ps", "svg", "cairo", "template"):
            plt.pause(1.0 / self.fps)

    def close(self) -> None:
        if self._fig is not None:
            import matplotlib.pyplot as plt  # loaded already: show() made the figure

            plt.close(self._fig)
        self._fig = self._im = None

    def __getstate__(self):
        return {"fps": self.fps}

    def __setstate__(self, state):
        self.fps = state["fps"]
        self._fig = self._im = None
