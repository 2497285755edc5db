"""Learned sound matching (issue 11): networks that read a sound and return physical
parameters in one pass, and the PNP loss that trains them.

- `nets`: the log-mel front end and the convnet encoder shared by every model here.
- `impact`, `impact_data`, `impact_train`: the impact encoder (a recording in, a preset of
  our impact model out; `encode`, `embed`), its data recipe and training
  (`workbench train-encoder`; weights in ``workbench/data/impact_encoder.pt``).
- `pnp`: the PNP loss (M = JᵀJ by forward mode, damped form, adaptive λ), the P-loss, and
  the spectral loss on the rendered prediction.
- `drum`, `drum_train`: the PNP paper's drum experiment (data recipe, cached metrics,
  encoder; training and evaluation; `bench/pnp.py`).
"""
