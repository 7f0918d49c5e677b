"""A data root holding only some classes of the tiny profile's world: relabelled lists, the videos linked.

    python results/miniature/learning/across_frames_only/make_root.py ROOT "name|name|..."

Kept with the measurement it made (issue 14); not yet a tool: the lists are filtered by hand here.
"""
import os
import sys
from pathlib import Path

from tcclip.world.profile import get_profile

src = Path(get_profile("tiny").data_root) / "synthetic"
dst = Path(sys.argv[1]) / "synthetic"
keep = sys.argv[2].split("|")
dst.mkdir(parents=True, exist_ok=True)
names = {int(i): n for i, n in (line.split(",", 1) for line in (src / "labels.csv").read_text().splitlines()[1:])}
new = {old: keep.index(n) for old, n in names.items() if n in keep}
assert len(new) == len(keep), f"unknown class names in {keep}"
(dst / "labels.csv").write_text("id,name\n" + "".join(f"{i},{n}\n" for i, n in enumerate(keep)))
for split in ("train", "val", "test"):
    rows = [f"{p} {new[int(lab)]}\n" for p, lab in (line.rsplit(" ", 1) for line in (src / f"{split}.txt").read_text().splitlines())
            if int(lab) in new]
    (dst / f"{split}.txt").write_text("".join(rows))
    print(split, len(rows))
if not (dst / "videos").exists():
    os.symlink(src / "videos", dst / "videos")
