"""The offline default provider: a deterministic previs (animatic) clip per shot.

Picture: a painted background whose palette and shapes follow the prompt (dawn, night, neon,
harbor, city, forest...), moved by the shot's camera text (dolly/zoom, pan, tilt, handheld), under
a slate naming the shot, its prompt, kind and intended model, and a progress bar.
Sound: an ambience bed shaped by the audio cue (sea, wind, rain, city, engines, gulls...) and each
dialogue line spoken with espeak-ng (placeholder tones, clearly noted, when it is not installed).
Deterministic per (shot, tier, seed, size, fps): the same request renders the same clip.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from reelflow.media.ffmpeg import AAC, INTERMEDIATE, ffmpeg_exe, ffmpeg_slot, run_ffmpeg
from reelflow.runtime.memory import release
from reelflow.providers.animatic.audio import SAMPLE_RATE, _has, render_audio, write_wav
from reelflow.providers.animatic.frames import RAMP_SECONDS, Overlay, _still, _towards, inset_references
from reelflow.providers.animatic.mouth import Face, openness
from reelflow.providers.base import GenerationRequest, JobState

DRAFT_SHORT_SIDE = 360
DRAFT_FPS = 12


def render_size(req: GenerationRequest) -> tuple[int, int, int]:
    """Animatic drafts render small (360 lines, 12 fps) so upscale and conform do real work."""
    if req.tier == "draft":
        scale = DRAFT_SHORT_SIDE / min(req.width, req.height)
        w = int(round(req.width * scale / 2)) * 2
        h = int(round(req.height * scale / 2)) * 2
        return w, h, DRAFT_FPS
    return req.width, req.height, req.fps


# ------------------------------------------------------------------ look


PALETTES = [  # (keywords, sky top, sky bottom, ground)
    (("dawn", "sunrise", "morning"), (58, 74, 128), (247, 170, 120), (40, 58, 82)),
    (("sunset", "dusk", "golden hour"), (70, 40, 100), (250, 140, 60), (50, 30, 40)),
    (("neon", "cyberpunk", "synth"), (20, 0, 40), (200, 20, 160), (10, 10, 30)),
    (("night", "moon", "midnight", "dark", "stars"), (5, 8, 30), (30, 40, 80), (8, 10, 20)),
    (("snow", "winter", "ice", "arctic"), (180, 200, 225), (235, 240, 250), (220, 228, 240)),
    (("forest", "jungle", "woods", "garden"), (90, 140, 110), (180, 210, 150), (30, 70, 40)),
    (("desert", "dune", "sand"), (120, 170, 220), (245, 215, 160), (200, 160, 100)),
    (("studio", "product", "bottle", "packshot", "white background"), (70, 70, 78), (170, 170, 180), (120, 120, 128)),
    (("ocean", "sea", "harbor", "harbour", "beach", "lake", "river", "water"), (70, 130, 190), (170, 210, 235), (30, 80, 120)),
    (("interior", "kitchen", "room", "cafe", "office", "bar"), (90, 60, 45), (190, 150, 110), (70, 50, 40)),
]

KIND_TINT = {"environment": 0, "physics": 20, "character": 330, "dialogue": 300, "product": 200,
             "stylized": 270, "action": 10, "social": 180}


def palette_for(prompt: str, rng: np.random.Generator) -> tuple[tuple, tuple, tuple, str]:
    text = prompt.lower()
    for words, top, bottom, ground in PALETTES:
        for w in words:
            if w in text:
                return top, bottom, ground, w
    import colorsys

    h = rng.random()
    top = tuple(int(c * 255) for c in colorsys.hsv_to_rgb(h, 0.5, 0.45))
    bottom = tuple(int(c * 255) for c in colorsys.hsv_to_rgb((h + 0.08) % 1, 0.35, 0.85))
    ground = tuple(int(c * 255) for c in colorsys.hsv_to_rgb((h + 0.5) % 1, 0.4, 0.3))
    return top, bottom, ground, "seeded"


def paint_background(prompt: str, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A stylised plate: gradient sky, horizon, and shapes suggested by the prompt."""
    w, h = size
    text = prompt.lower()
    top, bottom, ground, _ = palette_for(prompt, rng)
    horizon = int(h * (0.55 + 0.1 * rng.random()))
    t = np.linspace(0.0, 1.0, horizon, dtype=np.float32)[:, None]
    sky = (np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t)
    arr = np.empty((h, w, 3), np.uint8)
    arr[:horizon] = sky[:, None, :].astype(np.uint8)
    g = np.linspace(0.0, 1.0, h - horizon, dtype=np.float32)[:, None]
    gnd = np.array(ground, np.float32) * (1 - 0.5 * g)
    arr[horizon:] = gnd[:, None, :].astype(np.uint8)
    img = Image.fromarray(arr)
    d = ImageDraw.Draw(img, "RGBA")
    if _has(text, "night", "moon", "stars", "midnight", "neon"):
        for _ in range(int(w * h / 4000)):
            x, y = rng.integers(0, w), rng.integers(0, horizon)
            r = 1 + int(rng.random() * 2)
            d.ellipse([x, y, x + r, y + r], fill=(255, 255, 240, int(120 + 130 * rng.random())))
    if _has(text, "dawn", "sunrise", "sunset", "sun", "golden", "morning", "desert", "moon", "night"):
        cx, cy, r = w * (0.3 + 0.4 * rng.random()), horizon * 0.8, h * 0.09
        colour = (245, 245, 225, 230) if _has(text, "moon", "night") else (255, 220, 150, 235)
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    if _has(text, "mountain", "hill", "peak", "cliff", "valley"):
        for k in range(3):
            base = horizon + 2
            x0 = rng.integers(-w // 4, w)
            span = int(w * (0.3 + 0.4 * rng.random()))
            peak = int(horizon * (0.35 + 0.3 * rng.random()))
            shade = 60 + 40 * k
            d.polygon([(x0, base), (x0 + span // 2, peak), (x0 + span, base)], fill=(shade, shade + 10, shade + 30, 220))
    if _has(text, "city", "street", "market", "skyline", "building", "town", "alley", "neon", "harbor", "harbour"):
        x = 0
        while x < w:
            bw = int(w * (0.03 + 0.06 * rng.random()))
            bh = int(h * (0.08 + 0.25 * rng.random()))
            shade = int(20 + 40 * rng.random())
            d.rectangle([x, horizon - bh, x + bw, horizon], fill=(shade, shade, shade + 15, 235))
            if _has(text, "night", "neon", "dusk", "market"):
                for _ in range(max(1, bw * bh // 900)):
                    wx = x + rng.integers(2, max(3, bw - 4))
                    wy = horizon - rng.integers(4, max(5, bh - 4))
                    glow = (255, 200, 90, 220) if not _has(text, "neon") else \
                        [(255, 40, 200, 230), (40, 240, 255, 230)][int(rng.integers(0, 2))]
                    d.rectangle([wx, wy, wx + 3, wy + 4], fill=glow)
            x += bw + int(w * 0.005)
    if _has(text, "sea", "ocean", "harbor", "harbour", "water", "lake", "river", "beach", "wave"):
        for k in range(int((h - horizon) / max(6, h // 90))):
            y = horizon + k * max(6, h // 90) + rng.integers(0, 4)
            x0 = rng.integers(-w // 3, w)
            d.line([(x0, y), (x0 + int(w * (0.1 + 0.3 * rng.random())), y)],
                   fill=(230, 240, 255, int(40 + 60 * rng.random())), width=max(1, h // 400))
    if _has(text, "forest", "tree", "jungle", "woods", "garden"):
        for _ in range(int(w / 40)):
            x = rng.integers(0, w)
            th = int(h * (0.1 + 0.2 * rng.random()))
            d.polygon([(x - th // 5, horizon + 4), (x, horizon - th), (x + th // 5, horizon + 4)],
                      fill=(20, int(60 + 50 * rng.random()), 30, 230))
    if _has(text, "mist", "fog", "haze", "smoke"):
        fog = Image.new("RGBA", size, (235, 235, 240, 0))
        fd = ImageDraw.Draw(fog)
        for _ in range(14):
            cx, cy = rng.integers(0, w), horizon + rng.integers(-h // 10, h // 10)
            rx, ry = w * (0.1 + 0.2 * rng.random()), h * 0.03
            fd.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=(235, 235, 240, 70))
        img.paste(fog.filter(ImageFilter.GaussianBlur(h / 50)), (0, 0), fog.filter(ImageFilter.GaussianBlur(h / 50)))
    if _has(text, "product", "bottle", "packshot", "watch", "phone", "sneaker", "perfume"):
        cx, base = w // 2, int(h * 0.72)
        pw, ph = int(w * 0.08), int(h * 0.32)
        d.ellipse([cx - pw * 2, base - ph // 14, cx + pw * 2, base + ph // 14], fill=(0, 0, 0, 70))
        d.rounded_rectangle([cx - pw // 2, base - ph, cx + pw // 2, base], radius=pw // 4, fill=(230, 200, 120, 245))
    if _has(text, "person", "woman", "man", "skipper", "character", "face", "girl", "boy", "chef", "vendor",
            "dancer", "runner", "speaks", "says", "portrait", "fisherman"):
        cx = int(w * (0.35 + 0.3 * rng.random()))
        base = int(h * 0.95)
        hh = int(h * 0.4)
        d.ellipse([cx - hh // 8, base - hh - hh // 4, cx + hh // 8, base - hh], fill=(25, 25, 35, 240))
        d.rounded_rectangle([cx - hh // 5, base - hh, cx + hh // 5, base], radius=hh // 10, fill=(25, 25, 35, 240))
    if _has(text, "neon", "synth", "grid"):
        for k in range(1, 12):
            y = horizon + int((h - horizon) * (k / 12) ** 1.8)
            d.line([(0, y), (w, y)], fill=(255, 40, 200, 140), width=max(1, h // 300))
        for k in range(-10, 11):
            d.line([(w // 2 + k * w // 40, horizon), (w // 2 + k * w // 6, h)], fill=(40, 240, 255, 120),
                   width=max(1, h // 300))
    return img


# ------------------------------------------------------------------ camera


@dataclass(frozen=True)
class CameraMove:
    zoom_from: float = 1.0
    zoom_to: float = 1.0
    pan: tuple[float, float] = (0.0, 0.0)  # start/end horizontal offset in [-1, 1]
    tilt: tuple[float, float] = (0.0, 0.0)
    shake: float = 0.0
    label: str = "static"


def parse_camera(text: str) -> CameraMove:
    """Turn free camera text ('slow dolly forward', 'whip pan left') into a move."""
    t = text.lower()
    speed = 0.5 if _has(t, "slow", "gentle", "subtle", "creep") else 1.6 if _has(t, "fast", "quick", "whip", "rapid") else 1.0
    zoom = 0.2 * speed
    if _has(t, "dolly in", "dolly forward", "push in", "push-in", "zoom in", "dolly toward", "move in", "crash zoom"):
        return CameraMove(1.0, 1.0 + zoom, label="push in")
    if _has(t, "dolly out", "dolly back", "pull back", "pull out", "zoom out", "pull-back", "reveal"):
        return CameraMove(1.0 + zoom, 1.0, label="pull out")
    if _has(t, "orbit", "arc"):
        return CameraMove(1.05, 1.05 + zoom / 2, pan=(-0.6 * speed, 0.6 * speed), label="orbit")
    if _has(t, "pan left", "truck left", "track left", "move left"):
        return CameraMove(1.1, 1.1, pan=(0.8 * speed, -0.8 * speed), label="pan left")
    if _has(t, "pan", "truck", "track", "tracking", "follow"):
        return CameraMove(1.1, 1.1, pan=(-0.8 * speed, 0.8 * speed), label="pan right")
    if _has(t, "tilt down", "crane down", "pedestal down"):
        return CameraMove(1.1, 1.1, tilt=(-0.8 * speed, 0.8 * speed), label="tilt down")
    if _has(t, "tilt", "crane", "pedestal", "rise", "drone up"):
        return CameraMove(1.1, 1.1, tilt=(0.8 * speed, -0.8 * speed), label="tilt up")
    if _has(t, "dolly", "zoom", "aerial", "flyover", "fly"):
        return CameraMove(1.0, 1.0 + zoom, label="push in")
    if _has(t, "handheld", "shaky", "shake"):
        return CameraMove(1.08, 1.08, shake=0.012 * speed, label="handheld")
    return CameraMove(1.0, 1.0, label="static")


MARGIN = 1.3  # background plate size relative to the frame, room for pans and tilts


def frame_boxes(move: CameraMove, frames: int, plate: tuple[int, int], out: tuple[int, int],
                rng: np.random.Generator) -> list[tuple[float, float, float, float]]:
    """Crop box in the plate for every output frame (sub-pixel: resampled, so no jitter)."""
    pw, ph = plate
    ow, oh = out
    boxes = []
    base_w, base_h = pw / MARGIN, ph / MARGIN
    jitter = rng.normal(0, 1, size=(frames, 2)) if move.shake else np.zeros((frames, 2))
    for i in range(frames):
        s = i / max(1, frames - 1)
        s = s * s * (3 - 2 * s)  # ease in/out
        z = move.zoom_from + (move.zoom_to - move.zoom_from) * s
        vw, vh = base_w / z, base_h / z
        px = move.pan[0] + (move.pan[1] - move.pan[0]) * s
        py = move.tilt[0] + (move.tilt[1] - move.tilt[0]) * s
        cx = pw / 2 + px * (pw - vw) / 2 + jitter[i, 0] * move.shake * pw
        cy = ph / 2 + py * (ph - vh) / 2 + jitter[i, 1] * move.shake * ph
        cx = min(max(cx, vw / 2), pw - vw / 2)
        cy = min(max(cy, vh / 2), ph - vh / 2)
        boxes.append((cx - vw / 2, cy - vh / 2, cx + vw / 2, cy + vh / 2))
    return boxes


# ------------------------------------------------------------------ slate


def _font(size: int) -> ImageFont.ImageFont:
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",):
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def paint_slate(req: GenerationRequest, size: tuple[int, int], camera: str, notes: list[str]) -> Image.Image:
    w, h = size
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    unit = min(w, h)
    big, small = _font(max(12, unit // 12)), _font(max(9, unit // 30))
    pad = unit // 30
    portrait = h > w
    wrap = max(20, int(w / (unit / 30 * 0.6)))
    prompt = textwrap.wrap(req.prompt, wrap)[: 5 if portrait else 3]
    lines = [
        (f"{req.shot_id}", big),
        *((p, small) for p in prompt),
        (f"{req.kind} | camera: {camera} | {req.seconds}s", small),
        (f"intended: {req.model} ({req.tier}) | seed {req.seed}", small),
        *((n, small) for n in notes[:2]),
    ]
    heights = [d.textbbox((0, 0), t, font=f)[3] + pad // 3 for t, f in lines]
    box_h = sum(heights) + 2 * pad
    y0 = h - box_h - pad
    d.rectangle([pad, y0, w - pad, h - pad], fill=(0, 0, 0, 150))
    y = y0 + pad
    for (t, f), lh in zip(lines, heights):
        d.text((2 * pad, y), t, font=f, fill=(255, 255, 255, 255))
        y += lh
    tag = "ANIMATIC" if req.tier == "final" else "ANIMATIC DRAFT"
    tb = d.textbbox((0, 0), tag, font=small)
    d.rectangle([w - tb[2] - 3 * pad, pad, w - pad, pad + tb[3] + pad], fill=(200, 30, 30, 200))
    d.text((w - tb[2] - 2 * pad, pad + pad // 2), tag, font=small, fill=(255, 255, 255, 255))
    return img


# ------------------------------------------------------------------ sound


def _rng(req: GenerationRequest, salt: str) -> np.random.Generator:
    seed = int(hashlib.sha256(f"{req.shot_id}|{req.tier}|{req.seed}|{salt}".encode()).hexdigest()[:16], 16)
    return np.random.default_rng(seed)


def render_animatic(req: GenerationRequest, dest: Path) -> dict:
    """Render the previs clip for ``req`` to ``dest`` (MP4, H.264 + AAC)."""
    w, h, fps = render_size(req)
    frames = max(1, int(round(req.seconds * fps)))
    seconds = frames / fps
    move = parse_camera(req.camera)
    plate_size = (int(w * MARGIN), int(h * MARGIN))
    plate = paint_background(req.prompt, plate_size, _rng(req, "plate"))
    if req.image_path and Path(req.image_path).is_file():
        ref = Image.open(req.image_path).convert("RGB")
        ref.thumbnail((plate_size[0] // 3, plate_size[1] // 3))
        plate.paste(ref, ((plate_size[0] - ref.width) // 2, int(plate_size[1] * 0.2)))
    # a given first (last) frame is shown exactly at the start (end) and dissolves into the shot
    first, last = _still(req.image_path, (w, h)), _still(req.last_frame_path, (w, h))
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="reelflow-animatic-") as tmp:
        work = Path(tmp)
        audio, spans, audio_notes, speech = render_audio(req, seconds, _rng(req, "audio"), work)
        if not req.audio:
            audio = audio * 0.0
            spans, audio_notes = [], ["audio off"]
        # a speaking face whose mouth follows its lines, or the stems it is given (not silenced)
        face = Face(w, h, openness(speech, SAMPLE_RATE, fps, frames)) if req.audio and speech.any() else None
        notes += audio_notes
        wav = work / "audio.wav"
        write_wav(wav, audio)
        card = paint_slate(req, (w, h), move.label, [n for n in notes if "espeak" in n])
        if req.reference_paths:
            inset_references(card, req.reference_paths)
            notes.append(f"references: {len(req.reference_paths)} image(s) inset, bottom right")
        if first is not None or last is not None:
            notes.append("starts on its first frame" * (first is not None) + " and " * (first is not None
                         and last is not None) + "ends on its last frame" * (last is not None))
        boxes = frame_boxes(move, frames, plate_size, (w, h), _rng(req, "camera"))
        overlay = Overlay(card, frames)
        tmp_out = dest.with_suffix(".part.mp4")
        cmd = [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-",
            "-i", str(wav), "-map", "0:v", "-map", "1:a", *INTERMEDIATE, "-r", str(fps), *AAC,
            "-frames:v", str(frames), "-t", f"{seconds:.6f}", "-movflags", "+faststart",
            "-metadata", f"comment=reelflow animatic {req.shot_id} {req.tier}", str(tmp_out),
        ]
        ramp = max(1, int(round(RAMP_SECONDS * fps)))
        with ffmpeg_slot():  # an encoder per core at most, whoever feeds it
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                shown = (None, None)  # a still camera shows one crop: resampled once (32 ms at 1080p)
                for k, box in enumerate(boxes):
                    if shown[0] != box:
                        shown = (box, np.array(plate.resize((w, h), Image.Resampling.BILINEAR, box=box)))
                    frame = overlay.on(shown[1].copy(), k)
                    if face is not None:  # a speaking face whose mouth follows the lines
                        frame = face.on(frame, k)
                    frame = _towards(frame, first, 1 - k / ramp)  # exactly the first frame at k = 0
                    frame = _towards(frame, last, 1 - (frames - 1 - k) / ramp)  # and the last at the end
                    proc.stdin.write(frame.tobytes())
                proc.stdin.close()
            except BrokenPipeError:
                pass
            err = proc.stderr.read().decode("utf-8", "replace")
            code = proc.wait()
        if code != 0:
            from reelflow.errors import MediaError

            raise MediaError(f"animatic {req.shot_id}: ffmpeg failed: {err.strip()[-400:]}")
        tmp_out.replace(dest)
    release()  # its plate, slate and frames: hundreds of MB a busy thread would otherwise keep
    return {"speech_spans": spans, "notes": notes, "camera": move.label,
            "render_size": [w, h], "render_fps": fps}


class AnimaticProvider:
    """Offline previs renderer, behind the same protocol as the cloud adapters."""

    name = "animatic"
    version = "3"  # 2: first and last frames honoured; slate composited per frame; 3: a speaking face

    def submit(self, request: GenerationRequest) -> str:
        return "animatic-" + hashlib.sha256(request.model_dump_json().encode()).hexdigest()[:20]

    def poll(self, request: GenerationRequest, job_id: str) -> JobState:
        return JobState(state="succeeded", progress=1.0)

    def download(self, request: GenerationRequest, job_id: str, dest: str) -> dict:
        if request.video_path and request.extend_from:  # the extend API: the clip so far, longer
            from reelflow.providers.animatic.extend import extend_animatic

            made = extend_animatic(request, Path(dest))
        elif request.group:  # a scene group: one clip, hard cuts inside
            from reelflow.providers.animatic.group import render_group_animatic

            made = render_group_animatic(request, Path(dest))
        else:
            made = render_animatic(request, Path(dest))
        from reelflow.qc.faults import fault_for, spoil

        fault = fault_for(request.shot_id, request.tier, request.seed, request.model)
        if fault:  # a bad clip on purpose (REELFLOW_ANIMATIC_FAULTS), as a model might return
            spoil(Path(dest), Path(dest), fault)
            made = {**made, "notes": [*made.get("notes", []), f"spoiled on purpose: {fault}"]}
        return made

    def delivers(self, request: GenerationRequest) -> tuple[int, int, int]:
        """The size and rate it renders a request at (drafts small, for QC's expectations)."""
        return render_size(request)

    def poll_interval(self) -> float:
        return 0.0

    def mouth_box(self, request: GenerationRequest) -> tuple[float, float, float, float] | None:
        """Where its speaking face's mouth is, when the clip speaks (QC measures the lip sync)."""
        if not (request.audio and (request.dialogue or request.driving_audio_path)) or request.group \
                or request.extend_from:
            return None
        from reelflow.providers.animatic.mouth import mouth_box

        w, h, _ = render_size(request)
        return mouth_box(w, h)


# exposed for tests and the CLI
__all__ = ["AnimaticProvider", "render_animatic", "parse_camera", "render_size", "run_ffmpeg"]
