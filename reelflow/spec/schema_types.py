"""Text and path types the shot-list schema is built from (pure): no control characters, bounded
lengths, path components a filesystem accepts."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

SLUG = r"^[a-z0-9][a-z0-9_-]*$"
MAX_PATH_CHARS = 1024


def _plain_text(v: str) -> str:
    """User text reaches terminals, ffmpeg, XML, SRT and provider APIs: no control characters
    (a NUL or BEL breaks them silently); tabs and newlines are fine."""
    for ch in v:
        if ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cs"):
            raise ValueError(f"contains a control character (U+{ord(ch):04X}); remove it")
    return v


def _asset_path(v: str) -> str:
    _plain_text(v)
    if "\n" in v or "\r" in v:
        raise ValueError("a path cannot contain a line break")
    long = next((part for part in v.replace("\\", "/").split("/") if len(part.encode()) > 255), None)
    if long:
        raise ValueError(f"a path component is longer than 255 bytes ({long[:40]}...)")
    return v


Text = Annotated[str, AfterValidator(_plain_text)]
ShortText = Annotated[str, Field(max_length=500), AfterValidator(_plain_text)]
AssetPath = Annotated[str, Field(min_length=1, max_length=MAX_PATH_CHARS), AfterValidator(_asset_path)]
ModelId = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_plain_text)]
Seconds = Annotated[float, Field(ge=0, le=3600)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False, use_attribute_docstrings=True)

