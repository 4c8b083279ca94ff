"""Validates the trained model on the held-out digits; fails when accuracy is below --min.

Usage: python3 validate.py SHARED_DIR [--min 0.9]
"""
import argparse
import os
import sys

import numpy as np
import torch

from train import model_fn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("shared")
    p.add_argument("--min", type=float, default=0.9)
    args = p.parse_args()
    data = np.load(os.path.join(args.shared, "digits.npz"))
    model = model_fn()
    model.load_state_dict(torch.load(os.path.join(args.shared, "model.pt")))
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(data["x_val"])).argmax(dim=1).numpy()
    accuracy = float((pred == data["y_val"]).mean())
    print(f"validation accuracy {accuracy:.4f} on {len(pred)} images", flush=True)
    sys.exit(0 if accuracy >= args.min else 1)


if __name__ == "__main__":
    main()
