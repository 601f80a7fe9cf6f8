"""Reading the model catalog: the built-in catalog.yaml, overlaid with a user's file."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from reelflow.errors import CatalogError
from reelflow.plan.catalog import Catalog


def _read(path: Path | None) -> dict:
    if path is None:
        text = resources.files("reelflow").joinpath("catalog.yaml").read_text(encoding="utf-8")
        where = "built-in catalog"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogError(f"cannot read catalog {path}: {exc}") from None
        where = str(path)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise CatalogError(f"{where}: malformed YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{where}: a catalog must be a mapping")
    return data


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Built-in catalog, overlaid with ``path`` or $REELFLOW_CATALOG when given."""
    data = _read(None)
    overlay_path = path or os.environ.get("REELFLOW_CATALOG")
    if overlay_path:
        overlay = _read(Path(overlay_path))
        for key in ("routes", "models"):
            data.setdefault(key, {}).update(overlay.get(key) or {})
        if "route_preference" in overlay:
            data["route_preference"] = overlay["route_preference"]
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise CatalogError(f"catalog: {loc}: {first['msg']}") from None
