"""reelflow: a shot list in git in, a finished multi-shot AI video edit out."""

import warnings as _warnings

# pydub looks for ffmpeg on PATH at import; we hand it imageio-ffmpeg's binary where needed.
_warnings.filterwarnings("ignore", message="Couldn't find ffmpeg or avconv", category=RuntimeWarning)
_warnings.filterwarnings("ignore", message="Couldn't find ffprobe or avprobe", category=RuntimeWarning)

__version__ = "0.1.0"
