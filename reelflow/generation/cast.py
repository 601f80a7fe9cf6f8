"""What a shot's cast puts into a generation request (pure but for hashing the images): the
reference images the routed model takes, first ones first, and the cast's descriptions folded
into the prompt, so a model that takes fewer (or no) images still hears who and where."""

from __future__ import annotations

from reelflow.plan.catalog import ModelSpec
from reelflow.plan.routing import reference_images
from reelflow.spec.shotlist import LoadedShotList, Shot
from reelflow.store.local import sha256_file


def cast_prompt(prompt: str, loaded: LoadedShotList, shot: Shot) -> str:
    described = [f"{name}: {entry.description.rstrip('.')}." for name, entry in loaded.spec.cast_of(shot)]
    return f"{prompt} {' '.join(described)}" if described else prompt


def cast_fields(loaded: LoadedShotList, shot: Shot, model: ModelSpec | None) -> dict:
    """GenerationRequest fields for the shot's cast on ``model`` ({} without a cast or voices):
    reference images, descriptions, and the speakers' voices in words for a model that speaks."""
    from reelflow.spec.voices import voice_prompt

    fields: dict = {}
    if shot.refs:
        images = reference_images(shot, loaded.spec)[: model.references.images if model else 0]
        paths = [loaded.resolve_asset(img) for img in images]
        fields = {"prompt": cast_prompt(shot.prompt, loaded, shot),
                  "reference_sha256s": tuple(sha256_file(p) for p in paths),
                  "reference_paths": tuple(str(p) for p in paths)}
    if model is not None and model.native_audio:
        prompt = fields.get("prompt", shot.prompt)
        voiced = voice_prompt(prompt, shot, loaded.spec.cast)
        if voiced != prompt:
            fields["prompt"] = voiced
    return fields
