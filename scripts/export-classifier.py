#!/usr/bin/env python3
"""Turns a Hugging Face image-classifier folder into the layout of perase's `classifier:DIR` detector.

Run it in your own Python environment (torch and transformers installed; perase itself needs no
Python):

    python3 scripts/export-classifier.py microsoft/resnet-50 weights/resnet-50
    python3 scripts/export-classifier.py path/to/vangogh-vit weights/vangogh-vit

SRC is a model id (downloaded by transformers) or a local folder; DST receives

    model.pt                   TorchScript: pixel_values [N, 3, H, W] float32 -> logits [N, labels]
    config.json                the model's config (perase reads id2label)
    preprocessor_config.json   the image processor's config (ConvNextImageProcessor or ViTImageProcessor)

The model is traced in eval mode on one zero image of the processor's output size; batch size stays
free. The script checks the traced model against the eager one on a random input before it writes.
"""
import argparse
import os
import shutil
import tempfile

import torch
from transformers import AutoConfig, AutoImageProcessor, AutoModelForImageClassification


class Logits(torch.nn.Module):
    """pixel_values -> logits, the one tensor perase's detector reads."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model(pixel_values=pixel_values).logits


def input_size(processor):
    """The (height, width) the processor hands the model."""
    crop = getattr(processor, "crop_size", None)
    if getattr(processor, "do_center_crop", False) and crop:
        return crop["height"], crop["width"]
    size = processor.size
    if "height" in size:
        return size["height"], size["width"]
    edge = size["shortest_edge"]
    return edge, edge


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("src", help="model id or local Hugging Face folder")
    parser.add_argument("dst", help="output folder")
    args = parser.parse_args()

    config = AutoConfig.from_pretrained(args.src)
    processor = AutoImageProcessor.from_pretrained(args.src)
    kind = type(processor).__name__
    if kind not in ("ConvNextImageProcessor", "ViTImageProcessor"):
        raise SystemExit(f"perase reproduces ConvNextImageProcessor and ViTImageProcessor, not {kind}")
    model = Logits(AutoModelForImageClassification.from_pretrained(args.src).eval())
    h, w = input_size(processor)
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.zeros(2, 3, h, w))
        probe = torch.randn(3, 3, h, w)
        diff = (traced(probe) - model(probe)).abs().max().item()
    if diff > 1e-4:
        raise SystemExit(f"the traced model differs from the eager one by {diff}")

    os.makedirs(args.dst, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dst) as tmp:
        traced.save(os.path.join(tmp, "model.pt"))
        config.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        for name in ("model.pt", "config.json", "preprocessor_config.json"):
            shutil.move(os.path.join(tmp, name), os.path.join(args.dst, name))
    print(f"wrote {args.dst}: {kind}, input {h}x{w}, {config.num_labels} labels (traced vs eager {diff:.2e})")


if __name__ == "__main__":
    main()
