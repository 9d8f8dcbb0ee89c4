#!/usr/bin/env python3
"""Writes a PNG grid of a full study's images, one row per model, for the README and for looking.

    python3 scripts/image-grid.py out/study red docs/study-red.png            (base + chosen points)
    python3 scripts/image-grid.py out/study red grid.png esd/lr-1e-4 p-esd/rho-1e-2

A row is a model of the bed: `base`, or a sweep point `METHOD/POINT` (its folder under
DIR/BED/); by default the base model and each method's chosen point (DIR/BED/METHOD/chosen/
chosen.json). Each row shows the first 8 test images, a gap, then the first 8 retain images of
the model's evaluation (the same prompts and seeds in every row), scaled 3×. Rows are printed
with their labels in order. Python 3 standard library only (a small PNG reader and writer for the
8-bit RGB/RGBA images perase writes), since the machine has no image library.
"""
import json
import os
import struct
import sys
import zlib

N, SCALE, GAP = 8, 3, 6
WHITE = (255, 255, 255)


def read_png(path):
    data = open(path, "rb").read()
    pos, idat = 8, b""
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", chunk[:10])
            if depth != 8 or colour not in (2, 6) or chunk[12] != 0:
                raise SystemExit(f"{path}: only 8-bit RGB/RGBA, non-interlaced PNGs are read")
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    rows, prev, k = [], bytearray(stride), 0
    for _ in range(h):
        f, line = raw[k], bytearray(raw[k + 1 : k + 1 + stride])
        k += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + p) & 255
        rows.append([tuple(line[x * bpp : x * bpp + 3]) for x in range(w)])
        prev = line
    return rows


def write_png(path, rows):
    h, w = len(rows), len(rows[0])
    raw = b"".join(b"\x00" + bytes(v for px in r for v in px) for r in rows)

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    head = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))
    os.replace(tmp, path)


def strip(folder):
    """The first N images of an image folder side by side, scaled, as rows of pixels."""
    images = [read_png(os.path.join(folder, f"{i:04d}.png")) for i in range(N)]
    out = []
    for y in range(len(images[0])):
        line = []
        for im in images:
            for px in im[y]:
                line += [px] * SCALE
            line += [WHITE] * 2
        out += [line] * SCALE
    return out


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    study, bed, out, points = argv[0], argv[1], argv[2], argv[3:]
    bed_dir = os.path.join(study, bed.lower())  # a bed's folder is its name in lower case
    if not os.path.isdir(bed_dir):
        raise SystemExit(f"{bed_dir} is not a folder of the study")
    if not points:
        points = ["base"]
        for method in ("esd", "p-esd", "ac", "p-ac"):
            chosen = os.path.join(bed_dir, method, "chosen", "chosen.json")
            if os.path.exists(chosen):
                points.append(method + "/" + json.load(open(chosen))["point"])
    grid = []
    for p in points:
        evaluate = os.path.join(bed_dir, p, "evaluate", "images")
        test, retain = strip(evaluate), strip(os.path.join(evaluate, "retain"))
        grid += [t + [WHITE] * GAP + r for t, r in zip(test, retain)]
        grid += [[WHITE] * len(grid[-1])] * GAP
        print(p)
    write_png(out, grid)
    print(f"wrote {out}: rows {len(points)}, each {N} test images | {N} retain images")


if __name__ == "__main__":
    main(sys.argv[1:])
