"""Encoders that read a sound: a log-mel front end and a small convnet.

The PNP paper uses EfficientNet-B0 (`timm`) on a CQT. Here it is a four-block convnet
on a log-mel spectrogram: `timm` needs torchvision, whose PyPI build does not import
beside the CPU torch this project pins, and a net of ~0.3 M parameters is what trains
to convergence within the 60 CPU-minutes a training run may take on this machine (the
paper's has 4 M, trained on a V100; `bench/results/pnp.md` states the scale). The mel
filter bank is librosa's, computed once per setting.

Example:
    >>> import torch
    >>> front = LogMel(sample_rate=22050)
    >>> net = ConvEncoder(n_outputs=5)
    >>> spec = front(torch.randn(2, 22050))
    >>> tuple(spec.shape), tuple(net(spec).shape), tuple(net.embed(spec).shape)
    ((2, 1, 64, 87), (2, 5), (2, 256))
"""

from __future__ import annotations

import librosa
import torch
from torch import nn


class LogMel(nn.Module):
    """Waveform (batch, n_samples) -> log-mel spectrogram (batch, 1, n_mels, frames).

    Args:
        sample_rate: Hz.
        n_fft, hop_length: STFT size and hop, samples.
        n_mels: Mel bands from ``fmin`` to the Nyquist frequency.
        fmin: Lowest band edge, Hz.
    """

    def __init__(self, sample_rate: int, *, n_fft: int = 1024, hop_length: int = 256, n_mels: int = 64,
                 fmin: float = 30.0):
        super().__init__()
        self.sample_rate, self.n_fft, self.hop_length = int(sample_rate), int(n_fft), int(hop_length)
        mel = librosa.filters.mel(sr=self.sample_rate, n_fft=self.n_fft, n_mels=n_mels, fmin=fmin)
        self.register_buffer("mel", torch.as_tensor(mel, dtype=torch.float32), persistent=False)
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(audio, self.n_fft, self.hop_length, window=self.window, return_complex=True).abs()
        power = torch.matmul(self.mel.to(spec.dtype), spec.square())
        return torch.log(power + 1e-6)[:, None] / 10.0


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.MaxPool2d(2))


class ConvEncoder(nn.Module):
    """Spectrogram (batch, 1, bins, frames) -> (batch, n_outputs); `embed` gives the
    (batch, 2 * width * 8) vector (mean and max over the map) before the head.

    Args:
        n_outputs: Size of the prediction.
        width: Channels of the first block (doubled per block up to ``width * 8``).
        n_blocks: Conv blocks, each halving both axes.
    """

    def __init__(self, n_outputs: int, *, width: int = 16, n_blocks: int = 4):
        super().__init__()
        chans = [1] + [width * 2 ** min(i, 3) for i in range(n_blocks)]
        self.features = nn.Sequential(*(_block(a, b) for a, b in zip(chans, chans[1:])))
        self.head = nn.Linear(chans[-1] * 2, n_outputs)

    def embed(self, spec: torch.Tensor) -> torch.Tensor:
        h = self.features(spec)
        return torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(spec))
