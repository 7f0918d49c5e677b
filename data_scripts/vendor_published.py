"""Copy the published split and label files tcclip needs into the package (maintainers only).

    python data_scripts/vendor_published.py --release /path/to/tc-clip    # a checkout at the pinned commit

Reads, from a checkout of the reference release (``labels/`` and ``datasets_splits/``), the
files that ``tcclip.data.published`` lists (no more: the full Kinetics training lists and the
unused variants stay out), and writes a gzip copy of each under
``tcclip/data/published_files/`` (deterministic bytes: no time stamp or name in the gzip
header, so a rerun changes nothing), a ``MANIFEST.json`` with the sha256, size and line count
of every original file, and ``NOTICE.md`` naming the source, the commit and the licence.
``tcclip.data.published.read_text`` checks each file against the manifest when it reads it.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

from tcclip.data import published  # noqa: E402
from tcclip.io import atomic_write_bytes, atomic_write_json, atomic_write_text  # noqa: E402

NOTICE = """# Published protocol files of the TC-CLIP reference release

The `.gz` files in this folder are gzip copies, unchanged, of files from the reference release
of TC-CLIP (Kim et al., "Leveraging Temporal Contextualization for Video Action Recognition",
ECCV 2024): repository https://github.com/{repository}, commit `{commit}`, folders `labels/`
and `datasets_splits/` (paths kept, `.gz` appended). Most of them are byte-identical in the
ViFi-CLIP release (https://github.com/muzairkhattak/ViFi-CLIP); the LLM-rephrased class
descriptions (`labels/labels_froster/`) come from FROSTER (https://github.com/Visual-AI/FROSTER)
through that release.

Licence: {license}. Copyright (c) 2024-present NAVER Cloud Corp. These files are **not** under
the MIT licence of the rest of tcclip; they are redistributed here, unmodified, for
non-commercial research, with attribution as the licence requires. `MANIFEST.json` holds the
sha256 of every original file.

Only the files that the paper's protocols use are included (see `tcclip/data/published.py`).
"""


def vendor(release: Path, out: Path = published.PUBLISHED_DIR) -> list[str]:
    """Write the gzip copies, MANIFEST.json and NOTICE.md; returns the release files copied."""
    files = published.shipped_files()
    missing = [f for f in files if not (release / f).is_file()]
    if missing:
        raise C.PrepareError(f"{release} lacks {missing[:5]}; point --release at a checkout of "
                             f"{published.SOURCE_REPOSITORY} at {published.SOURCE_COMMIT}")
    entries = {}
    for name in files:
        data = (release / name).read_bytes()
        atomic_write_bytes(out / f"{name}.gz", gzip.compress(data, compresslevel=9, mtime=0))
        entries[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                         "lines": len(data.decode("utf-8").splitlines())}
    atomic_write_json(out / "MANIFEST.json", {
        "source": f"https://github.com/{published.SOURCE_REPOSITORY}", "commit": published.SOURCE_COMMIT,
        "license": published.LICENSE, "files": entries})
    atomic_write_text(out / "NOTICE.md", NOTICE.format(repository=published.SOURCE_REPOSITORY,
                                                         commit=published.SOURCE_COMMIT, license=published.LICENSE))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", required=True, type=Path,
                        help="a checkout of the reference release (holding labels/ and datasets_splits/)")
    args = parser.parse_args(argv)
    try:
        files = vendor(args.release)
    except C.PrepareError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{len(files)} files written to {published.PUBLISHED_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
