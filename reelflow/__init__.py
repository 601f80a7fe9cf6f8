"""reelflow: a shot list in git in, a finished multi-shot AI video edit out."""

import warnings as _warnings

# pydub looks for ffmpeg on PATH at import; we hand it imageio-ffmpeg's binary where needed.
_warnings.filterwarnings("ignore", message="Couldn't find ffmpeg or avconv", category=RuntimeWarning)
_warnings.filterwarnings("ignore", message="Couldn't find ffprobe or avprobe", category=RuntimeWarning)
# Pillow warns (naming the file) about images past ~89 Mpx as it opens them; asset_checks refuses
# anything over 8192 px a side from the header, in one line, so the warning would only come first.
_warnings.filterwarnings("ignore", message=r"Image size \(\d+ pixels\) exceeds limit")

__version__ = "0.1.0"

# Installed, flows/ and tasks/ ship inside this package (reelflow.flows, reelflow.tasks). In a source
# checkout they sit beside it (the repository's layout) and reelflow/flows, reelflow/tasks are
# symlinks to them (so `lint-imports` and a bare checkout see one package); where a checkout has no
# symlinks (git's core.symlinks=false), look for them beside the package.
from pathlib import Path as _Path

_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "flows" / "__init__.py").is_file() and not (_Path(__file__).parent / "flows").is_dir():
    __path__.append(str(_checkout))  # type: ignore[name-defined]  # noqa: F821
