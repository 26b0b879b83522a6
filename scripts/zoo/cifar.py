"""CIFAR-10 in its standard python-pickle layout (data_batch_1..5, test_batch), read from a folder."""
import os
import pickle

import numpy as np
import torch


def load_split(folder, train):
    """Returns (images float tensor N x 3 x 32 x 32 in [0,1], labels long tensor N)."""
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    xs, ys = [], []
    for n in names:
        path = os.path.join(folder, n)
        if not os.path.exists(path):
            if train and xs:
                continue  # fewer training batches is fine (small local copies)
            raise FileNotFoundError(f"{path}: missing (expected CIFAR-10's python version: data_batch_1..5, test_batch)")
        with open(path, "rb") as f:
            d = pickle.load(f, encoding="bytes")
        xs.append(np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(d[b"labels"], dtype=np.int64))
    x = torch.from_numpy(np.concatenate(xs)).float() / 255.0
    return x, torch.from_numpy(np.concatenate(ys))


def write_split(folder, name, images_uint8, labels):
    """Writes one batch file in CIFAR-10's format (used by the tests to make a synthetic set)."""
    os.makedirs(folder, exist_ok=True)
    d = {b"data": images_uint8.reshape(len(labels), -1), b"labels": list(int(y) for y in labels),
         b"batch_label": name.encode()}
    with open(os.path.join(folder, name), "wb") as f:
        pickle.dump(d, f)
