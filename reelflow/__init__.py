"""reelflow: a shot list in git in, a finished multi-shot AI video edit out."""

import warnings as _warnings

# pydub looks for ffmpeg on PATH at import; we hand it imageio-ffmpeg's binary where needed.
_warnings.filterwarnings("ignore", message="Couldn't find ffmpeg or avconv", category=RuntimeWarning)
_warnings.filterwarnings("ignore", message="Couldn't find ffprobe or avprobe", category=RuntimeWarning)

__version__ = "0.1.0"

# Installed, flows/ and tasks/ ship inside this package (reelflow.flows, reelflow.tasks). In a source
# checkout they sit beside it (the repository's layout), e.g. in a worker's clone of this repository,
# where the clone's reelflow is imported first: look for them there too.
from pathlib import Path as _Path

_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "flows" / "__init__.py").is_file() and not (_Path(__file__).parent / "flows").is_dir():
    __path__.append(str(_checkout))  # type: ignore[name-defined]  # noqa: F821
