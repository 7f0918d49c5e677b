"""What can a readout of the tiny CLIP's frame features tell about the rings and the time-reversed pairs?

    python tools/readout_probe.py --out results/miniature/learning/readout_probe.json

Chapter 10 asks why no fine-tuned model gains 25 points over CLIP on the world: the arithmetic
(``tcclip.book.experiments.family_accuracy_needed``) says ViFi-CLIP could only do so by getting
more than a third of the test rings right, and the runs leave them at chance. This asks the
features instead of the training: the profile's pretrained tiny CLIP encodes every frame of the
training and test clips of the across-frames family (the rings) and of the time-reversed pairs,
and a linear classifier is fitted on each readout of ``ex.FRAME_READOUTS`` (the mean over frames,
which is all a frame-averaging model scores; the spread over frames; the frames in order), on
the training clips, and scored on the test clips (``ex.probe_readouts``). No fine-tuning: the
question is whether the information is in the frames, and which readout keeps it.

Writes the JSON record (per family and readout: training and test top-1, chance, clip counts;
machine, weights digest, world hash, wall time) and prints a table.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import torch

#: The families probed (the appearance family is decided by one frame: every readout keeps it).
FAMILIES = ("across_frames", "time_direction")


@torch.no_grad()
def frame_features(model, videos: torch.Tensor, batch: int = 32) -> torch.Tensor:
    """The model's projected per-frame [CLS] features [N, T, E] (what ViFi-CLIP averages)."""
    return torch.cat([model.encode_video(videos[i:i + batch]).frame_features for i in range(0, len(videos), batch)])


def probe_world(world, weights: Optional[str], families: Sequence[str] = FAMILIES, steps: int = 2000) -> dict:
    """{family: {"classes", "train_videos", "test_videos", "chance_top1", "readouts"}} for ``world``.

    Each split is decoded and encoded once; a family's clips are then picked by label (the frame
    features do not depend on the class names)."""
    from tcclip.book import experiments as ex
    from tcclip.models import build_model
    from tcclip.world.pretrain import CLIP_NAME, load_test_videos
    from tcclip.world.synthetic import build_classes

    torch.manual_seed(0)  # the plain CLIP model has no new parameters; fixed anyway
    model = build_model("clip", list(world.classes), clip=CLIP_NAME, pretrained=weights, num_frames=8).eval()
    encoded = {}
    for split in ("train", "test"):
        videos, labels, names = load_test_videos(world, split=split)
        encoded[split] = (frame_features(model, videos), labels, names)
    specs = build_classes(list(world.classes))
    out = {}
    for family in families:
        classes = [s.name for s in specs if s.family == family]
        if len(classes) < 2:
            continue
        picked = {}
        for split, (features, labels, names) in encoded.items():
            index = torch.tensor([classes.index(names[y]) if names[y] in classes else -1 for y in labels.tolist()])
            keep = index >= 0
            picked[split] = (features[keep], index[keep])
        readouts = ex.probe_readouts(picked["train"], picked["test"], steps=steps)
        out[family] = {"classes": classes, "train_videos": len(picked["train"][1]),
                       "test_videos": len(picked["test"][1]), "chance_top1": 100.0 / len(classes),
                       "readouts": {k: {m: round(v, 2) for m, v in r.items()} for k, r in readouts.items()}}
    return out


def table(families: dict) -> str:
    lines = ["| family | readout | training clips | test clips | chance |", "|---|---|---|---|---|"]
    for family, rec in families.items():
        for name, r in rec["readouts"].items():
            lines.append(f"| {family.replace('_', ' ')} | {name} | {r['train_top1']:.1f} | {r['test_top1']:.1f} | "
                         f"{rec['chance_top1']:.1f} |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the JSON record to write")
    parser.add_argument("--data-root", default=None,
                        help="folder holding a world's 'synthetic' folder (default: the tiny profile's, made on first use)")
    parser.add_argument("--size", default="default", help="that world's size preset (with --data-root)")
    parser.add_argument("--weights", default=None, help="TC-Tiny weights (default: the tiny profile's, made on first use)")
    parser.add_argument("--random-weights", action="store_true", help="random CLIP weights (for tests)")
    parser.add_argument("--steps", type=int, default=2000, help="full-batch steps of each linear probe")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    from tcclip.book.experiments import _file_digest
    from tcclip.train.protocols import git_commit, machine_info
    from tcclip.world.assets import clip_weights, synthetic_world
    from tcclip.world.synthetic import generate_video_world

    torch.set_num_threads(args.threads)
    started = time.time()
    world = (generate_video_world(Path(args.data_root) / "synthetic", size=args.size) if args.data_root
             else synthetic_world())  # an existing world is only described, not redrawn
    weights = None if args.random_weights else (args.weights or str(clip_weights()))
    families = probe_world(world, weights, steps=args.steps)
    record = {"command": " ".join(["python", "tools/readout_probe.py", *(argv if argv is not None else sys.argv[1:])]),
              "git_commit": git_commit(), "machine": machine_info(), "world_hash": world.param_hash,
              "weights_digest": _file_digest(weights) if weights else None, "probe_steps": args.steps,
              "families": families, "wall_time_s": round(time.time() - started, 1)}
    record["table"] = table(families)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    print(record["table"])
    print(f"wrote {out} ({record['wall_time_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
