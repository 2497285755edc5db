"""The impact synthesiser: DiffImpact eq. (1) as a small torch module.

    W = [F * (alpha + IR_object [+ IR_tool] [+ IR_residual]) + N] * (delta + IR_room)

read as a signal chain: contact force -> modal banks and residual -> convolve -> add noise
-> reverb (-> the recording's fade-out, when it has one). The residual (Su et al. eq. 5-6, `workbench.functional.residual`) is decaying
band noise driven by F, so it starts at every strike; N is the stationary background.
`ImpactControls` holds the physical values (batched tensors); `ImpactSynth.get_signal`
renders them. Whatever produces controls (a preset, the fitter's unconstrained
variables, dashboard sliders) lives above this module.

The chain is also exposed part by part: `force_spectrum`, `modal_spectrum`,
`residual_spectrum`, `noise_spectrum` and `room_spectrum` return each part's spectrum and `mix` combines
chosen ones, so `workbench.rendering.PartCache` can re-render only the parts an edit
touches through the same code (`get_signal` is these steps in order).

Shape:
    controls with batch size Z -> (Z, n_samples)

Example:
    >>> import torch
    >>> synth = ImpactSynth(sample_rate=16000, n_samples=1600)
    >>> c = ImpactControls(freqs_hz=torch.tensor([[440.0]]), t60_s=torch.tensor([[0.5]]),
    ...     gains_db=torch.tensor([[0.0]]), times_s=torch.tensor([[0.01]]), contacts_s=torch.tensor([[5e-4]]),
    ...     magnitudes=torch.tensor([[1.0]]), acceleration=torch.tensor([0.0]), noise_freqs_hz=(1000.0,),
    ...     noise_gains_db=torch.tensor([[-160.0]]), reverb_freqs_hz=(1000.0,),
    ...     reverb_gains_db=torch.tensor([[-80.0]]), reverb_t60_s=torch.tensor([[0.1]]), reverb_enabled=False)
    >>> y = synth(c)
    >>> tuple(y.shape), bool(y[0, :100].abs().max() < 1e-4), bool(y.abs().max() > 0.5)
    ((1, 1600), True, True)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import torch

from .errors import WorkbenchError
from .functional.contact import contact_force
from .functional.modal import modal_ir
from .functional.noise import noise_spectrum
from .functional.residual import RESIDUAL_SEED, residual_ir
from .functional.reverb import reverb_ir
from .functional.spectral import fast_fft_length, irfft, rfft


#: Fade-out times of a row without a fade (s): far beyond any sound.
NO_FADE_S = 1e9

#: A part's spectrum, a function that makes it (when the chain reaches it), or None.
Part = Union[torch.Tensor, Callable[[], Optional[torch.Tensor]], None]


def _made(part: Part) -> torch.Tensor | None:
    return part() if callable(part) else part


@dataclass(frozen=True)
class Parts:
    """Which parts of the model to render (for separated sources)."""

    object: bool = True
    tool: bool = True
    acceleration: bool = True
    noise: bool = True
    reverb: bool = True
    residual: bool = True

    NAMES = ("all", "object", "tool", "residual", "dry", "clean")

    @classmethod
    def named(cls, name: str) -> "Parts":
        """``all``; ``object`` / ``tool`` / ``residual`` (that part alone, dry, no noise);
        ``dry`` (everything but the room); ``clean`` (everything but the noise)."""
        alone = dict(object=False, tool=False, acceleration=False, noise=False, reverb=False, residual=False)
        table = {
            "all": cls(),
            "object": cls(**{**alone, "object": True}),
            "tool": cls(**{**alone, "tool": True}),
            "residual": cls(**{**alone, "residual": True}),
            "dry": cls(reverb=False),
            "clean": cls(noise=False),
        }
        if name not in table:
            raise WorkbenchError(f"part: unknown part {name!r}; choose one of {', '.join(cls.NAMES)}")
        return table[name]


@dataclass
class ImpactControls:
    """Physical parameters of a batch of impact sounds (all tensors share dtype and device).

    Shapes: ``batch`` leading; K object modes, Kt tool modes, M impacts, Bn noise bands,
    Be reverb bands, Br residual bands. Padding modes/impacts are silent with gain -inf dB /
    magnitude 0. The residual fields are optional (None or ``residual_enabled=False``:
    no residual, the sound of the model without it).
    """

    freqs_hz: torch.Tensor            # (batch, K)
    t60_s: torch.Tensor               # (batch, K)
    gains_db: torch.Tensor            # (batch, K)
    times_s: torch.Tensor             # (batch, M)
    contacts_s: torch.Tensor          # (batch, M)
    magnitudes: torch.Tensor          # (batch, M)
    acceleration: torch.Tensor        # (batch,)
    noise_freqs_hz: tuple[float, ...]
    noise_gains_db: torch.Tensor      # (batch, Bn)
    reverb_freqs_hz: tuple[float, ...]
    reverb_gains_db: torch.Tensor     # (batch, Be)
    reverb_t60_s: torch.Tensor        # (batch, Be)
    tool_freqs_hz: torch.Tensor | None = None   # (batch, Kt)
    tool_t60_s: torch.Tensor | None = None
    tool_gains_db: torch.Tensor | None = None
    reverb_enabled: bool = True
    residual_freqs_hz: tuple[float, ...] = ()
    residual_gains_db: torch.Tensor | None = None    # (batch, Br)
    residual_t60_s: torch.Tensor | None = None       # (batch, Br)
    residual_enabled: bool = True
    fade_start_s: torch.Tensor | None = None         # (batch,) the recording's fade-out (NO_FADE_S: none)
    fade_end_s: torch.Tensor | None = None           # (batch,)

    @property
    def has_residual(self) -> bool:
        """Whether the residual is rendered (enabled, with bands)."""
        return bool(self.residual_enabled and self.residual_freqs_hz and self.residual_gains_db is not None)

    @property
    def batch_size(self) -> int:
        return self.freqs_hz.shape[0]

    def to(self, *args, **kwargs) -> "ImpactControls":
        """Move/cast every tensor, like ``torch.Tensor.to``."""
        return dataclasses.replace(self, **{
            f.name: getattr(self, f.name).to(*args, **kwargs)
            for f in dataclasses.fields(self) if isinstance(getattr(self, f.name), torch.Tensor)})


class ImpactSynth(torch.nn.Module):
    """Render impact sounds from physical controls.

    Args:
        sample_rate: Sample rate in Hz.
        n_samples: Length of the rendered sound.
        noise_seed, reverb_seed, residual_seed: Seeds of the fixed noise sources (the
            render is deterministic for given controls; the three are independent).

    Shape:
        controls with batch size Z -> (Z, n_samples)
    """

    def __init__(self, *, sample_rate: float, n_samples: int, noise_seed: int = 0, reverb_seed: int = 1,
                 residual_seed: int = RESIDUAL_SEED):
        super().__init__()
        self.sample_rate = float(sample_rate)
        self.n_samples = int(n_samples)
        self.noise_seed = noise_seed
        self.reverb_seed = reverb_seed
        self.residual_seed = residual_seed
        self.n_fft = fast_fft_length(2 * self.n_samples)

    def contact_force(self, c: ImpactControls) -> torch.Tensor:
        """(batch, n_samples) contact force F(t)."""
        return contact_force(c.times_s, c.contacts_s, c.magnitudes,
                             n_samples=self.n_samples, sample_rate=self.sample_rate)

    def modal_ir(self, freqs_hz, t60_s, gains_db, *, scale: float = 1.0) -> torch.Tensor:
        """(batch, n_samples) modal impulse response (times ``scale``)."""
        return modal_ir(freqs_hz, t60_s, gains_db, n_samples=self.n_samples, sample_rate=self.sample_rate,
                        scale=scale)

    # -- the parts, each as a spectrum of length n_fft // 2 + 1 ---------------------------
    def force_spectrum(self, c: ImpactControls) -> torch.Tensor:
        """(batch, n_fft // 2 + 1) spectrum of the contact force F."""
        return rfft(self.contact_force(c), self.n_fft)

    def modal_spectrum(self, freqs_hz, t60_s, gains_db) -> torch.Tensor:
        """(batch, n_fft // 2 + 1) response of one modal bank per unit impulse of force
        (the object's or the tool's: ``c.freqs_hz, c.t60_s, c.gains_db`` or ``c.tool_*``)."""
        return rfft(self.modal_ir(freqs_hz, t60_s, gains_db, scale=1 / self.sample_rate), self.n_fft)

    def residual_ir(self, c: ImpactControls) -> torch.Tensor | None:
        """(batch, n_samples) residual response per unit impulse of force, in the convention
        of ``modal_ir(..., scale=1 / sample_rate)`` (None when the controls have no residual)."""
        if not c.has_residual:
            return None
        return residual_ir(c.residual_freqs_hz, c.residual_gains_db, c.residual_t60_s, n_samples=self.n_samples,
                           sample_rate=self.sample_rate, seed=self.residual_seed)

    def residual_spectrum(self, c: ImpactControls) -> torch.Tensor | None:
        """(batch, n_fft // 2 + 1) spectrum of `residual_ir` (None without a residual); it
        goes into ``mix``'s ``modes`` beside the modal banks."""
        ir = self.residual_ir(c)
        return None if ir is None else rfft(ir, self.n_fft)

    def noise_spectrum(self, c: ImpactControls) -> torch.Tensor:
        """(batch, n_fft // 2 + 1) spectrum of the background noise N."""
        return noise_spectrum(c.noise_freqs_hz, c.noise_gains_db, n_fft=self.n_fft,
                              sample_rate=self.sample_rate, seed=self.noise_seed)

    def room_spectrum(self, c: ImpactControls) -> torch.Tensor | None:
        """(batch, n_fft // 2 + 1) spectrum of the room IR R (None when reverb is off)."""
        if not c.reverb_enabled:
            return None
        room = reverb_ir(c.reverb_freqs_hz, c.reverb_gains_db, c.reverb_t60_s,
                         n_samples=self.n_samples, sample_rate=self.sample_rate, seed=self.reverb_seed)
        return rfft(room, self.n_fft)

    def fade_gain(self, start_s: torch.Tensor, end_s: torch.Tensor) -> torch.Tensor:
        """(batch, n_samples) gain of the recording's fade-out: 1 until ``start_s``, linear
        to 0 at ``end_s`` (a cut when they are equal), 0 after; ``start_s``, ``end_s``: (batch,) s."""
        t = torch.arange(self.n_samples, dtype=start_s.dtype, device=start_s.device) / self.sample_rate
        length = (end_s - start_s).clamp_min(1.0 / self.sample_rate)[:, None]
        return ((end_s[:, None] - t) / length).clamp(0.0, 1.0)

    def mix(self, *, force: Part = None, modes: Sequence[torch.Tensor] = (),
            acceleration: torch.Tensor | None = None, noise: Part = None, room: Part = None,
            fade: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor | None:
        """The signal chain over part spectra: ``[F (alpha + sum(modes)) + N] (1 + R)``, back in
        time, times the recording's fade-out.

        ``force``, ``noise`` and ``room`` may also be zero-argument functions that make the
        spectrum (or None): each is then made only when the chain reaches it, so no more
        than one part's spectrum is held beside the running sum (peak memory as in one
        straight pass).

        Args:
            force: Spectrum of F (needed when ``modes`` or ``acceleration`` are given).
            modes: Spectra of the responses to F to include (object, tool, residual).
            acceleration: (batch,) alpha, the click of the contact itself (None: left out).
            noise: Spectrum of N (None: left out).
            room: Spectrum of R (None: dry).
            fade: (start_s, end_s), each (batch,), of the fade-out (None: none).

        Returns:
            (batch, n_samples) signal, or None when no part is given.
        """
        response = None
        for m in modes:
            response = m if response is None else response + m
        if acceleration is not None:
            alpha = acceleration[:, None]
            response = alpha if response is None else response + alpha
        spectrum = None if response is None else _made(force) * response
        noise = _made(noise)
        if noise is not None:
            spectrum = noise if spectrum is None else spectrum + noise
        if spectrum is None:
            return None
        room = _made(room)
        if room is not None:
            spectrum = spectrum * (1.0 + room)
        y = irfft(spectrum, self.n_fft)[:, :self.n_samples]
        return y if fade is None else y * self.fade_gain(*fade)

    def get_signal(self, c: ImpactControls, parts: Parts = Parts()) -> torch.Tensor:
        """Render the sound of ``c``; ``parts`` selects separated sources."""
        sr = self.sample_rate
        modal = None                       # object + tool modes (+ residual) share the force: one transform
        if parts.object:
            modal = self.modal_ir(c.freqs_hz, c.t60_s, c.gains_db, scale=1 / sr)
        if parts.tool and c.tool_freqs_hz is not None:
            tool = self.modal_ir(c.tool_freqs_hz, c.tool_t60_s, c.tool_gains_db, scale=1 / sr)
            modal = tool if modal is None else modal + tool
        residual = self.residual_ir(c) if parts.residual else None     # driven by F too: same transform
        if residual is not None:
            modal = residual if modal is None else modal + residual
        modes = () if modal is None else (rfft(modal, self.n_fft),)   # zero-padded to n_fft >= 2n
        acceleration = c.acceleration if parts.acceleration else None
        y = self.mix(force=lambda: self.force_spectrum(c), modes=modes, acceleration=acceleration,
                     noise=(lambda: self.noise_spectrum(c)) if parts.noise else None,
                     room=(lambda: self.room_spectrum(c)) if parts.reverb else None,
                     fade=None if c.fade_start_s is None else (c.fade_start_s, c.fade_end_s))
        return c.freqs_hz.new_zeros(c.batch_size, self.n_samples) if y is None else y

    def forward(self, controls: ImpactControls, parts: Parts = Parts()) -> torch.Tensor:
        return self.get_signal(controls, parts)
