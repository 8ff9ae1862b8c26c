"""The one input layer: every file or payload a user or a client hands the toolkit passes here first.

Nothing untrusted reaches ``json``, numpy, PIL or PyAV unchecked: sizes, JSON nesting depth and integer length,
element, pixel and frame counts are capped *before* the expensive step (a 17 KB PNG can claim 12000^2 pixels, an
``.npy`` header can claim terabytes, JSON nested 100,000 deep overflows the parser's stack), and every value must be
a finite real number of the expected shape. Every refusal is an :class:`~cosmos_robotics.errors.InputError`
naming the field or file, what was expected and what came: the CLI prints it as one line, the server answers 4xx.
"""

from __future__ import annotations

import io
import json
import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cosmos_robotics.errors import InputError


@dataclass(frozen=True)
class Limits:
    """Caps on what one input may make us read, parse or decode."""

    max_bytes: int = 64 * 1024 * 1024  # one file or upload
    max_json_depth: int = 32
    max_int_digits: int = 20  # longer integer literals are refused (10^400 would overflow every float)
    max_elements: int = 2_000_000  # numbers in one array
    max_pixels: int = 4096 * 4096  # one image or video frame
    max_frames: int = 4096  # frames of one video
    max_decoded_bytes: int = 1024 * 1024 * 1024  # RGB bytes one video may decode to


DEFAULT_LIMITS = Limits()
# Array files (action chunks, poses): small by nature; a tight byte cap bounds the parser's memory (~50x the file).
ARRAY_FILE_LIMITS = Limits(max_bytes=16 * 1024 * 1024, max_elements=1_000_000)
REAL_KINDS = "fiu"  # numpy dtype kinds accepted as real numbers (bool, complex, object, strings are not)


def preview(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


# -- raw bytes ------------------------------------------------------------------------------------------------------
def read_file(path: str | Path, what: str, limits: Limits = DEFAULT_LIMITS) -> bytes:
    path = Path(path)
    try:
        if not path.is_file():
            raise InputError(what, "an existing file", f"{path} ({'a directory' if path.is_dir() else 'missing'})")
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise InputError(what, f"a file of at most {limits.max_bytes} bytes", f"{path} of {size} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise InputError(what, "a readable file", f"{path} ({exc.strerror or exc})") from None


def check_size(data: bytes, what: str, limits: Limits = DEFAULT_LIMITS) -> bytes:
    if len(data) > limits.max_bytes:
        raise InputError(what, f"at most {limits.max_bytes} bytes", f"{len(data)} bytes")
    if not data:
        raise InputError(what, "non-empty data", "0 bytes")
    return data


# -- JSON -----------------------------------------------------------------------------------------------------------
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def json_depth(data: bytes) -> int:
    """Deepest ``[``/``{`` nesting outside strings (linear; run before the recursive parser)."""
    codes = np.frombuffer(_JSON_STRING.sub(b'""', data), dtype=np.uint8)
    step = np.isin(codes, (0x5B, 0x7B)).astype(np.int64) - np.isin(codes, (0x5D, 0x7D))
    return int(np.cumsum(step).max(initial=0))


def parse_json(data: bytes | str, what: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Strict UTF-8 JSON: no NaN/Infinity, no float overflow, integers of at most ``max_int_digits`` digits."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    check_size(raw, what, limits)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(what, "UTF-8 text", f"invalid byte {raw[exc.start:exc.start + 1]!r} at {exc.start}") from None
    depth = json_depth(raw)
    if depth > limits.max_json_depth:
        raise InputError(what, f"JSON nested at most {limits.max_json_depth} deep", f"depth {depth}")

    def integer(token: str) -> int:
        if len(token.lstrip("-")) > limits.max_int_digits:
            raise InputError(what, f"integers of at most {limits.max_int_digits} digits", f"{len(token)} digits")
        return int(token)

    def real(token: str) -> float:
        value = float(token)
        if not np.isfinite(value):
            raise InputError(what, "finite numbers", f"{preview(token)} (overflows a float)")
        return value

    def constant(token: str):
        raise InputError(what, "finite numbers (JSON has no NaN/Infinity)", token)

    try:
        return json.loads(text, parse_int=integer, parse_float=real, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise InputError(what, "valid JSON", f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:  # the depth check above makes this unreachable in practice; kept as a last guard
        raise InputError(what, f"JSON nested at most {limits.max_json_depth} deep", "deeper") from None


def json_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(what, "a JSON object", type(value).__name__)
    return value


# -- numbers and arrays ---------------------------------------------------------------------------------------------
def _shape_label(shape: tuple[int | None, ...]) -> str:
    return "[" + ", ".join("N" if s is None else str(s) for s in shape) + "]"


def check_shape(array: np.ndarray, what: str, shape: tuple[int | None, ...] | None) -> np.ndarray:
    if shape is None:
        return array
    if array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape, strict=True)):
        raise InputError(what, f"shape {_shape_label(shape)}", f"shape {list(array.shape)}")
    return array


def real_array(value: Any, what: str, shape: tuple[int | None, ...] | None = None,
               limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """Nested lists / numbers / a numpy array -> finite float64 of ``shape`` (``None`` entries: any length).

    Lists are walked level by level, so ragged rows, strings, booleans and ``None`` are refused with their place
    instead of being coerced (numpy would turn ``"1"`` and ``True`` into 1.0).
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in REAL_KINDS:
            raise InputError(what, "real numbers", f"dtype {value.dtype}")
        if value.size > limits.max_elements:
            raise InputError(what, f"at most {limits.max_elements} numbers", f"{value.size}")
        array = value.astype(np.float64, copy=False)
    else:
        level, dims = [value], []
        while level and isinstance(level[0], list | tuple):
            width = len(level[0])
            for i, item in enumerate(level):
                if not isinstance(item, list | tuple) or len(item) != width:
                    got = f"length {len(item)}" if isinstance(item, list | tuple) else type(item).__name__
                    raise InputError(what, f"a rectangular array (rows of length {width} at depth {len(dims)})",
                                     f"{got} at row {i}")
            dims.append(width)
            if len(level) * max(width, 1) > limits.max_elements:
                raise InputError(what, f"at most {limits.max_elements} numbers", f"more ({dims}...)")
            level = [x for item in level for x in item]
        for i, x in enumerate(level):
            if type(x) not in (int, float) and not isinstance(x, np.integer | np.floating):
                kind = "a nested list (ragged)" if isinstance(x, list | tuple) else f"{type(x).__name__} {preview(x, 30)}"
                raise InputError(what, "real numbers", f"{kind} at flat index {i}")
        try:
            array = np.array(level, dtype=np.float64).reshape(dims)
        except OverflowError:
            raise InputError(what, "numbers that fit a float64", "an integer too large") from None
    if not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[:3].tolist()
        raise InputError(what, "finite numbers", f"NaN/inf at indices {bad}")
    return check_shape(array, what, shape)


def real_scalar(value: Any, what: str, kind: type = float, low: float | None = None, high: float | None = None):
    """A form value or JSON number -> a finite ``int``/``float`` in ``[low, high]``; strings are parsed strictly."""
    label = "an integer" if kind is int else "a number"
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        raise InputError(what, label, preview(value))
    text = value.strip() if isinstance(value, str) else value
    try:
        if kind is int:
            if isinstance(text, float):
                raise ValueError
            if isinstance(text, str) and len(text.lstrip("+-")) > DEFAULT_LIMITS.max_int_digits:
                raise ValueError
            number = int(text)
        else:
            number = float(text)
    except (TypeError, ValueError, OverflowError):
        raise InputError(what, label, preview(value)) from None
    if kind is float and not np.isfinite(number):
        raise InputError(what, "a finite number", preview(value))
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"in [{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise InputError(what, f"{label} {bounds}", preview(value))
    return number


# -- .npy / safetensors ---------------------------------------------------------------------------------------------
def load_npy(data: bytes, what: str, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """An ``.npy`` blob of real numbers; the header is checked before any data is read (no pickles)."""
    check_size(data, what, limits)
    buffer = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buffer)
        shape, _, dtype = np.lib.format._read_array_header(buffer, version, max_header_size=10000)
    except Exception as exc:  # noqa: BLE001 - numpy's header parser raises many types on malformed bytes
        raise InputError(what, "an .npy file", f"a malformed header ({type(exc).__name__}: {exc})") from None
    if dtype.kind not in REAL_KINDS or dtype.hasobject:
        raise InputError(what, "an .npy array of real numbers", f"dtype {dtype}")
    count = int(np.prod(shape, dtype=np.float64))
    if count > limits.max_elements or count * dtype.itemsize > len(data):
        raise InputError(what, f"at most {limits.max_elements} numbers, all present in the file",
                         f"shape {list(shape)} in {len(data)} bytes")
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(what, "an .npy file", f"unreadable data ({exc})") from None
    return real_array(array, what, None, limits)


def load_safetensors(data: bytes, what: str, limits: Limits = DEFAULT_LIMITS) -> dict[str, np.ndarray]:
    """A safetensors blob; its JSON header is size- and depth-checked before the tensors are read."""
    import safetensors.numpy
    from safetensors import SafetensorError

    check_size(data, what, limits)
    if len(data) < 8:
        raise InputError(what, "a safetensors blob", f"{len(data)} bytes")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > min(len(data) - 8, 1024 * 1024):
        raise InputError(what, "a safetensors blob", f"a header length of {header_len} bytes in {len(data)}")
    parse_json(data[8 : 8 + header_len], f"{what} header", limits)
    try:
        return safetensors.numpy.load(data)
    except (SafetensorError, ValueError, TypeError) as exc:
        raise InputError(what, "a safetensors blob", f"unreadable ({exc})") from None


def read_array_file(path: str | Path, what: str, key: str | None = None,
                    shape: tuple[int | None, ...] | None = None, limits: Limits = ARRAY_FILE_LIMITS) -> np.ndarray:
    """``.npy``, or JSON holding an array (``key``: also accept ``{key: array}``) -> finite float64."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".json"):
        raise InputError(what, "a .json or .npy file", f"{path.name!r}")
    data = read_file(path, what, limits)
    if suffix == ".npy":
        return check_shape(load_npy(data, f"{what} {path.name}", limits), f"{what} {path.name}", shape)
    label = f"{what} {path.name}"
    value = parse_json(data, label, limits)
    if isinstance(value, dict):
        if key is None or key not in value:
            raise InputError(label, f"an array or a JSON object with key {key!r}" if key else "an array",
                             f"an object with keys {preview(sorted(value))}")
        value, label = value[key], f"{label}[{key!r}]"
    return real_array(value, label, shape, limits)


# -- images and video -----------------------------------------------------------------------------------------------
def decode_image(data: bytes, what: str = "image", limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """PNG/JPEG/... bytes -> uint8 ``[H, W, 3]``; the pixel count is checked from the header before decoding."""
    from PIL import Image

    check_size(data, what, limits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > limits.max_pixels or min(width, height) < 1:
                    raise InputError(what, f"an image of 1..{limits.max_pixels} pixels", f"{width}x{height}")
                return np.asarray(image.convert("RGB"))
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - PIL's decoders raise OSError, SyntaxError, ValueError, struct.error...
            raise InputError(what, "a decodable image (PNG/JPEG)",
                             f"{len(data)} bytes ({type(exc).__name__}: {preview(str(exc), 80)})") from None


def read_image(path: str | Path, what: str = "image", limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    return decode_image(read_file(path, what, limits), f"{what} {Path(path).name}", limits)


def decode_video(source: bytes | str | Path, what: str, max_frames: int | None = None,
                 limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """A video (bytes or path) -> uint8 ``[F, H, W, 3]``, decoding at most ``max_frames`` frames.

    The stream's frame size is read from the container first; what the decode would need (frames x pixels x 3) must
    fit ``max_decoded_bytes``, so a small file cannot make us hold gigabytes.
    """
    import av

    data = check_size(source, what, limits) if isinstance(source, bytes) else read_file(source, what, limits)
    wanted = min(max_frames or limits.max_frames, limits.max_frames)
    frames: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise InputError(what, "a video stream", "a file without one")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if not 0 < width * height <= limits.max_pixels:
                raise InputError(what, f"frames of 1..{limits.max_pixels} pixels", f"{width}x{height}")
            if wanted * width * height * 3 > limits.max_decoded_bytes:
                wanted = max(1, limits.max_decoded_bytes // (width * height * 3))
                if max_frames is not None and wanted < max_frames:
                    raise InputError(what, f"{max_frames} frames within {limits.max_decoded_bytes} decoded bytes",
                                     f"{width}x{height} frames")
            for frame in container.decode(stream):
                if (frame.width, frame.height) != (width, height):
                    raise InputError(what, f"frames of one size {width}x{height}", f"{frame.width}x{frame.height}")
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) >= wanted:
                    break
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - libav errors surface as many av.error / OSError / ValueError types
        raise InputError(what, "a decodable video (mp4)",
                         f"{len(data)} bytes ({type(exc).__name__}: {preview(str(exc), 80)})") from None
    if not frames:
        raise InputError(what, "a video with at least one decodable frame", "none")
    return np.stack(frames)


def read_video(path: str | Path, max_frames: int | None = None, what: str = "video",
               limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    return decode_video(Path(path), f"{what} {Path(path).name}", max_frames, limits)
