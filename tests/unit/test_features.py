"""Cached clothing features: computed once, reused, and recomputed when the cache file is bad."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

import helpers.features as features
from test_clothing_data import needs_archive, seed_archive

SIZE = 32  # the smallest size the network accepts: a 1 × 1 trunk, fast enough for a unit test


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEEP_CNNS_DATA", str(root))
        seed_archive(root)
        yield root


@pytest.fixture(scope="module")
def computed(cache):
    return features.clothing_features("validation", SIZE)


@needs_archive
def test_shapes_labels_and_cache_file(cache, computed):
    assert computed.pooled.shape == (341, 1280)
    assert computed.trunk.shape == (341, 1, 1, 192)
    assert np.bincount(computed.labels).tolist() == [32, 14, 49, 24, 49, 29, 26, 25, 12, 81]
    assert features.features_path("validation", SIZE).is_file()


@needs_archive
def test_second_call_reads_the_cache(cache, computed, monkeypatch):
    monkeypatch.setattr(features, "_compute", lambda *a: pytest.fail("recomputed a valid cache"))
    again = features.clothing_features("validation", SIZE)
    np.testing.assert_array_equal(again.pooled, computed.pooled)
    np.testing.assert_array_equal(again.labels, computed.labels)


@needs_archive
@pytest.mark.parametrize("damage", ["truncate", "garbage", "other weights", "wrong shape"])
def test_a_bad_cache_file_is_recomputed_and_replaced(cache, computed, damage, monkeypatch):
    calls = []
    monkeypatch.setattr(features, "_compute", lambda *args: calls.append(args) or computed)  # computed for real above
    path = features.features_path("validation", SIZE)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "garbage":
        path.write_bytes(b"not an npz file")
    else:
        fake = {
            "pooled": computed.pooled,
            "trunk": computed.trunk,
            "labels": computed.labels,
            "weights_sha256": np.str_(features.WEIGHTS_SHA256),
        }
        if damage == "other weights":
            fake["weights_sha256"] = np.str_("0" * 64)
        else:
            fake["pooled"] = computed.pooled[:10]
        with open(path, "wb") as f:
            np.savez(f, **fake)
    again = features.clothing_features("validation", SIZE)
    assert calls == [("validation", SIZE, False)]
    np.testing.assert_array_equal(again.pooled, computed.pooled)
    assert features._read(path, "validation", SIZE) is not None  # the file was replaced by a good one
    assert not list(path.parent.glob("*.partial"))


@needs_archive
@pytest.mark.parametrize("damage", ["float64 features", "labels out of range", "NaN in the trunk"])
def test_a_cache_with_wrong_contents_is_recomputed(cache, computed, damage, monkeypatch):
    calls = []
    monkeypatch.setattr(features, "_compute", lambda *args: calls.append(args) or computed)
    fake = {
        "pooled": computed.pooled,
        "trunk": computed.trunk.copy(),
        "labels": computed.labels.copy(),
        "weights_sha256": np.str_(features.WEIGHTS_SHA256),
    }
    if damage == "float64 features":
        fake["pooled"] = computed.pooled.astype("float64")
    elif damage == "labels out of range":
        fake["labels"][0] = len(features.CLOTHING_CLASSES)
    else:
        fake["trunk"][3] = np.nan
    path = features.features_path("validation", SIZE)
    with open(path, "wb") as f:
        np.savez(f, **fake)
    again = features.clothing_features("validation", SIZE)
    assert calls == [("validation", SIZE, False)]
    np.testing.assert_array_equal(again.pooled, computed.pooled)


@needs_archive
def test_a_header_claiming_terabytes_is_rejected_before_allocating(cache, computed, monkeypatch):
    path = features.features_path("validation", SIZE)
    huge = np.lib.format.header_data_from_array_1_0(computed.pooled)
    huge["shape"] = (2**40, 1280)  # 4 PiB of float32, if anyone believed it
    with open(path, "wb") as f:
        np.savez(
            f,
            pooled=computed.pooled,
            trunk=computed.trunk,
            labels=computed.labels,
            weights_sha256=np.str_(features.WEIGHTS_SHA256),
        )
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, huge)
    members["pooled.npy"] = header.getvalue() + computed.pooled.tobytes()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("read arrays before checking the headers"))
    assert features._read(path, "validation", SIZE) is None


@needs_archive
def test_flipped_features_are_those_of_the_mirrored_photos(cache, computed):
    flipped = features.clothing_features("validation", SIZE, flipped=True)
    assert features.features_path("validation", SIZE, flipped=True).is_file()
    np.testing.assert_array_equal(flipped.labels, computed.labels)
    assert not np.allclose(flipped.pooled, computed.pooled, atol=1e-3)  # mirrored photos, other features
    import keras

    from helpers.data import load_clothing
    from helpers.pretrained import EfficientNetLite0

    base = EfficientNetLite0(include_top=False, input_shape=(SIZE, SIZE, 3), pooling="avg")
    images = next(iter(load_clothing("validation", image_size=(SIZE, SIZE), shuffle=False)))[0].numpy()
    mirrored = keras.ops.convert_to_numpy(base(images[:, :, ::-1, :], training=False))
    np.testing.assert_allclose(flipped.pooled[:32], mirrored, atol=1e-4)


@pytest.mark.parametrize("split, size", [("training", 160), ("train", 150), ("train", 0)])
def test_bad_arguments(split, size):
    with pytest.raises(ValueError):
        features.clothing_features(split, size)
