"""Loader throughput: clips/s for decord vs PyAV, and for DataLoader with 1 and 2 workers.

Why: decoding is usually the bottleneck of video training on CPU-poor machines; this says
whether decord is worth having and how the loader scales with workers on this machine.

    python benchmarks/bench_loader.py [--videos 12] [--frames 64] [--size 112] [--seconds 4]

It writes small H.264 clips (4:2:0, like real datasets) into a temporary folder, then times
(1) decoding 16 segment-sampled frames per clip with each backend and (2) a training
VideoDataset (decode + augment) through a DataLoader. Takes well under a minute.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from tcclip.data.datasets import VideoDataset
from tcclip.data.decoding import decord_available, read_video_frames, write_video
from tcclip.data.sampling import segment_indices


def make_clips(folder: Path, num_videos: int, num_frames: int, height: int, width: int) -> tuple[Path, Path]:
    """Moving gradients (so the encoder has real motion to code); returns list and label file."""
    lines = []
    yy, xx = np.mgrid[0:height, 0:width]
    for v in range(num_videos):
        frames = np.empty((num_frames, height, width, 3), np.uint8)
        for t in range(num_frames):
            frames[t, ..., 0] = (xx * 2 + t * 3 + v * 17) % 256
            frames[t, ..., 1] = (yy * 2 + t * 2) % 256
            frames[t, ..., 2] = ((xx + yy) // 2 + v * 29) % 256
        rel = f"class_{v % 3}/clip_{v:03d}.mp4"
        write_video(folder / "videos" / rel, frames, fps=25, pix_fmt="yuv420p", options={"crf": "23"})
        lines.append(f"{rel} {v % 3}")
    list_file = folder / "list.txt"
    list_file.write_text("\n".join(lines) + "\n")
    labels = folder / "labels.csv"
    labels.write_text("id,name\n0,zero\n1,one\n2,two\n")
    return list_file, labels


def rate(work: Callable[[], int], seconds: float) -> float:
    """Calls ``work`` (which returns how many clips it produced) until ``seconds`` pass."""
    work()  # warm-up: imports, file cache, worker start-up are not what we measure
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += work()
    return done / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--frames", type=int, default=64, help="frames per generated video")
    parser.add_argument("--height", type=int, default=180)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--size", type=int, default=112, help="training crop size")
    parser.add_argument("--num-frames", type=int, default=16, help="frames sampled per clip")
    parser.add_argument("--seconds", type=float, default=4.0, help="time per measurement")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        list_file, labels = make_clips(folder, args.videos, args.frames, args.height, args.width)
        paths = sorted((folder / "videos").rglob("*.mp4"))
        backends = (["decord"] if decord_available() else []) + ["pyav"]
        for backend in backends:
            def decode_all(backend: str = backend) -> int:
                for path in paths:
                    read_video_frames(path, lambda n: segment_indices(n, args.num_frames, "train"), backend=backend)
                return len(paths)

            rows.append((f"decode only, {backend}", rate(decode_all, args.seconds)))
        for workers in (1, 2):
            dataset = VideoDataset(list_file, folder / "videos", labels, num_frames=args.num_frames,
                                   mode="train", size=args.size)
            loader = DataLoader(dataset, batch_size=4, num_workers=workers, shuffle=True,
                                persistent_workers=True)

            def one_epoch(loader: DataLoader = loader) -> int:
                return sum(int(batch["video"].shape[0]) for batch in loader)

            rows.append((f"DataLoader train, backend auto, num_workers={workers}", rate(one_epoch, args.seconds)))

    print(f"{args.videos} videos of {args.frames} frames at {args.width}x{args.height}, "
          f"{args.num_frames} frames per clip, crop {args.size}")
    width = max(len(name) for name, _ in rows)
    print(f"| {'setting':<{width}} | clips/s |")
    print(f"|{'-' * (width + 2)}|---------|")
    for name, clips_per_second in rows:
        print(f"| {name:<{width}} | {clips_per_second:7.1f} |")


if __name__ == "__main__":
    main()
