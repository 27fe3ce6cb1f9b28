"""optimise_png.py IN OUT [Y0 Y1]: crop a screenshot of scripts/screenshots.sh to rows Y0..Y1
(CSS pixels; default the whole page) and write it as an optimised palette PNG for docs/images.

Needs Pillow (Debian: python3-pil). The screenshots are 1200 pixels wide, flat colours and text,
so a 128-colour adaptive palette keeps them sharp at a fifth of the size.
"""
import sys

from PIL import Image


def main():
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__)
    im = Image.open(sys.argv[1]).convert("RGB")
    if len(sys.argv) == 5:
        y0, y1 = int(sys.argv[3]), int(sys.argv[4])
        im = im.crop((0, y0, im.width, min(y1, im.height)))
    im.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(sys.argv[2], optimize=True)


if __name__ == "__main__":
    main()
