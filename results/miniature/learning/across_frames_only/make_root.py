"""A data root holding only some classes of the tiny profile's world: relabelled lists, the videos linked.

    python results/miniature/learning/across_frames_only/make_root.py ROOT "name|name|..."

Kept with the measurement it made (issue 14); not a tool yet.
"""
import os
import sys
from pathlib import Path

from tcclip.data.lists import load_classnames, read_list, remap, write_labels, write_list
from tcclip.world.profile import get_profile

src = Path(get_profile("tiny").data_root) / "synthetic"
dst = Path(sys.argv[1]) / "synthetic"
keep = sys.argv[2].split("|")
names = load_classnames(src / "labels.csv")
unknown = sorted(set(keep) - set(names))
if unknown:
    raise SystemExit(f"not classes of the world: {unknown}")
dst.mkdir(parents=True, exist_ok=True)
write_labels(dst / "labels.csv", keep)
for split in ("train", "val", "test"):
    items = remap(read_list(src / f"{split}.txt"), [names.index(n) for n in keep])
    write_list(dst / f"{split}.txt", items)
    print(split, len(items))
if not (dst / "videos").exists():
    os.symlink(src / "videos", dst / "videos")
