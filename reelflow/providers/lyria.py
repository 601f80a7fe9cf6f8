"""Lyria on the Gemini API through the official google-genai SDK (`client.interactions.create`):
a music bed from a prompt. The interaction answers with the song (`output_audio`: base64 MP3,
44.1 kHz stereo) and its lyrics or structure as text; `lyria-3-clip-preview` is always 30 s,
`lyria-3.5` as long as the prompt asks. The answer is the audio itself: it is decoded before it
is kept, and a damaged one is a transient fault (asked again). Key: GEMINI_API_KEY; base URL:
GEMINI_BASE_URL (as for Gemini Omni)."""

from __future__ import annotations

import base64
import subprocess
import tempfile
from pathlib import Path

from reelflow.errors import TransientProviderError
from reelflow.media.ffmpeg import ffmpeg_exe
from reelflow.spec.music import MusicRequest
from reelflow.providers.gemini_omni import GeminiOmniProvider


def body(req: MusicRequest) -> dict:
    """The interaction as sent."""
    return {"model": req.model, "input": req.lyria_prompt()}


def decoded_seconds(data: bytes) -> float:
    """Seconds of audio ffmpeg decodes from ``data``; TransientProviderError when it cannot."""
    with tempfile.TemporaryDirectory(prefix="reelflow-lyria-") as tmp:
        src = Path(tmp) / "song.mp3"
        src.write_bytes(data)
        proc = subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-xerror", "-i", str(src), "-ac", "1",
                               "-ar", "8000", "-f", "s16le", "-"], capture_output=True, timeout=300)
    if proc.returncode != 0 or not proc.stdout:
        raise TransientProviderError("lyria: the audio is damaged (it does not decode)")
    return len(proc.stdout) / 2 / 8000


class LyriaMusic(GeminiOmniProvider):
    """The Gemini API client, its credentials and its fault classes, asked for music."""

    name = "lyria"

    def compose(self, req: MusicRequest) -> bytes:
        return self.compose_checked(req)[0]

    def compose_checked(self, req: MusicRequest) -> tuple[bytes, float]:
        """(the song, its decoded seconds): decoded once, here."""
        client = self._client()
        interaction = self._guard(client.interactions.create, **body(req))
        audio = getattr(interaction, "output_audio", None)
        if audio is None or not audio.data:
            raise TransientProviderError("lyria: the interaction returned no audio")
        data = audio.data if isinstance(audio.data, (bytes, bytearray)) else base64.b64decode(audio.data)
        return bytes(data), decoded_seconds(bytes(data))
