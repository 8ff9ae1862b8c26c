"""openpi's msgpack array format, on the ``msgpack`` library alone (no ``openpi-client``: it pins numpy < 2).

An array travels as the map ``{b"__ndarray__": True, b"data": bytes, b"dtype": "<f4", b"shape": [..]}``, a numpy
scalar as ``{b"__npgeneric__": True, b"data": value, b"dtype": ..}``. Object, structured and complex dtypes are
refused both ways (openpi refuses them so that nothing ever falls back to pickle). Decoded arrays are writable
copies: openpi's own decoder returns read-only views of the message buffer, which break in-place code.
"""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np

from cosmos_robotics.errors import PayloadError

REFUSED_KINDS = "VOc"  # structured/void, object, complex


def _pack(obj: Any) -> Any:
    if isinstance(obj, np.ndarray | np.generic) and obj.dtype.kind in REFUSED_KINDS:
        raise PayloadError("array", "a numeric, bool or bytes dtype", f"dtype {obj.dtype}")
    if isinstance(obj, np.ndarray):
        return {b"__ndarray__": True, b"data": np.ascontiguousarray(obj).tobytes(), b"dtype": obj.dtype.str,
                b"shape": list(obj.shape)}
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    raise PayloadError("message value", "dicts, lists, str, bytes, numbers or numpy arrays", type(obj).__name__)


def _unpack(obj: dict) -> Any:
    if b"__ndarray__" in obj:
        try:
            dtype, shape = np.dtype(obj[b"dtype"]), tuple(int(n) for n in obj[b"shape"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PayloadError("__ndarray__", "dtype and shape entries", f"{exc}") from None
        if dtype.kind in REFUSED_KINDS:
            raise PayloadError("__ndarray__ dtype", "a numeric, bool or bytes dtype", str(dtype))
        data = obj.get(b"data")
        if not isinstance(data, bytes) or len(data) != dtype.itemsize * int(np.prod(shape)):
            raise PayloadError("__ndarray__ data", f"{dtype.itemsize * int(np.prod(shape))} bytes for {dtype} "
                               f"{shape}", f"{len(data) if isinstance(data, bytes) else type(data).__name__}")
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if b"__npgeneric__" in obj:
        try:
            return np.dtype(obj[b"dtype"]).type(obj[b"data"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PayloadError("__npgeneric__", "a dtype and a value", str(exc)) from None
    return obj


def packb(obj: Any) -> bytes:
    """A message (dict / list / array ...) -> bytes in openpi's format."""
    return msgpack.packb(obj, default=_pack)


def unpackb(data: bytes) -> Any:
    """Bytes in openpi's format -> the message; anything undecodable is a ``PayloadError``."""
    try:
        return msgpack.unpackb(data, object_hook=_unpack)
    except PayloadError:
        raise
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise PayloadError("message", "one msgpack value in openpi's array format", f"{type(exc).__name__}: {exc}") \
            from None
