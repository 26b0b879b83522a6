"""Fashion-MNIST (Debian's dataset-fashion-mnist) in its IDX files, made to look like the zoo's
32x32 RGB inputs.

Preprocessing (recorded in every trained sidecar as PREPROCESSING):
  uint8 28x28 grey -> float in [0, 1] -> bilinear resize to 32x32 (align_corners=False)
  -> grey repeated on 3 channels -> (x - 0.2860) / 0.3530 (the training set's mean and std).
"""
import gzip
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

DEFAULT_FOLDER = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530
PREPROCESSING = {
    "dataset": "Fashion-MNIST (dataset-fashion-mnist, IDX files)",
    "input": "uint8 28x28 grey",
    "resize": "bilinear 28x28 -> 32x32 (torch.nn.functional.interpolate, align_corners=False)",
    "channels": "grey repeated on 3 channels",
    "normalise": f"(x / 255 - {MEAN}) / {STD}",
}


def read_idx(path):
    """Returns the IDX file at path (optionally .gz) as a numpy array; raises ValueError on a bad header."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header")
    dims = struct.unpack(">" + "I" * ndim, data[4:header])
    count = int(np.prod(dims)) if dims else 1
    if len(data) - header != count:
        raise ValueError(f"{path}: {len(data) - header} data bytes, the header says {count}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def write_idx(path, array):
    """Writes a uint8 numpy array as an IDX file (gzip when path ends in .gz); used by the tests."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    head = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(head + array.tobytes())


def _find(folder, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{os.path.join(folder, stem)}(.gz): missing (apt-get install dataset-fashion-mnist)")


def preprocess(images_uint8):
    """N x 28 x 28 uint8 -> N x 3 x 32 x 32 float, as PREPROCESSING says."""
    x = torch.from_numpy(np.array(images_uint8, dtype=np.float32)).unsqueeze(1) / 255.0
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
    return ((x - MEAN) / STD).repeat(1, 3, 1, 1).contiguous()


def load_split(folder, train):
    """Returns (images float tensor N x 3 x 32 x 32, labels long tensor N) of one split."""
    prefix = "train" if train else "t10k"
    images = read_idx(_find(folder, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_find(folder, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{folder}: {prefix} images {images.shape} and labels {labels.shape} disagree")
    return preprocess(images), torch.from_numpy(labels.astype(np.int64))
