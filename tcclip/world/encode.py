"""Writing the world's clips as ``.mp4`` files, byte-for-byte reproducibly."""

from __future__ import annotations

import os

import numpy as np

from tcclip.io import atomic_path

__all__ = ["encode_mp4"]


def _pick_encoder() -> str:
    """libx264 when the PyAV wheel has it (what real datasets use), else MPEG-4 part 2."""
    import av

    for name in ("libx264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001  (PyAV raises several types across versions)
            continue
    raise RuntimeError("this PyAV build has neither libx264 nor mpeg4 encoders; "
                       "install the PyPI wheel: pip install 'av>=12'")


def encode_mp4(frames: np.ndarray, path: str | os.PathLike, fps: int = 8,
               codec: str | None = None) -> None:
    """Write uint8 (T, H, W, 3) RGB frames to ``path`` atomically (temp file + rename).

    Single-threaded constant-QP encoding keeps the bytes (hence the decoded frames)
    identical across runs, processes and worker counts with the same library versions;
    x264's CRF mode was seen to give different bytes for the same frames from one call to
    the next, so it is not used.
    """
    import av

    codec = codec or _pick_encoder()
    with atomic_path(path) as tmp:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = container.add_stream(codec, rate=fps)
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.codec_context.thread_count = 1
            if codec == "libx264":
                stream.options = {"qp": "12", "preset": "veryfast", "threads": "1"}
            else:
                stream.options = {"qscale": "2"}
            for frame in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
