"""Contact sheets: many word images on one page, to look at what the synthesizer makes."""

from __future__ import annotations

from PIL import Image, ImageDraw


def contact_sheet(images: list[Image.Image], labels: list[str] | None = None, cols: int = 4,
                  cell: tuple[int, int] = (300, 84)) -> Image.Image:
    """Grid of images, each scaled to fit its cell (aspect kept), with an optional small label."""
    cw, ch = cell
    label_h = 12 if labels else 0
    rows = max(1, (len(images) + cols - 1) // cols)
    sheet = Image.new("L", (cols * cw, rows * (ch + label_h)), 255)
    draw = ImageDraw.Draw(sheet)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        x0, y0 = c * cw, r * (ch + label_h)
        s = min((cw - 6) / img.width, (ch - 6) / img.height, 1.5)
        thumb = img.convert("L").resize((max(1, int(img.width * s)), max(1, int(img.height * s))), Image.BILINEAR)
        sheet.paste(thumb, (x0 + 3, y0 + label_h + 3))
        if labels:
            draw.text((x0 + 3, y0), labels[i][:44], fill=90)
        draw.rectangle((x0, y0, x0 + cw - 1, y0 + ch + label_h - 1), outline=200)
    return sheet
