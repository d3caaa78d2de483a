"""EfficientNet-Lite0 with ImageNet weights: predictions, shapes, names, cache, strictness."""

from __future__ import annotations

import hashlib
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from fault_folders import read_only, small_disk  # noqa: E402
from legacy_torch_writer import write_legacy_state_dict  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data as samples  # noqa: E402

import helpers.pretrained as pretrained  # noqa: E402
from helpers.torch_weights import UnsafeOrCorruptWeights, read_legacy_state_dict  # noqa: E402

DOMESTIC_CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ALL_CATS = range(281, 294)  # … and cougar, lynx, leopard, snow leopard, jaguar, lion, tiger, cheetah
ESPRESSO = 967


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """All tests share one weights cache of their own, never the reader's data/ folder."""
    monkeypatch.setenv("DEEP_CNNS_DATA", str(tmp_path_factory.getbasetemp() / "cache"))


def photo(name: str, size: int) -> np.ndarray:
    image = Image.fromarray(getattr(samples, name)()).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32)[np.newaxis]


@pytest.fixture(scope="module", params=[224, 160])
def classifier(request):
    size = request.param
    return size, pretrained.EfficientNetLite0(input_shape=(size, size, 3))


def test_chelsea_is_an_egyptian_cat_and_the_top_classes_are_cats(classifier):
    size, model = classifier
    probabilities = model.predict(photo("chelsea", size), verbose=0)[0]
    ranked = np.argsort(probabilities)[::-1]
    assert ranked[0] == 285
    assert all(i in ALL_CATS for i in ranked[:4]), ranked[:5]
    assert probabilities[list(ALL_CATS)].sum() > 0.95
    assert pretrained.decode_predictions(probabilities[np.newaxis], top=1)[0][0][:2] == ("n02124075", "Egyptian cat")


def test_coffee_is_espresso(classifier):
    size, model = classifier
    probabilities = model.predict(photo("coffee", size), verbose=0)[0]
    assert int(np.argmax(probabilities)) == ESPRESSO
    assert pretrained.decode_predictions(probabilities[np.newaxis])[0][0][1] == "espresso"


def test_decode_predictions_shape_and_order():
    probabilities = np.zeros((2, 1000), dtype=np.float32)
    probabilities[0, [1, 2, 3]] = [0.2, 0.5, 0.3]
    probabilities[1, 967] = 1.0
    decoded = pretrained.decode_predictions(probabilities, top=3)
    assert [name for _, name, _ in decoded[0]] == ["great white shark", "tiger shark", "goldfish"]
    assert [round(p, 2) for _, _, p in decoded[0]] == [0.5, 0.3, 0.2]
    assert decoded[1][0][1] == "espresso"
    with pytest.raises(ValueError, match="1000"):
        pretrained.decode_predictions(np.zeros((1, 10)))


@pytest.mark.parametrize("size,grid", [(160, 5), (224, 7)])
def test_feature_extractor_shapes(size, grid):
    base = pretrained.EfficientNetLite0(include_top=False, input_shape=(size, size, 3))
    assert base.output.shape == (None, grid, grid, 1280)
    assert base.count_params() == 3_413_024


@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_pooling_options(pooling):
    base = pretrained.EfficientNetLite0(include_top=False, input_shape=(160, 160, 3), pooling=pooling, weights=None)
    assert base.output.shape == (None, 1280)
    with pytest.raises(ValueError, match="pooling"):
        pretrained.EfficientNetLite0(include_top=False, pooling="mean", weights=None)


def test_exact_parameter_count_and_layer_names():
    model = pretrained.EfficientNetLite0(weights=None)
    assert model.count_params() == 4_694_024  # incl. 42,016 batch-norm moving statistics
    names = {layer.name for layer in model.layers}
    assert len(pretrained.BLOCK_NAMES) == 16
    assert pretrained.BLOCK_NAMES[0] == "block1a" and pretrained.BLOCK_NAMES[-1] == "block7a"
    for block in pretrained.BLOCK_NAMES:
        assert {f"{block}_dwconv", f"{block}_project_bn"} <= names
    assert {"stem_conv", "top_conv", "top_activation", "avg_pool", "predictions"} <= names


def test_preprocess_input_matches_the_built_in_scaling():
    x = photo("coffee", 160)
    inside = pretrained.EfficientNetLite0(input_shape=(160, 160, 3))
    outside = pretrained.EfficientNetLite0(input_shape=(160, 160, 3), include_preprocessing=False)
    np.testing.assert_allclose(
        inside.predict(x, verbose=0), outside.predict(pretrained.preprocess_input(x), verbose=0), atol=1e-6
    )


def test_keras_round_trip_gives_identical_outputs(tmp_path):
    model = pretrained.EfficientNetLite0(input_shape=(160, 160, 3))
    x = photo("chelsea", 160)
    path = tmp_path / "lite0.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), reloaded.predict(x, verbose=0))


def test_weights_are_cached_and_a_damaged_cache_is_rebuilt(monkeypatch, tmp_path):
    monkeypatch.setenv("DEEP_CNNS_DATA", str(tmp_path))
    first = pretrained.EfficientNetLite0(include_top=False, input_shape=(160, 160, 3))
    cached = tmp_path / "weights" / "efficientnet_lite0_notop.npz"
    assert cached.is_file()
    cached.write_bytes(b"not a weights file")
    again = pretrained.EfficientNetLite0(include_top=False, input_shape=(160, 160, 3))
    x = photo("coffee", 160)
    np.testing.assert_array_equal(first.predict(x, verbose=0), again.predict(x, verbose=0))
    assert cached.stat().st_size > 1_000_000


def test_a_source_file_with_the_wrong_checksum_is_refused(monkeypatch, tmp_path):
    tampered = tmp_path / "tampered.pth"
    raw = bytearray(pretrained.source_weights_path().read_bytes())
    raw[-1] ^= 0xFF
    tampered.write_bytes(bytes(raw))
    monkeypatch.setattr(pretrained, "source_weights_path", lambda: tampered)
    monkeypatch.setenv("DEEP_CNNS_DATA", str(tmp_path / "empty-cache"))
    with pytest.raises(UnsafeOrCorruptWeights, match="sha256"):
        pretrained.EfficientNetLite0(include_top=False)


@pytest.fixture(scope="module")
def real_state():
    return read_legacy_state_dict(pretrained.source_weights_path())


def _convert_file(tmp_path, state):
    path = tmp_path / "edited.pth"
    write_legacy_state_dict(path, state)
    model = pretrained.EfficientNetLite0(weights=None)
    pretrained.convert_torch_weights(model, read_legacy_state_dict(path))


def test_a_file_with_an_extra_tensor_is_an_error(tmp_path, real_state):
    state = dict(real_state, **{"_extra.weight": np.zeros(3, dtype=np.float32)})
    with pytest.raises(UnsafeOrCorruptWeights, match="does not use: \\['_extra.weight'\\]"):
        _convert_file(tmp_path, state)


def test_a_file_with_a_missing_tensor_is_an_error(tmp_path, real_state):
    state = {k: v for k, v in real_state.items() if k != "_blocks.7._bn1.running_var"}
    with pytest.raises(UnsafeOrCorruptWeights, match="no tensor '_blocks.7._bn1.running_var'"):
        _convert_file(tmp_path, state)


def test_a_tensor_of_the_wrong_shape_is_an_error(tmp_path, real_state):
    state = dict(real_state)
    state["_conv_head.weight"] = state["_conv_head.weight"][:640]
    with pytest.raises(UnsafeOrCorruptWeights, match="_conv_head.weight' has shape"):
        _convert_file(tmp_path, state)


@pytest.mark.parametrize("shape", [(31, 224, 3), (224, 31, 3), (8, 8, 3), (1, 1, 3), (0, 0, 3), (None, 16, 3)])
def test_images_under_32_pixels_are_refused(shape):
    with pytest.raises(ValueError, match="at least 32×32 pixels.*downsamples by 32"):
        pretrained.EfficientNetLite0(include_top=False, weights=None, input_shape=shape)


def test_32_pixels_and_free_sides_are_accepted():
    smallest = pretrained.EfficientNetLite0(include_top=False, weights=None, input_shape=(32, 32, 3))
    assert smallest.output.shape == (None, 1, 1, 1280)
    free = pretrained.EfficientNetLite0(include_top=False, weights=None, input_shape=(None, None, 3))
    assert free.output.shape == (None, None, None, 1280)


def test_a_cache_converted_from_other_weights_is_rebuilt(monkeypatch, tmp_path, real_state):
    other = dict(real_state, **{"_conv_head.weight": real_state["_conv_head.weight"] * 2})
    other_file = tmp_path / "other.pth"
    write_legacy_state_dict(other_file, other)
    x = photo("coffee", 160)
    genuine = pretrained.EfficientNetLite0(include_top=False, input_shape=(160, 160, 3)).predict(x, verbose=0)
    monkeypatch.setenv("DEEP_CNNS_DATA", str(tmp_path / "cache"))
    with monkeypatch.context() as patch:  # a cache made from another, equally valid weights file
        patch.setattr(pretrained, "source_weights_path", lambda: other_file)
        patch.setattr(pretrained, "WEIGHTS_SHA256", hashlib.sha256(other_file.read_bytes()).hexdigest())
        model = pretrained.EfficientNetLite0(include_top=False, input_shape=(160, 160, 3))
        assert not np.allclose(model.predict(x, verbose=0), genuine)
    rebuilt = pretrained.EfficientNetLite0(include_top=False, input_shape=(160, 160, 3))
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), genuine)


def _cache_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "could not be cached" in str(w.message)]


def test_a_read_only_cache_folder_gives_a_working_model_and_one_warning(monkeypatch, tmp_path):
    folder = tmp_path / "read-only-cache"
    folder.mkdir()
    monkeypatch.setenv("DEEP_CNNS_DATA", str(folder))
    with read_only(folder), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = pretrained.EfficientNetLite0(input_shape=(160, 160, 3))
    [message] = _cache_warnings(caught)
    assert str(folder / "weights") in message and "\n" not in message
    assert next(w.filename for w in caught if "could not be cached" in str(w.message)) == __file__
    assert int(np.argmax(model.predict(photo("coffee", 160), verbose=0))) == ESPRESSO


def test_a_full_disk_leaves_nothing_behind_and_prints_no_traceback(monkeypatch, tmp_path, capfd):
    with small_disk(tmp_path / "disk", "1m") as disk:
        monkeypatch.setenv("DEEP_CNNS_DATA", str(disk))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = pretrained.EfficientNetLite0(input_shape=(160, 160, 3))
        assert [p.name for p in (disk / "weights").iterdir()] == []
    [message] = _cache_warnings(caught)
    assert "No space left on device" in message
    assert int(np.argmax(model.predict(photo("coffee", 160), verbose=0))) == ESPRESSO
    stderr = capfd.readouterr().err
    assert "Traceback" not in stderr and "HDF5" not in stderr
