"""Prepares scikit-learn's bundled digits data set (8x8 images, 10 classes) for training.

Writes train/validation splits, scaled to [0, 1], as one .npz file in the shared directory.
Usage: python3 prepare.py SHARED_DIR
"""
import os
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def main():
    shared = sys.argv[1]
    os.makedirs(shared, exist_ok=True)
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y)
    path = os.path.join(shared, "digits.npz")
    tmp = path + ".tmp.npz"
    np.savez(tmp, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val)
    os.replace(tmp, path)  # a reader never sees half a file
    print(f"prepared {len(x_train)} training and {len(x_val)} validation images in {path}",
          flush=True)


if __name__ == "__main__":
    main()
