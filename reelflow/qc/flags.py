"""Safety refusals (pure): which part of a request a provider's filter flagged, read from what its
API says (fal's error types, Vertex's RAI filter reasons, OpenAI's moderation codes, Replicate's
and Kling's messages), and what the shot list says to try next (`qc.on_flag`)."""

from __future__ import annotations

import re

_IMAGE = re.compile(r"\b(input|reference|first[- ]frame|last[- ]frame|source)[ _-]?(image|frame|photo)|"
                    r"\bimage[ _-]?(input|prompt)?[ _-]?(was )?(flagged|rejected|blocked|unsafe)", re.I)
_OUTPUT = re.compile(r"\b(output|generated|result(ing)?|video)[ _-]?(video|content|media)?[ _-]?"
                     r"(was |is )?(flagged|filtered|rejected|blocked|unsafe|nsfw)|raiMediaFiltered|"
                     r"output[_ ]moderation|nsfw content detected", re.I)
_PROMPT = re.compile(r"\b(prompt|text|input text)\b|moderation_blocked|content_policy_violation", re.I)


def flagged_part(message: str) -> str | None:
    """"image", "output" or "prompt" where the provider's message says which; else None."""
    text = message or ""
    if _IMAGE.search(text):
        return "image"
    if _OUTPUT.search(text):
        return "output"
    if _PROMPT.search(text):
        return "prompt"
    return None


def next_steps(on_flag: tuple[str, ...], has_alternate: bool, part: str | None) -> list[tuple[str, str | None]]:
    """The steps to try, in the shot list's order, each with why it is skipped (None: tried). A
    new seed changes the output, never the prompt or the image: it is tried only where the output
    (or nothing said) was flagged."""
    out = []
    for step in on_flag:
        if step == "alternate_prompt" and not has_alternate:
            out.append((step, "the shot has no alternate_prompt"))
        elif step == "reseed" and part in ("prompt", "image"):
            out.append((step, f"the {part} was flagged: a new seed would send it again"))
        else:
            out.append((step, None))
    return out
