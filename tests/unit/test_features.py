"""Cached clothing features: computed once, reused, and recomputed when the cache file is bad."""

from __future__ import annotations

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
        fake = {"pooled": computed.pooled, "trunk": computed.trunk, "labels": computed.labels,
                "weights_sha256": np.str_(features.WEIGHTS_SHA256)}
        if damage == "other weights":
            fake["weights_sha256"] = np.str_("0" * 64)
        else:
            fake["pooled"] = computed.pooled[:10]
        with open(path, "wb") as f:
            np.savez(f, **fake)
    again = features.clothing_features("validation", SIZE)
    assert calls == [("validation", SIZE)]
    np.testing.assert_array_equal(again.pooled, computed.pooled)
    assert features._read(path, "validation", SIZE) is not None  # the file was replaced by a good one
    assert not list(path.parent.glob("*.partial"))


@pytest.mark.parametrize("split, size", [("training", 160), ("train", 150), ("train", 0)])
def test_bad_arguments(split, size):
    with pytest.raises(ValueError):
        features.clothing_features(split, size)
