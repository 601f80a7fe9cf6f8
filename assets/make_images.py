"""Generate assets/images/harbor-reference.png, a drawn reference frame (CC0 1.0)."""

from pathlib import Path

from PIL import Image, ImageDraw


def main(out: Path = Path(__file__).parent / "images" / "harbor-reference.png") -> None:
    img = Image.new("RGB", (640, 360), (70, 120, 170))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 220, 640, 360], fill=(30, 70, 110))
    d.polygon([(180, 250), (460, 250), (420, 290), (220, 290)], fill=(150, 40, 30))  # hull
    d.rectangle([300, 150, 310, 250], fill=(60, 40, 30))  # mast
    d.polygon([(312, 155), (400, 240), (312, 240)], fill=(235, 230, 215))  # sail
    d.ellipse([500, 40, 560, 100], fill=(250, 220, 150))
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, optimize=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
