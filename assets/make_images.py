"""Generate the drawn reference images in assets/images/ (CC0 1.0): a harbour frame and the cast
of shotlists/pier-scene.yaml (two characters and a location)."""

from pathlib import Path

from PIL import Image, ImageDraw

IMAGES = Path(__file__).parent / "images"


def harbor(out: Path) -> None:
    img = Image.new("RGB", (640, 360), (70, 120, 170))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 220, 640, 360], fill=(30, 70, 110))
    d.polygon([(180, 250), (460, 250), (420, 290), (220, 290)], fill=(150, 40, 30))  # hull
    d.rectangle([300, 150, 310, 250], fill=(60, 40, 30))  # mast
    d.polygon([(312, 155), (400, 240), (312, 240)], fill=(235, 230, 215))  # sail
    d.ellipse([500, 40, 560, 100], fill=(250, 220, 150))
    img.save(out, optimize=True)


def character(out: Path, coat: tuple, hat: tuple, skin: tuple) -> None:
    """A character card: a figure in a coloured coat and hat on a plain ground."""
    img = Image.new("RGB", (256, 256), (225, 225, 215))
    d = ImageDraw.Draw(img)
    d.polygon([(78, 250), (178, 250), (160, 120), (96, 120)], fill=coat)  # coat
    d.ellipse([100, 60, 156, 120], fill=skin)  # head
    d.rectangle([92, 48, 164, 70], fill=hat)  # hat
    img.save(out, optimize=True)


def pier(out: Path) -> None:
    img = Image.new("RGB", (384, 216), (180, 190, 195))  # fog
    d = ImageDraw.Draw(img)
    d.rectangle([0, 150, 384, 216], fill=(90, 105, 115))  # water
    d.polygon([(150, 216), (234, 216), (205, 110), (179, 110)], fill=(120, 85, 55))  # boards
    for x in (160, 224):
        d.rectangle([x - 3, 120, x + 3, 200], fill=(70, 50, 35))  # posts
    img.save(out, optimize=True)


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    harbor(IMAGES / "harbor-reference.png")
    character(IMAGES / "ada.png", coat=(230, 190, 20), hat=(230, 190, 20), skin=(220, 180, 150))
    character(IMAGES / "ben.png", coat=(40, 60, 120), hat=(180, 30, 30), skin=(150, 110, 80))
    pier(IMAGES / "pier.png")
    print(f"wrote {IMAGES}")


if __name__ == "__main__":
    main()
