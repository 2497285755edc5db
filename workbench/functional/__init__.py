"""Pure tensor functions of the impact model, in physical units.

Modules: `scaling` (bounded maps, dB), `modal` (modal impulse response), `contact`
(Hertz contact force), `bands` (complementary band weights, fixed white noise),
`noise` (band-shaped background noise), `reverb` (decaying band-noise room IR),
`spectral` (packed real FFTs for convolution, STFT magnitudes), `ftm` (the FTM
rectangular drum of the PNP paper: its modes and renders).
"""
