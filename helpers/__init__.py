"""Plumbing for the book *Deep CNNs, hands-on*.

The chapters teach; this package only fetches data, draws figures and checks
the claims the text makes. Each module can be imported on its own:

- :mod:`helpers.data` — datasets: Fashion-MNIST through Keras, clothing-dataset-small; verify, cache, load.
- :mod:`helpers.downloads` — fetch once, verify, extract archives atomically.
- :mod:`helpers.pretrained` — ImageNet EfficientNet-Lite0 in Keras, offline;
  :mod:`helpers.torch_weights` reads its PyTorch weights file without PyTorch.
- :mod:`helpers.features` — EfficientNet-Lite0 features of the clothing photos, cached (chapters 4–6).
- :mod:`helpers.images` — any image file as RGB, or a clear error (chapter 5's classifier function).
- :mod:`helpers.claims` — the "checked on this run" lines, and the claims policy they follow.
- :mod:`helpers.timing` — interleaved, repeated timings for wall-clock ratios.
- :mod:`helpers.plots` — learning curves, image grids, feature-map grids.
- :mod:`helpers.training_log` — one log line per training epoch.
"""

__version__ = "0.1.0"
