"""Frame-accurate video decoding with decord, falling back to PyAV.

Why two backends: decord (the reference release's decoder) reads arbitrary frame indices
fast, but it has no wheels for some platforms (e.g. aarch64, macOS arm64). PyAV is installable
everywhere; both wrap FFmpeg, so for the same 8-bit file they return bit-identical RGB frames
(tests check yuv420p, yuv422p, yuv444p, yuvj420p and gray). They are not identical for video
with more than 8 bits per sample *and* subsampled chroma (yuv420p10le, yuv422p10le: HDR and
some phone video): decord bundles FFmpeg 4.1 and PyAV a current FFmpeg, whose swscale
upsamples such chroma differently, so colours near edges differ by a few levels on average
and by tens of levels at sharp colour edges (a test measures it on a 10-bit file). There is no
way to ask decord for the decoder's native pixels, so both cannot be made to convert the same
way; :func:`backends_agree` says which pixel formats are affected, ``check`` counts them, and
re-encoding to 8 bits (``data_scripts/reencode.py``) makes every platform see the same pixels.

Every function returns ``torch.uint8`` tensors shaped ``[T, 3, H, W]`` (RGB). Grayscale videos
come out as 3 identical channels (both backends convert to rgb24). Videos with a rotation in
their display matrix (phone videos) come out upright: decord applies the rotation itself, and
for PyAV we read ``frame.rotation`` and turn the frames the same way (a test checks both).

decord 0.6 has a known bug (dmlc/decord#336): for some frame widths (e.g. 24, 48, 72 pixels)
it returns 4-channel frames and ``get_batch`` fails. Whenever decord fails on a file we retry
it with PyAV, so only files that neither backend can read raise ``VideoDecodeError``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch

Backend = Literal["auto", "decord", "pyav"]
Indices = Sequence[int] | torch.Tensor | np.ndarray
IndexChooser = Callable[[int], Indices]

logger = logging.getLogger("tcclip.data")


class VideoDecodeError(RuntimeError):
    """A video could not be read: missing, empty, corrupt, or without decodable frames."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot decode video {self.path}: {reason}")


def decord_available() -> bool:
    return importlib.util.find_spec("decord") is not None


def pyav_available() -> bool:
    return importlib.util.find_spec("av") is not None


def resolve_backend(backend: Backend = "auto") -> Literal["decord", "pyav"]:
    """'auto' means decord when importable, else PyAV; explicit choices are checked."""
    if backend == "auto":
        if decord_available():
            return "decord"
        if pyav_available():
            return "pyav"
        raise ImportError("no video decoder: install decord (x86_64) or av (PyAV)")
    if backend == "decord":
        if not decord_available():
            raise ImportError("backend='decord' requested but decord is not installed")
        return "decord"
    if backend == "pyav":
        if not pyav_available():
            raise ImportError("backend='pyav' requested but av (PyAV) is not installed")
        return "pyav"
    raise ValueError(f"unknown video backend {backend!r}; use 'auto', 'decord' or 'pyav'")


def backends_agree(pix_fmt: str) -> bool:
    """Whether decord and PyAV return identical RGB for video stored in ``pix_fmt``.

    True for 8-bit formats and for deeper ones without chroma subsampling (yuv444p10le,
    gray10le); False for deeper formats with subsampled chroma (yuv420p10le, yuv422p10le,
    p010le), where the two FFmpeg versions' chroma upsampling differs (module docstring).
    """
    import av

    fmt = av.VideoFormat(pix_fmt)
    deep = any(component.bits > 8 for component in fmt.components)
    subsampled = len(fmt.components) >= 3 and (fmt.chroma_width(64) < 64 or fmt.chroma_height(64) < 64)
    return not (deep and subsampled)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise VideoDecodeError(path, "file does not exist")
    if not path.is_file():
        raise VideoDecodeError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise VideoDecodeError(path, "file is empty (0 bytes)")


def _as_index_list(indices: Indices) -> list[int]:
    if isinstance(indices, torch.Tensor):
        return [int(i) for i in indices.flatten().tolist()]
    return [int(i) for i in np.asarray(indices).reshape(-1).tolist()]


def _check_indices(path: Path, indices: list[int], num_frames: int) -> None:
    if not indices:
        raise ValueError("no frame indices requested")
    bad = [i for i in indices if i < 0 or i >= num_frames]
    if bad:
        raise IndexError(f"frame indices {bad[:5]} out of range for {path} with {num_frames} frames")


def _to_tensor(frames_thwc: np.ndarray, path: Path) -> torch.Tensor:
    """[T, H, W, C] uint8 numpy -> [T, 3, H, W] torch.uint8; 1 channel is repeated to 3."""
    if frames_thwc.ndim == 3:  # [T, H, W] grayscale
        frames_thwc = frames_thwc[..., None]
    if frames_thwc.ndim != 4 or frames_thwc.shape[-1] not in (1, 3):
        raise VideoDecodeError(path, f"decoder returned an unexpected array of shape {frames_thwc.shape}")
    video = torch.from_numpy(np.ascontiguousarray(frames_thwc)).permute(0, 3, 1, 2)
    if video.shape[1] == 1:
        video = video.expand(-1, 3, -1, -1)
    return video.contiguous()


def _rotate_upright(video: torch.Tensor, rotation_ccw_degrees: int) -> torch.Tensor:
    """Applies the display-matrix rotation (counter-clockwise degrees, as PyAV reports it)."""
    quarter_turns = int(round(rotation_ccw_degrees / 90.0)) % 4
    if quarter_turns == 0:
        return video
    return torch.rot90(video, k=quarter_turns, dims=(-2, -1)).contiguous()


def _pyav_read(path: Path, chooser: IndexChooser, num_threads: int,
               details: dict[str, object] | None = None) -> torch.Tensor:
    """Decodes sequentially up to the last wanted frame.

    Written by hand instead of seeking: PyAV seeks to key frames by timestamp, and mapping a
    frame index to a timestamp is unreliable for variable-frame-rate files. Sequential decoding
    is exact and cheap for the short clips of action recognition datasets.
    """
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoDecodeError(path, "no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = max(0, int(num_threads))
            num_frames = stream.frames
            if num_frames <= 0:  # container does not store a count (e.g. mkv, some webm)
                num_frames = _pyav_count_packets(path)
            if num_frames <= 0:
                raise VideoDecodeError(path, "no decodable frames")
            wanted = _as_index_list(chooser(num_frames))
            _check_indices(path, wanted, num_frames)
            needed = set(wanted)
            last_needed = max(wanted)
            decoded: dict[int, np.ndarray] = {}
            rotation = 0
            last_frame = None
            last_index = -1
            damage: str | None = None
            for frame in _pyav_frames(container, stream):
                if isinstance(frame, str):  # the decoder stopped on damaged data
                    damage = frame
                    break
                index = last_index + 1
                if index == 0:
                    rotation = int(getattr(frame, "rotation", 0) or 0)
                last_index, last_frame = index, frame
                if index in needed:
                    decoded[index] = frame.to_ndarray(format="rgb24")
                if index >= last_needed:
                    break
            if last_frame is None:
                raise VideoDecodeError(path, damage or "no decodable frames")
            # The stored frame count can exceed what actually decodes (a truncated download, a
            # damaged tail): repeat the last frame that did decode for the indices past it
            # rather than lose the clip.
            if last_index < last_needed:
                logger.warning("%s: only %d of %d frames decode%s; repeating the last one", path, last_index + 1,
                               num_frames, f" ({damage})" if damage else "")
                if details is not None:
                    details.update(frames_in_header=num_frames, frames_decoded=last_index + 1)
                fill = last_frame.to_ndarray(format="rgb24")
                for index in needed:
                    if index > last_index:
                        decoded[index] = fill
    except VideoDecodeError:
        raise
    except av.error.FFmpegError as error:  # checked first: some subclass ValueError
        raise VideoDecodeError(path, f"{type(error).__name__}: {error}") from error
    except (IndexError, ValueError):  # bad indices from the caller: a programming error
        raise
    except Exception as error:  # OS errors and anything else FFmpeg-related
        raise VideoDecodeError(path, f"{type(error).__name__}: {error}") from error
    frames = np.stack([decoded[i] for i in wanted])
    return _rotate_upright(_to_tensor(frames, path), rotation)


def _pyav_frames(container, stream) -> Iterator[object]:
    """The stream's frames in order; on damaged data, a last item: the error message (a str).

    Hand-written instead of ``container.decode(stream)``, which raises on the first bad packet
    and loses the frames still buffered in the decoder: here a read or decode error ends the
    stream, the decoder is flushed, and the caller decides what the frames so far are worth.
    """
    import av

    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.error.FFmpegError as error:  # the container ends mid-packet
            yield from _pyav_flush(stream)
            yield f"{type(error).__name__}: {error}"
            return
        try:
            frames = stream.decode(packet)  # an empty packet at the end flushes the decoder
        except av.error.FFmpegError as error:  # a cut or corrupt packet
            yield from _pyav_flush(stream)
            yield f"{type(error).__name__}: {error}"
            return
        yield from frames


def _pyav_flush(stream) -> list[object]:
    """The frames still buffered in the decoder (none if it cannot be drained)."""
    import av

    try:
        return list(stream.decode(None))
    except av.error.FFmpegError:
        return []


def _pyav_count_packets(path: Path) -> int:
    """Counts non-empty video packets (one per frame) when the container stores no count."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size > 0)


def _decord_reader(path: Path, num_threads: int):  # -> decord.VideoReader
    import decord

    try:
        return decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=int(num_threads))
    except Exception as error:  # decord raises DECORDError / RuntimeError on corrupt files
        raise VideoDecodeError(path, f"{type(error).__name__}: {str(error).splitlines()[0][:200]}") from error


def _decord_read(path: Path, chooser: IndexChooser, num_threads: int) -> torch.Tensor:
    reader = _decord_reader(path, num_threads)
    num_frames = len(reader)
    if num_frames <= 0:
        raise VideoDecodeError(path, "no decodable frames")
    wanted = _as_index_list(chooser(num_frames))
    _check_indices(path, wanted, num_frames)
    try:
        frames = reader.get_batch(wanted).asnumpy()
    except Exception as error:
        raise VideoDecodeError(path, f"{type(error).__name__}: {str(error).splitlines()[0][:200]}") from error
    return _to_tensor(frames, path)


def read_video_frames(
    path: str | os.PathLike[str],
    indices: Indices | IndexChooser,
    backend: Backend = "auto",
    num_threads: int = 1,
    *,
    details: dict[str, object] | None = None,
) -> torch.Tensor:
    """Decodes the frames at ``indices`` -> ``torch.uint8 [T, 3, H, W]`` (RGB, upright).

    ``indices`` may be a sequence / tensor of frame numbers, or a function ``num_frames ->
    indices``: then the file is opened once and the function chooses frames knowing the
    length (what the datasets do, saving a second open for ``count_frames``).
    ``num_threads`` is the decoder's thread count (0 lets FFmpeg decide).
    Raises VideoDecodeError (with the path) for missing, empty or undecodable files.
    ``details``, if given, receives ``frames_in_header`` and ``frames_decoded`` when fewer
    frames decoded than the header promised (the last one was repeated; ``check`` reports it).
    """
    path = Path(path)
    chosen = resolve_backend(backend)
    _check_file(path)
    chooser: IndexChooser = indices if callable(indices) else (lambda _n, fixed=indices: fixed)
    if chosen == "pyav":
        return _pyav_read(path, chooser, num_threads, details)
    try:
        return _decord_read(path, chooser, num_threads)
    except VideoDecodeError as decord_error:
        if not pyav_available():
            raise
        # decord 0.6 fails on some frame widths (see module docstring); PyAV decodes the same
        # pixels, so a file only counts as broken when PyAV cannot read it either.
        logger.debug("decord failed on %s (%s); retrying with PyAV", path, decord_error.reason)
        try:
            return _pyav_read(path, chooser, num_threads, details)
        except VideoDecodeError as pyav_error:
            raise VideoDecodeError(path, f"{pyav_error.reason} (decord: {decord_error.reason})") from pyav_error


def count_frames(path: str | os.PathLike[str], backend: Backend = "auto") -> int:
    """Number of frames in the video (what ``indices`` may range over)."""
    path = Path(path)
    chosen = resolve_backend(backend)
    _check_file(path)
    if chosen == "decord":
        try:
            count = len(_decord_reader(path, 1))
        except VideoDecodeError:
            if not pyav_available():
                raise
            count = _pyav_count(path)  # as read_video_frames does: PyAV gets a second chance
    else:
        count = _pyav_count(path)
    if count <= 0:
        raise VideoDecodeError(path, "no decodable frames")
    return count


def _pyav_count(path: Path) -> int:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoDecodeError(path, "no video stream")
            count = container.streams.video[0].frames
        return count if count > 0 else _pyav_count_packets(path)
    except VideoDecodeError:
        raise
    except Exception as error:
        raise VideoDecodeError(path, f"{type(error).__name__}: {error}") from error


def video_info(path: str | os.PathLike[str]) -> dict[str, object]:
    """Width, height, fps, frame count, codec and rotation (via PyAV); for dataset checks."""
    import av

    path = Path(path)
    _check_file(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoDecodeError(path, "no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            return {
                "width": int(stream.codec_context.width),
                "height": int(stream.codec_context.height),
                "fps": float(rate) if rate else None,
                "frames": int(stream.frames),
                "codec": stream.codec_context.name,
                "pix_fmt": stream.codec_context.pix_fmt,
            }
    except VideoDecodeError:
        raise
    except Exception as error:
        raise VideoDecodeError(path, f"{type(error).__name__}: {error}") from error


def write_video(
    path: str | os.PathLike[str],
    frames: np.ndarray | torch.Tensor,
    fps: int = 10,
    codec: str = "libx264",
    pix_fmt: str = "yuv444p",
    options: dict[str, str] | None = None,
    rotation: int = 0,
    container_options: dict[str, str] | None = None,
) -> Path:
    """Encodes RGB frames ``[T, H, W, 3]`` uint8 with PyAV (for tests, benchmarks, examples).

    The default (H.264, 4:4:4 chroma, qp 0) is lossless up to the RGB <-> YUV rounding, so
    decoded frames are within a few levels of the input. ``pix_fmt="gray"`` (with a codec that
    supports it, e.g. "ffv1" in .mkv) writes a grayscale video; ``rotation`` stores a display
    rotation (counter-clockwise degrees) in the container, as phones do. ``container_options``
    go to the muxer (e.g. ``{"movflags": "faststart"}`` puts the MP4 index first).
    """
    import av

    path = Path(path)
    array = frames.numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {array.dtype} {array.shape}")
    if options is None:
        options = {"qp": "0"} if codec.startswith("libx264") else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", options=dict(container_options or {})) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = int(array.shape[2]), int(array.shape[1])
        stream.pix_fmt = pix_fmt
        stream.options = dict(options)
        if rotation:
            stream.set_display_rotation(rotation)
        for image in array:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
