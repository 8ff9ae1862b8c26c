"""Which video decoder LeRobot should use here, chosen once and silently.

LeRobot's own default probes ``torchcodec`` and, where its FFmpeg libraries are missing (e.g. ``libavutil.so.56``),
logs the whole loader traceback before falling back to PyAV. We probe the same way without the noise and always
pass the result explicitly, so loading a dataset prints nothing unless asked, and callers can say which it uses.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from functools import cache


@cache
def video_backend() -> tuple[str, str]:
    """``(backend, why)``: ``"torchcodec"`` when it imports and loads its libraries, else ``"pyav"``."""
    if importlib.util.find_spec("torchcodec") is None:
        return "pyav", "torchcodec is not installed"
    try:
        importlib.import_module("torchcodec")
    except (ImportError, OSError, RuntimeError) as exc:
        missing = sorted(set(re.findall(r"(lib[\w.+-]+\.so[.\d]*): cannot open", str(exc))))
        reason = type(exc).__name__
        if missing:
            reason = f"missing {missing[0]}" + (f" or any of {len(missing) - 1} other versions" if len(missing) > 1 else "")
        return "pyav", f"torchcodec cannot load its FFmpeg libraries here ({reason})"
    return "torchcodec", "torchcodec loads here"
