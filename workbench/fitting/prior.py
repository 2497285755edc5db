"""Where a fit starts: the physics prior (or DiffImpact's random start) as `FitParams`.

The prior is read off the signal: mode frequencies, decays and levels
(`workbench.analysis.modes.estimate_modes`), the contact duration from the modes'
high-frequency roll-off, the noise floor and the room's decay per band; the strike's
residual starts quiet and short (`workbench.fitting.params.RESIDUAL_INIT_DB`). A clip of several
strikes reads its modes from its cleanest ring and adds those its other rings hold (`bank_init`).
Objects shared by several clips start from their clearest clip; a tool starts from the modes its
clips share across different objects. ``init="random"`` spreads the modes at random
over the whole range instead (impact times still come from detection); ``init="encoder"``
takes the modes, contact, click, noise, room and residual from the impact encoder
(`workbench.learned.impact`, one pass per clip) and the impact times from detection.

Example:
    >>> import numpy as np
    >>> bank = random_bank(4, max_freq_hz=20000.0, rng=np.random.default_rng(0))
    >>> bank.freqs_hz.shape, bool(np.all(np.diff(bank.freqs_hz) > 0))
    ((4,), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import specs
from ..analysis import edited_fade, estimate_contact_s, estimate_modes, estimate_noise_bands, estimate_room_decay
from ..analysis.background import MAX_ANALYSIS_S
from ..errors import WorkbenchError
from .clips import Window
from .labels import ClipLabel
from .params import BankInit, ClipInit, FitParams, gain_for_amplitude, noise_ceiling
from .settings import FitSettings

# Shortest initial contact duration; the start is estimated from the modes' high-frequency
# roll-off (`estimate_contact_s`), and mode gains are compensated for its spectrum.
CONTACT_INIT_S = 1.5e-4
# A strike's ring counts up to this long when choosing the strike to read modes from.
_RING_READ_S = 2.0
# Other strikes' rings add their modes when at least this long (a shorter ring resolves
# nothing the first did not) ...
_MIN_EXTRA_RING_S = 0.05
_MAX_EXTRA_RINGS = 4
# ... and a mode read from one is new when no known mode lies within this fraction of it
# (or its bandwidth, or the ring's resolution: `_new_modes`).
_SAME_MODE_FRACTION = 0.003
# Tool modes start this far below the object's loudest mode.
TOOL_INIT_DB = -30.0
# Room reverb starts this quiet in every band.
REVERB_INIT_DB = -35.0
# Mode frequencies stay below this fraction of the sample rate.
MAX_FREQ_FRACTION = 0.49
# An encoder start whose room is predicted off starts the room this quiet (dB per band).
ENCODER_ROOM_OFF_DB = -60.0


def whole_clip(win: Window, audio: np.ndarray) -> np.ndarray:
    """The window's whole clip at the level of its peak-normalised window ``audio``.

    Signal estimates read the whole clip, not the fitted window: the quiet lead-in
    before the strike (which the window cuts to ``clips.PRE_ONSET_S``) is where the
    background noise is measured, and without it the ring itself would be taken for
    noise and its modes rejected.
    """
    seg = win.clip.audio[win.start:win.start + len(audio)]
    scale = float(np.max(np.abs(seg))) or 1.0
    return np.asarray(win.clip.audio, np.float64) / scale


@dataclass(frozen=True)
class Ring:
    """The strike whose ring the modes are read from: its onset and the end of its clean
    ring (the next strike, or the clip's end), in clip time (s), and its magnitude
    relative to the loudest strike."""

    onset_s: float
    end_s: float | None
    magnitude: float


def ring_to_read(times_s: np.ndarray, levels_db: np.ndarray, end_s: float) -> int:
    """Index of the strike to read the modes from: loud, with a long clean ring after it
    (level + 10 log10 of the time to the next strike, counted up to ``_RING_READ_S``)."""
    rings = np.diff(np.append(times_s, end_s))
    return int(np.argmax(levels_db + 10.0 * np.log10(np.clip(rings, 1e-3, _RING_READ_S))))


def clip_init(win: Window, audio: np.ndarray) -> tuple[ClipInit, list[Ring]]:
    """Impacts, noise floor and room of one clip's window ``audio`` (peak-normalised);
    also the rings the modes are read from: the strike `ring_to_read` picks first, then
    the others in time order."""
    sr = win.clip.sample_rate
    offset_s = win.start / sr
    times = np.array([imp.time_s for imp in win.impacts]) - offset_s
    levels = np.array([imp.peak_db for imp in win.impacts])
    loudest = int(np.argmax(levels))
    mags = 10 ** ((levels - levels[loudest]) / 20)
    onset = float(times[loudest])
    noise_freqs, reverb_freqs = np.array(specs.NOISE_BAND_FREQS_HZ), np.array(specs.REVERB_BAND_FREQS_HZ)
    whole = whole_clip(win, audio)
    # A file that ends in digital silence was edited: its fade is rendered with the fit (so the
    # decays stay the object's), and the noise is measured before it (the faded tail is no floor).
    first_s = float(times[0]) + offset_s                    # the first strike, in clip time
    fade = edited_fade(win.clip.audio, sr, onset_s=first_s)
    faded = fade is not None and fade[0] > first_s + 0.1     # with a stretch before the fade to measure on
    noise = estimate_noise_bands(whole[:int(fade[0] * sr)] if faded else whole, sr, band_freqs_hz=noise_freqs,
                                 onset_s=first_s, stationary=faded)
    room_t60 = estimate_room_decay(whole, sr, band_freqs_hz=reverb_freqs, onset_s=onset + offset_s)
    init = ClipInit(
        times_s=times, contacts_s=np.full(len(times), CONTACT_INIT_S), magnitudes=mags,
        acceleration=1e-8, noise_gains_db=specs.NOISE_GAIN_DB.clip(noise), noise_ceiling_db=noise_ceiling(noise),
        reverb_gains_db=np.full(len(reverb_freqs), REVERB_INIT_DB), reverb_t60_s=specs.REVERB_T60_S.clip(room_t60),
        fade_s=None if fade is None else (fade[0] - offset_s, fade[1] - offset_s))
    clip_times = times + offset_s
    k = ring_to_read(clip_times, levels, len(win.clip.audio) / sr)
    rings = [Ring(onset_s=float(clip_times[i]), magnitude=float(mags[i]),
                  end_s=float(clip_times[i + 1]) if i + 1 < len(clip_times) else None)
             for i in range(len(clip_times))]
    return init, [rings[k]] + rings[:k] + rings[k + 1:]


def bank_init(audio: np.ndarray, sample_rate: int, rings: list[Ring], n_modes: int) -> tuple[BankInit, float]:
    """Initial modes and contact duration (s) from the ``rings`` of one body's strikes.

    The first ring gives the modes and the contact; while it gave fewer than ``n_modes``,
    each other ring of at least ``_MIN_EXTRA_RING_S`` (the ``_MAX_EXTRA_RINGS`` longest)
    adds the modes it holds that none read so far lies near (`_new_modes`), the most
    energetic (gain^2 x T60) first: strikes share the body's modes, but each excites them
    differently (a longer contact hardly excites high modes). The first ring's modes are
    all kept: a mode read from another ring takes a free place, never one of theirs (gains
    read from a strike whose contact differs from the first's are off by the difference
    of the contacts' spectra). Gains are compensated for the contact's spectrum and each
    strike's magnitude.

    Raises:
        WorkbenchError: no mode stands out of the noise floor in the first ring.
    """
    first, others = rings[0], rings[1:]
    est = estimate_modes(audio, sample_rate, n_modes=n_modes, onset_s=first.onset_s, end_s=first.end_s,
                         max_freq_hz=0.45 * sample_rate)
    if len(est.freqs_hz) == 0:
        raise WorkbenchError("no resonant modes found above the noise floor")
    f, t60, amp = (np.asarray(a, np.float64) for a in (est.freqs_hz, est.t60_s, est.amplitudes))
    contact = estimate_contact_s(np.sort(f), amp[np.argsort(f)], min_s=CONTACT_INIT_S)
    gains = gain_for_amplitude(amp, f, contact, first.magnitude)
    n_first = len(f)
    if n_first < n_modes:
        end_of_clip = len(audio) / sample_rate
        lengths = [(r.end_s if r.end_s is not None else end_of_clip) - r.onset_s for r in others]
        for i in np.argsort(lengths, kind="stable")[::-1][:_MAX_EXTRA_RINGS]:
            if lengths[i] < _MIN_EXTRA_RING_S:
                break                                   # longest first: the rest are shorter
            more = estimate_modes(audio, sample_rate, n_modes=n_modes, onset_s=others[i].onset_s,
                                  end_s=others[i].end_s, max_freq_hz=0.45 * sample_rate)
            m_f, m_t60, m_amp = (np.asarray(a, np.float64) for a in (more.freqs_hz, more.t60_s, more.amplitudes))
            new = _new_modes(f, m_f, m_t60, min(lengths[i], MAX_ANALYSIS_S))
            f, t60 = np.concatenate([f, m_f[new]]), np.concatenate([t60, m_t60[new]])
            gains = np.concatenate([gains, gain_for_amplitude(m_amp[new], m_f[new], contact, others[i].magnitude)])
    added = n_first + np.argsort(-(10.0 ** (gains[n_first:] / 10.0)) * t60[n_first:], kind="stable")
    keep = np.concatenate([np.arange(n_first), added[:n_modes - n_first]]).astype(int)
    keep = keep[np.argsort(f[keep])]
    return BankInit(freqs_hz=f[keep], t60_s=t60[keep], gains_db=gains[keep]), contact


def _new_modes(known_hz: np.ndarray, freqs_hz: np.ndarray, t60_s: np.ndarray, length_s: float) -> np.ndarray:
    """(K,) bool: modes read from a ring of ``length_s`` that none of ``known_hz`` lies near.

    Near: within the ring's resolution (1 / length), half the mode's half-power bandwidth
    (6.908 / (pi T60)), or `_SAME_MODE_FRACTION` of its frequency, whichever is widest: the
    same mode read from two rings differs by less than that.
    """
    if len(freqs_hz) == 0 or len(known_hz) == 0:
        return np.ones(len(freqs_hz), bool)
    tolerance = np.maximum.reduce([np.full(len(freqs_hz), 1.0 / length_s), 0.5 * specs.T60_DECAY / (np.pi * t60_s),
                                   _SAME_MODE_FRACTION * freqs_hz])
    return np.min(np.abs(freqs_hz[:, None] - known_hz[None, :]), axis=1) > tolerance


def random_bank(n_modes: int, *, max_freq_hz: float, rng: np.random.Generator) -> BankInit:
    """DiffImpact-style start: ``n_modes`` modes spread at random over 50 Hz..``max_freq_hz``."""
    f = np.sort(np.exp(rng.uniform(np.log(50.0), np.log(max_freq_hz), n_modes)))
    return BankInit(freqs_hz=f, t60_s=np.exp(rng.uniform(np.log(0.05), np.log(1.0), n_modes)),
                    gains_db=rng.normal(-30.0, 5.0, n_modes))


def split_tool_modes(banks: dict[str, BankInit], labels: list[ClipLabel], n_tool_modes: int,
                     rng: np.random.Generator) -> dict[str, BankInit]:
    """Tool modes: start each tool with the modes its clips share across different objects,
    else with quiet modes spread over the upper spectrum."""
    tools = {}
    for tool in sorted({lab.tool for lab in labels if lab.tool}):
        objects_struck = [lab.object for lab in labels if lab.tool == tool]
        shared = []
        per_object = [banks[o] for o in dict.fromkeys(objects_struck)]
        if len(per_object) >= 2:
            ref = per_object[0]
            for f, t, g in zip(ref.freqs_hz, ref.t60_s, ref.gains_db):
                if all(np.min(np.abs(b.freqs_hz / f - 1)) < 0.005 for b in per_object[1:]):
                    shared.append((f, t, g))
        shared = shared[:n_tool_modes]
        n_fill = n_tool_modes - len(shared)
        loud = max(float(np.max(b.gains_db)) for b in banks.values())
        fill_f = np.geomspace(1500.0, 15000.0, max(n_fill, 1))[:n_fill] * rng.uniform(0.97, 1.03, n_fill)
        freqs = np.concatenate([[s[0] for s in shared], fill_f])
        t60 = np.concatenate([[s[1] for s in shared], np.full(n_fill, 0.05)])
        gains = np.concatenate([[s[2] for s in shared], np.full(n_fill, loud + TOOL_INIT_DB)])
        order = np.argsort(freqs)
        tools[tool] = BankInit(freqs[order], t60[order], gains[order])
    return tools


def encoder_init(win: Window, ci: ClipInit, n_modes: int) -> BankInit | None:
    """The impact encoder's reading of one clip's window: fills ``ci``'s contacts, click, noise,
    room and residual in place (levels re the window's peak, as the fit's target) and returns
    its modes (None when it predicts none)."""
    from ..learned.impact import predict

    clip = win.clip
    c, _, _, _ = predict(clip.audio, clip.sample_rate, onset_s=win.impacts[0].time_s, n_modes=n_modes)
    ci.contacts_s = np.full(len(ci.times_s), c["contact_s"])
    ci.acceleration = c["acceleration"]
    ci.noise_gains_db = specs.NOISE_GAIN_DB.clip(c["noise_db"])
    ci.reverb_t60_s = specs.REVERB_T60_S.clip(c["reverb_t60_s"])
    ci.reverb_gains_db = (specs.REVERB_GAIN_DB.clip(c["reverb_db"]) if c["reverb_on"]
                          else np.full(len(ci.reverb_t60_s), ENCODER_ROOM_OFF_DB))
    if c["residual_on"]:
        ci.residual_gains_db, ci.residual_t60_s = c["residual_db"], c["residual_t60_s"]
    ok = c["freqs_hz"] < MAX_FREQ_FRACTION * clip.sample_rate
    if not ok.any():
        return None
    return BankInit(freqs_hz=c["freqs_hz"][ok], t60_s=c["t60_s"][ok], gains_db=c["gains_db"][ok])


def _clarity(audio: np.ndarray) -> float:
    """Peak over median level: the clip whose strike stands out most seeds a shared object."""
    return float(np.max(np.abs(audio)) / (np.median(np.abs(audio)) + 1e-9))


def initial_params(windows: list[Window], targets: list[np.ndarray], *, labels: list[ClipLabel] | None,
                   shared: bool, settings: FitSettings, rng: np.random.Generator) -> FitParams:
    """The fit's variables at their starting values.

    Args:
        windows: One per clip, all at one sample rate.
        targets: The clips' fitted windows, peak-normalised, each (n_samples,).
        labels: Tool/object label per clip (objects and tools shared by name), or None.
        shared: Without labels: one object for every clip (else one per clip).
        settings: ``n_modes``, ``n_tool_modes`` and ``init`` are used (``"encoder"``: a clip
            whose encoder predicts no mode starts its object from the physics prior).
        rng: Draws the random parts (random modes, tool fill modes).

    Raises:
        WorkbenchError: no modes found in a clip (named).
    """
    clips = [w.clip for w in windows]
    sr = clips[0].sample_rate
    inits = [clip_init(w, t) for w, t in zip(windows, targets)]
    encoded = ([encoder_init(w, ci, settings.n_modes) for w, (ci, _) in zip(windows, inits)]
               if settings.init == "encoder" else None)
    if labels is not None:
        object_names = list(dict.fromkeys(lab.object for lab in labels))
        object_of = [object_names.index(lab.object) for lab in labels]
    elif shared:
        object_names, object_of = ["object"], [0] * len(clips)
    else:
        object_names, object_of = [c.name for c in clips], list(range(len(clips)))
    banks = {}
    for o, name in enumerate(object_names):
        members = [i for i in range(len(clips)) if object_of[i] == o]
        if settings.init == "random":
            banks[name] = random_bank(settings.n_modes, max_freq_hz=MAX_FREQ_FRACTION * sr, rng=rng)
            continue
        best = max(members, key=lambda i: _clarity(clips[i].audio))
        if encoded is not None and encoded[best] is not None:
            banks[name] = encoded[best]
            continue
        try:
            banks[name], contact = bank_init(whole_clip(windows[best], targets[best]), sr, inits[best][1],
                                             settings.n_modes)
        except WorkbenchError as err:
            raise WorkbenchError(f"{clips[best].name}: {err}") from None
        # Gains are referenced to `best`; the other clips' levels go into their impact magnitudes.
        for i in members:
            inits[i][0].contacts_s = np.full(len(inits[i][0].times_s), contact)
    tools = {}
    if labels is not None and any(lab.tool for lab in labels):
        tools = split_tool_modes(banks, labels, settings.n_tool_modes, rng)
    tool_names = list(tools)
    clip_inits = []
    for i, (ci, _) in enumerate(inits):
        ci.object_index = object_of[i]
        ci.tool_index = tool_names.index(labels[i].tool) if tool_names and labels[i].tool else -1
        if settings.init == "random":
            ci.noise_gains_db = np.full_like(ci.noise_gains_db, specs.NOISE_GAIN_DB.default)
            ci.noise_ceiling_db = None                 # no physics prior: the noise is free
            ci.fade_s = None                           # nor the recording's edited end
            ci.reverb_t60_s = np.full_like(ci.reverb_t60_s, specs.REVERB_T60_S.default)
        clip_inits.append(ci)
    return FitParams([banks[n] for n in object_names], [tools[t] for t in tool_names], clip_inits,
                     noise_freqs_hz=specs.NOISE_BAND_FREQS_HZ, reverb_freqs_hz=specs.REVERB_BAND_FREQS_HZ,
                     max_freq_hz=MAX_FREQ_FRACTION * sr, local=settings.init in ("physics", "encoder"),
                     residual_freqs_hz=specs.RESIDUAL_BAND_FREQS_HZ, residual=settings.residual)
