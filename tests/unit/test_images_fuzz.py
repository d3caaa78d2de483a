"""Seeded mutation fuzzing of read_rgb: a damaged image gives an RGB array or UnreadableImage, nothing else.

Small valid images of every common format are written by Pillow here (no
binary blobs in the repository), then damaged thousands of times (bits
flipped, bytes overwritten, cut short, spliced with another file, bytes
inserted or deleted, a piece repeated).  Every case must return an
``(h, w, 3)`` uint8 array or raise :class:`UnreadableImage`.

The loop runs in a child process, so that a crash inside a native decoder
fails this test instead of ending pytest.  A case that runs past
:data:`CASE_LIMIT_S` is ended by an alarm signal, even inside C code, and
``faulthandler`` prints where it (or a crash) was; an address-space limit
turns runaway allocation into a MemoryError, which read_rgb does not
relabel, so it counts as a failure.  Every case is reproducible from
:data:`SEED` and its number N: ``python tests/unit/test_images_fuzz.py
FOLDER N N+1`` runs it again, and a failing case's bytes stay in
``FOLDER/case-N``.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

SEED = 12
CASES = 5000
CASE_LIMIT_S = 60.0  # a hang guard: most cases take a millisecond, the slowest about a second on a busy machine
ADDRESS_SPACE = 3 << 30  # bytes; the largest image Pillow accepts needs under half of this (WebP: 1.4 GB)
MAX_SIDE = 12  # half the cases exercise read_rgb's reduced decode
REPOSITORY = Path(__file__).resolve().parents[2]


def corpus() -> dict[str, bytes]:
    """Small valid images, one or more per format and colour mode, as file bytes."""
    import numpy as np
    from PIL import Image, features

    rng = np.random.default_rng(SEED)
    ramp = np.linspace(0, 255, 24 * 16, dtype=np.float64).reshape(16, 24)
    rgb = Image.fromarray(np.stack([ramp, ramp[::-1], rng.uniform(0, 255, (16, 24))], axis=2).astype(np.uint8))
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray(ramp.astype(np.uint8).T.copy()).resize(rgb.size))
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    exif = Image.Exif()
    exif[0x0112] = 6
    images = {
        "jpeg": (rgb, "JPEG", {"quality": 90}),
        "jpeg-progressive-exif": (rgb, "JPEG", {"progressive": True, "exif": exif}),
        "jpeg-cmyk": (rgb.convert("CMYK"), "JPEG", {}),
        "png-rgb": (rgb, "PNG", {}),
        "png-rgba": (rgba, "PNG", {}),
        "png-palette-transparent": (palette, "PNG", {"transparency": 0}),
        "png-16bit": (Image.fromarray((ramp * 257).astype(np.uint16)), "PNG", {}),
        "gif-animated": (palette, "GIF", {"save_all": True, "append_images": [rgb.convert("P")], "duration": 50}),
        "webp-lossy": (rgb, "WEBP", {"quality": 80}),
        "webp-lossless-alpha": (rgba, "WEBP", {"lossless": True}),
        "tiff-rgb": (rgb, "TIFF", {}),
        "tiff-lzw": (rgb, "TIFF", {"compression": "tiff_lzw"}),
        "tiff-float": (Image.fromarray((ramp / 255).astype(np.float32)), "TIFF", {}),
        "tiff-int32": (Image.fromarray((ramp * 100).astype(np.int32)), "TIFF", {}),
        "bmp-rgb": (rgb, "BMP", {}),
        "bmp-palette": (palette, "BMP", {}),
    }
    if features.check("avif"):
        images["avif"] = (rgb, "AVIF", {"quality": 60, "speed": 10})
    files = {}
    for name, (image, fmt, options) in images.items():
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        files[name] = buffer.getvalue()
    return files


def mutate(data: bytes, rng: random.Random, donors: list[bytes]) -> tuple[str, bytes]:
    """``data`` damaged by one to three random edits, and their names."""
    names = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        edit = rng.choice(EDITS)
        data = edit(bytearray(data), rng, donors) or bytes(1)
        names.append(edit.__name__)
    return "+".join(names), bytes(data)


def _position(data: bytearray, rng: random.Random) -> int:
    """A random position, half the time within the first 64 bytes, where headers keep sizes and modes."""
    end = min(len(data), 64) if rng.random() < 0.5 else len(data)
    return rng.randrange(max(1, end))


def flip_bits(data, rng, donors):
    for _ in range(rng.randint(1, 4)):
        if data:
            data[_position(data, rng)] ^= 1 << rng.randrange(8)
    return data


def set_bytes(data, rng, donors):
    for _ in range(rng.randint(1, 4)):
        if data:
            data[_position(data, rng)] = rng.choice((0x00, 0xFF, 0x7F, 0x80, 0x01, rng.randrange(256)))
    return data


def truncate(data, rng, donors):
    return data[: rng.randrange(len(data) + 1)]


def splice(data, rng, donors):
    donor = rng.choice(donors)
    return data[: rng.randrange(len(data) + 1)] + donor[rng.randrange(len(donor) + 1) :]


def insert(data, rng, donors):
    at = _position(data, rng)
    return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + data[at:]


def delete(data, rng, donors):
    at = _position(data, rng)
    return data[:at] + data[at + rng.randint(1, 16) :]


def repeat(data, rng, donors):
    at = _position(data, rng)
    piece = data[at : at + rng.randint(1, 64)]
    return data[:at] + piece * rng.randint(2, 8) + data[at:]


EDITS = (flip_bits, set_bytes, truncate, splice, insert, delete, repeat)


def check_case(path: Path, max_side: int | None) -> str:
    """The outcome of one read: "image" or the first words of the UnreadableImage; anything else raises."""
    import numpy as np

    from helpers.images import UnreadableImage, read_rgb

    try:
        rgb = read_rgb(path, max_side=max_side)
    except UnreadableImage as err:
        return "UnreadableImage: " + " ".join(str(err).removeprefix(str(path)).split()[:3])
    bound = max_side or max(rgb.shape[:2])
    if not (
        isinstance(rgb, np.ndarray)
        and rgb.dtype == np.uint8
        and rgb.ndim == 3
        and rgb.shape[2] == 3
        and 0 < max(rgb.shape[:2]) <= bound
    ):
        raise AssertionError(f"not an (h, w, 3) uint8 array within {max_side}: {type(rgb)} {getattr(rgb, 'shape', '')}")
    return "image"


def run_cases(folder: Path, cases: range) -> dict:
    """Fuzz read_rgb over ``cases``; the summary lists every case that did not end as it should."""
    import faulthandler
    import resource
    import signal
    import traceback
    import warnings

    warnings.simplefilter("ignore")  # Pillow warns about damaged metadata; the outcome is what is checked
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    faulthandler.enable()  # a crash prints where it happened
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # a case past its time limit ends the process, even inside C,
    faulthandler.register(signal.SIGALRM, chain=True)  # after printing where it was
    seeds = corpus()
    donors = list(seeds.values())
    outcomes, failures, durations = Counter(), [], []
    started = time.perf_counter()
    for number in cases:
        rng = random.Random(f"{SEED}:{number}")
        source = rng.choice(sorted(seeds))
        edits, data = mutate(seeds[source], rng, donors)
        max_side = rng.choice((None, MAX_SIDE))
        path = folder / f"case-{number}"  # a new file each time: rewriting one file makes ext4 flush it
        path.write_bytes(data)
        signal.setitimer(signal.ITIMER_REAL, CASE_LIMIT_S)
        case_started = time.perf_counter()
        try:
            outcomes[check_case(path, max_side)] += 1
        except Exception as err:  # noqa: BLE001 — every escape is a finding, MemoryError included
            failures.append(
                {
                    "case": number,
                    "file": str(path),
                    "source": source,
                    "edits": edits,
                    "max_side": max_side,
                    "error": f"{type(err).__name__}: {err}",
                    "where": traceback.format_exception(err)[-2].strip(),
                }
            )
        else:
            path.unlink()  # failing cases stay, to be read again by hand
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            durations.append((round(time.perf_counter() - case_started, 3), number, source, edits))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cases": len(cases),
        "seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "slowest": sorted(durations)[-3:],
        "formats": len(seeds),
        "avif": "avif" in seeds,
        "failures": failures[:20],
        "failed": len(failures),
        "outcomes": dict(outcomes.most_common()),
        "peak_rss_mb": usage.ru_maxrss // 1024,
    }


def test_damaged_images_give_an_array_or_unreadable_image(tmp_path):
    result = subprocess.run(
        [sys.executable, __file__, str(tmp_path), "0", str(CASES)],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")])),
        },
    )
    assert result.returncode == 0, (
        f"the fuzzing child ended with status {result.returncode} (a crash or a case over {CASE_LIMIT_S} s); "
        f"the case that ended it is the last case-N file in {tmp_path}\n{result.stderr[-4000:]}"
    )
    summary = json.loads(result.stdout.splitlines()[-1])
    print(json.dumps(summary, indent=1))
    assert summary["failed"] == 0, json.dumps(summary["failures"], indent=1)
    assert summary["cases"] == CASES
    assert (
        summary["outcomes"].get("image", 0) > CASES // 20
    )  # the edits leave many files readable: the fuzz reaches decoding


def main(argv: list[str]) -> None:
    """Child entry point: FOLDER START STOP runs cases START to STOP - 1 and prints the summary as one JSON line."""
    folder, start, stop = Path(argv[0]), int(argv[1]), int(argv[2])
    print(json.dumps(run_cases(folder, range(start, stop))))


if __name__ == "__main__":
    main(sys.argv[1:])
