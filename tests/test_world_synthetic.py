"""The synthetic world: determinism, the meaning of each class family, and the split views.

The class-family tests measure the rendered content (centroids, areas, colours) rather than
comparing to stored outputs, so a renderer that draws the wrong thing fails them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tcclip.data import registry
from tcclip.world import synthetic as S

from conftest import read_label_file

decord = pytest.importorskip("decord")

H = W = 64


# ----------------------------------------------------------------------------- helpers


def _colour_mask(frames: np.ndarray, colour: str, tol: float = 70.0) -> np.ndarray:
    """(T, H, W) pixels near a class colour. Backgrounds/distractors are muted, so no
    pixel of theirs is this close to a saturated class colour."""
    ref = np.array(S.COLOURS[colour], np.float32)
    return np.linalg.norm(frames.astype(np.float32) - ref, axis=-1) < tol


def _centroids(mask: np.ndarray) -> np.ndarray:
    """(T, 2) x, y centroid of a (T, H, W) mask; NaN where empty."""
    yy, xx = np.mgrid[0:mask.shape[1], 0:mask.shape[2]]
    area = mask.sum(axis=(1, 2)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = (mask * xx).sum(axis=(1, 2)) / area
        cy = (mask * yy).sum(axis=(1, 2)) / area
    return np.stack([cx, cy], 1)


def _slope(values: np.ndarray) -> float:
    t = np.arange(len(values), dtype=float)
    return float(np.polyfit(t, values, 1)[0])


def _read_list(path: Path) -> list[tuple[str, int]]:
    out = []
    for line in path.read_text().splitlines():
        rel, label = line.rsplit(" ", 1)
        out.append((rel, int(label)))
    return out



def _decode(path: Path) -> np.ndarray:
    vr = decord.VideoReader(str(path))
    return vr.get_batch(list(range(len(vr)))).asnumpy()


SPECS = {s.name: s for s in S.build_classes()}
SEEDS = range(6)


# ----------------------------------------------------------------------------- rendering


def test_render_is_deterministic_and_seed_dependent() -> None:
    spec = SPECS["a ring moving horizontally"]
    a = S.render_video(spec, np.random.default_rng(3))
    b = S.render_video(spec, np.random.default_rng(3))
    c = S.render_video(spec, np.random.default_rng(4))
    assert a.dtype == np.uint8 and a.ndim == 4 and a.shape[1:] == (H, W, 3)
    assert np.array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_nuisance_varies_within_a_class() -> None:
    """Clip length, background and position change from clip to clip of one class."""
    clips = [S.render_video(SPECS["a red checkered circle staying still"], s) for s in SEEDS]
    assert len({c.shape[0] for c in clips}) > 1
    assert all(12 <= c.shape[0] <= 24 for c in clips)
    backgrounds = [c[0, 0, 0].astype(int) for c in clips]
    assert max(np.abs(b - backgrounds[0]).max() for b in backgrounds) > 5
    cents = [np.nanmean(_centroids(_colour_mask(c, "red")), 0) for c in clips]
    assert np.ptp(np.array(cents)[:, 0]) > 5


def _object(spec: S.ClassSpec, seed: int) -> tuple[np.ndarray, S.Nuisance, np.ndarray]:
    """Frames, nuisance and the renderer's own mask of the class's object(s)."""
    return S.render_video_with_nuisance(spec, np.random.default_rng([11, seed]))


def test_families_are_what_they_claim() -> None:
    """The families, measured on rendered clips: an appearance class's object (colour, shape)
    belongs to no other class, so one frame decides; the across-frames rings all look alike
    frame by frame; the time-direction classes come in exact time-reversed pairs whose object
    no other class uses. (The old 40-class world failed this: 'a red square staying still'
    shared its object with four motion classes, so most of its 'one-frame' classes needed
    several frames too.)"""
    objects: dict[tuple[str, str, str], set[str]] = {}
    for spec in SPECS.values():
        for seed in SEEDS[:3]:
            _, nz, _ = _object(spec, seed)
            colour = S.object_colours(spec, nz)[0]
            count = "two" if spec.action == "approach" else "one"
            objects.setdefault((colour, spec.shape, count), set()).add(spec.name)
    for spec in SPECS.values():
        sharing = set().union(*(names for key, names in objects.items() if spec.name in names)) - {spec.name}
        if spec.family == "appearance":
            assert not sharing, (spec.name, sharing)
        elif spec.family == "time_direction":
            partner = spec.reverse_of or next(s.name for s in SPECS.values() if s.reverse_of == spec.name)
            assert sharing == {partner}, (spec.name, sharing)
        else:
            assert spec.shape == "ring" and sharing <= {s.name for s in SPECS.values() if s.family == "across_frames"}
    looks = {s.look for s in SPECS.values()}
    rings = [s for s in SPECS.values() if s.family == "across_frames"]
    assert len(rings) >= 4 and len({s.look for s in rings}) == 1
    assert len(looks) == len(SPECS) - (len(rings) - 1) - sum(bool(s.reverse_of) for s in SPECS.values())
    assert set(S.CLASS_FAMILIES) == {s.family for s in SPECS.values()}


def test_across_frames_preset_is_the_rings_alone_with_many_clips() -> None:
    """The size preset behind chapter 10's rings experiment: every ring class of the default world
    and nothing else, with enough training clips that memorising them is no way to fit them."""
    preset, default = S.SIZES["across_frames"], S.SIZES["default"]
    rings = [s.name for s in S.build_classes(default.classes) if s.family == "across_frames"]
    assert list(preset.classes) == rings and len(rings) == 4
    assert preset.n_train >= 25 * default.n_train and preset.zero_shot == ()
    S.check_zero_shot(list(preset.classes), preset.zero_shot)


def test_rings_look_alike_in_any_single_frame() -> None:
    """Position, size and colour of a ring in one frame have the same distribution whether
    the clip stays still, moves horizontally or vertically, or changes colour: compare the
    means and spreads over 60 clips per class (a frame-averaging model sees only these)."""
    stats = {}
    for spec in (s for s in SPECS.values() if s.family == "across_frames"):
        rows = []
        for seed in range(60):
            frames, nz, mask = _object(spec, seed)
            t = seed % len(frames)
            cx, cy = _centroids(mask[t:t + 1])[0]
            colour = S.object_colours(spec, nz)[int(t / max(1, len(frames) - 1) >= nz.cut)]
            rows.append((cx, cy, mask[t].sum(), list(S.COLOURS).index(colour)))
        stats[spec.name] = np.array(rows, float)
    ref = stats["a ring staying still"]
    for name, values in stats.items():
        assert np.all(np.abs(values[:, :3].mean(0) - ref[:, :3].mean(0)) < [4.5, 4.5, 12]), name
        assert np.all(np.abs(values[:, :2].std(0) - ref[:, :2].std(0)) < 4.0), name
        assert len(set(values[:, 3])) >= 5, name  # every ring class shows (almost) every colour


@pytest.mark.parametrize("name", [n for n, s in SPECS.items() if s.reverse_of])
def test_reversed_time_pairs_are_exact_reverses(name: str) -> None:
    spec = SPECS[name]
    for seed in SEEDS[:3]:
        a = S.render_video(spec, seed)
        b = S.render_video(SPECS[spec.reverse_of], seed)
        assert np.array_equal(a, b[::-1])
        assert not np.array_equal(a, b)


@pytest.mark.parametrize("name", ["a ring moving horizontally", "a ring moving vertically"])
def test_moving_rings_travel_their_axis_either_way(name: str) -> None:
    axis = 0 if name.endswith("horizontally") else 1
    signs = set()
    for seed in SEEDS:
        _, _, mask = _object(SPECS[name], seed)
        c = _centroids(mask)
        assert abs(_slope(c[:, axis])) > 0.8, (seed, c[:, axis])
        assert abs(_slope(c[:, 1 - axis])) < 0.05
        signs.add(np.sign(_slope(c[:, axis])))
    assert signs == {-1.0, 1.0}


def test_static_classes_stay_still_and_the_colour_change_happens_once() -> None:
    for name in [n for n, s in SPECS.items() if s.action in ("still", "recolour")]:
        for seed in SEEDS[:3]:
            frames, nz, mask = _object(SPECS[name], seed)
            c = _centroids(mask)
            assert np.ptp(c, axis=0).max() < 0.5, name
            before, after = S.object_colours(SPECS[name], nz)
            first = _colour_mask(frames[:1], before)[0] & mask[0]
            last = _colour_mask(frames[-1:], after)[0] & mask[-1]
            assert first.sum() > 0.8 * mask[0].sum() and last.sum() > 0.8 * mask[-1].sum(), name
            assert (before != after) == (SPECS[name].action == "recolour")


def test_size_rotation_and_two_object_events() -> None:
    for seed in SEEDS:
        _, _, mask = _object(SPECS["a red circle growing"], seed)
        area = mask.sum((1, 2))
        assert area[-1] > 3 * area[0] > 0 and _slope(area) > 0
        _, _, m = _object(SPECS["two green circles approaching each other"], seed)
        yy, xx = np.mgrid[0:H, 0:W]
        spread = [np.hypot(xx[f].std(), yy[f].std()) for f in m]
        assert spread[-1] < 0.85 * spread[0]


def _stripe_orientation(mask: np.ndarray) -> np.ndarray:
    """Per-frame orientation (radians, x right / y down) of the stripes of a striped disc: the
    dominant direction of the mask's gradients (structure tensor; the stripes' edges outweigh the
    disc's rim), unwrapped over time (period pi) so a steady rotation gives a monotone curve."""
    gy, gx = np.gradient(mask.astype(np.float64), axis=(1, 2))
    jxx, jyy, jxy = (gx * gx).sum((1, 2)), (gy * gy).sum((1, 2)), (gx * gy).sum((1, 2))
    return np.unwrap(np.arctan2(2 * jxy, jxx - jyy)) / 2


def test_rotation_turns_the_named_way() -> None:
    for seed in SEEDS:
        for name, sign in (("a yellow striped circle rotating clockwise", 1),
                           ("a yellow striped circle rotating counterclockwise", -1)):
            m = _colour_mask(S.render_video(SPECS[name], seed), "yellow")
            area = m.sum((1, 2))
            assert np.ptp(area) < 0.2 * area.mean()
            turn = np.degrees(_stripe_orientation(m))
            assert 50 < sign * (turn[-1] - turn[0]) < 110, (name, seed, turn[-1] - turn[0])


def test_objects_keep_clear_of_the_edges() -> None:
    """Every object stays EDGE clear of the borders (so mild crops never cut one)."""
    lo, hi = int(np.floor(S.EDGE * W)) - 1, int(np.ceil((1 - S.EDGE) * W))
    for spec in SPECS.values():
        for seed in SEEDS:
            _, _, mask = _object(spec, seed)
            ys, xs = np.nonzero(mask.any(0))
            assert xs.min() > lo and xs.max() < hi and ys.min() > lo and ys.max() < hi, (spec.name, seed)


def test_unknown_names_and_odd_sizes_fail_with_the_fix() -> None:
    with pytest.raises(ValueError, match="pick from"):
        S.build_classes(["a purple ring"])
    with pytest.raises(ValueError, match="even"):
        S.render_video(SPECS["a red circle growing"], 0, height=63)


def test_object_frame_is_the_first_frame_of_a_still_clip() -> None:
    """render_object_frame draws any colour x shape as the videos draw their static objects."""
    spec = SPECS["a blue striped circle staying still"]
    clip = S.render_video(spec, np.random.default_rng(5), frames=(1, 1))
    frame = S.render_object_frame("blue", "striped circle", np.random.default_rng(5))
    assert frame.shape == (H, W, 3) and np.array_equal(frame, clip[0])
    # a combination no class of the world has: a purple ring, still
    ring = S.render_object_frame("purple", "ring", np.random.default_rng(5))
    assert _colour_mask(ring[None], "purple").sum() > 20 and not np.array_equal(ring, frame)
    with pytest.raises(ValueError, match="unknown colour"):
        S.render_object_frame("magenta", "ring", 0)
    with pytest.raises(ValueError, match="unknown shape"):
        S.render_object_frame("red", "square", 0)


# ----------------------------------------------------------------------------- the world on disk


def test_world_files_decode_with_decord(tiny_world: S.WorldInfo) -> None:
    lo, hi = S.SIZES["tiny"].frames
    for split in ("train", "val", "test"):
        items = _read_list(tiny_world.views[split][0])
        assert len(items) == tiny_world.counts[split]
        for rel, _ in items[:: max(1, len(items) // 12)]:
            vr = decord.VideoReader(str(tiny_world.video_root / rel))
            assert lo <= len(vr) <= hi
            assert vr[0].shape == (H, W, 3)


def test_decoded_clips_keep_the_class_meaning(tiny_world: S.WorldInfo) -> None:
    """After lossy H.264 the motion of a ring, its colour change and growth are still measurable."""
    names = read_label_file(tiny_world.views["train"][1])
    checked = set()
    for rel, label in _read_list(tiny_world.views["train"][0]):
        spec = SPECS[names[label]]
        if spec.action not in ("move", "grow", "recolour") or not rel.endswith(("0000.mp4", "0005.mp4")):
            continue
        frames = _decode(tiny_world.video_root / rel)
        vi = int(rel[-8:-4])
        _, nz, _ = S.render_video_with_nuisance(spec, np.random.default_rng([0, label, 0, vi]),
                                                frames=S.SIZES["tiny"].frames)
        before, after = S.object_colours(spec, nz)
        if spec.action == "move":
            mask = _colour_mask(frames, before, tol=60)
            assert abs(_slope(_centroids(mask)[:, 0])) > 0.8, rel
        elif spec.action == "recolour":
            assert _colour_mask(frames[:1], before, tol=60).sum() > 15, rel
            assert _colour_mask(frames[-1:], after, tol=60).sum() > 15, rel
        else:
            sign = -1 if spec.reverse_of else 1
            assert sign * _slope(_colour_mask(frames, before).sum((1, 2)).astype(float)) > 0, rel
        checked.add(spec.action)
    assert checked == {"move", "grow", "recolour"}


def test_world_is_deterministic_across_runs_and_workers(tiny_world: S.WorldInfo,
                                                              tmp_path: Path) -> None:
    other = S.generate_video_world(tmp_path / "again", seed=0, size="tiny", workers=2)
    for split in ("train", "test"):
        for rel, _ in _read_list(tiny_world.views[split][0]):
            a = (tiny_world.video_root / rel).read_bytes()
            assert a == (other.video_root / rel).read_bytes(), rel
    for view, (lst, lab) in tiny_world.views.items():
        assert lst.read_text() == other.views[view][0].read_text(), view
        assert lab.read_text() == other.views[view][1].read_text(), view
    rel = _read_list(tiny_world.views["test"][0])[0][0]
    assert np.array_equal(_decode(tiny_world.video_root / rel), _decode(other.video_root / rel))


def test_rerun_is_a_no_op_and_other_params_need_overwrite(tiny_world: S.WorldInfo) -> None:
    assert tiny_world.generated  # the session's fixture made it: the first run reports generating
    videos = sorted(tiny_world.video_root.rglob("*.mp4"))
    stamps = [p.stat().st_mtime_ns for p in videos]
    again = S.generate_video_world(tiny_world.root, seed=0, size="tiny")
    assert not again.generated
    assert [p.stat().st_mtime_ns for p in videos] == stamps  # nothing was rewritten
    assert again.param_hash == tiny_world.param_hash
    with pytest.raises(FileExistsError, match="overwrite"):
        S.generate_video_world(tiny_world.root, seed=1, size="tiny")
    manifest = json.loads((tiny_world.root / "manifest.json").read_text())
    assert manifest["complete"] and manifest["param_hash"] == tiny_world.param_hash


def test_interrupted_generation_resumes(tiny_world_copy: Path, tiny_world: S.WorldInfo) -> None:
    """Copy the world, drop a clip and mark it incomplete: only that clip is redone."""
    root = tiny_world_copy / "synthetic"
    video_root = root / tiny_world.video_root.relative_to(tiny_world.root)
    rel = _read_list(tiny_world.views["val"][0])[3][0]
    (video_root / rel).unlink()
    manifest = root / "manifest.json"
    data = json.loads(manifest.read_text())
    data["complete"] = False
    manifest.write_text(json.dumps(data))
    kept = video_root / _read_list(tiny_world.views["val"][0])[0][0]
    mtime = kept.stat().st_mtime_ns
    info = S.generate_video_world(root, seed=0, size="tiny")
    assert info.generated
    assert (video_root / rel).read_bytes() == (tiny_world.video_root / rel).read_bytes()
    assert kept.stat().st_mtime_ns == mtime
    assert not list(root.rglob("*.part"))


def test_labels_and_standard_lists(tiny_world: S.WorldInfo) -> None:
    names = read_label_file(tiny_world.root / registry.LABELS_FILENAME)
    assert names == tiny_world.classes == list(S.SIZES["tiny"].classes)
    preset = S.SIZES["tiny"]
    for split, n in (("train", preset.n_train), ("val", preset.n_val), ("test", preset.n_test)):
        items = _read_list(tiny_world.views[split][0])
        counts = np.bincount([lab for _, lab in items], minlength=len(names))
        assert (counts == n).all()
        for rel, lab in items:
            assert Path(rel).parent.name == S.class_dir_name(names[lab])
            assert (tiny_world.video_root / rel).is_file()
    sets = [{r for r, _ in _read_list(tiny_world.views[s][0])} for s in ("train", "val", "test")]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])


def test_few_shot_lists(tiny_world: S.WorldInfo) -> None:
    train = set(_read_list(tiny_world.views["train"][0]))
    n = len(tiny_world.classes)
    for k in registry.FEW_SHOT_SHOTS:
        draws = []
        keys = [v for v in tiny_world.views if v == f"few_shot_K{k}" or
                v.startswith(f"few_shot_K{k}_s")]
        assert keys
        for key in keys:
            lst, lab = tiny_world.views[key]
            assert lab == tiny_world.root / registry.LABELS_FILENAME
            items = _read_list(lst)
            assert set(items) <= train and len(set(items)) == len(items)
            assert (np.bincount([l for _, l in items], minlength=n) == k).all()
            draws.append(frozenset(items))
        if k < S.SIZES["tiny"].n_train and len(keys) > 1:
            assert len(set(draws)) > 1  # different seeds per draw


def test_base_to_novel_lists(tiny_world: S.WorldInfo) -> None:
    base = read_label_file(tiny_world.views["b2n_test_base"][1])
    novel = read_label_file(tiny_world.views["b2n_test_novel"][1])
    assert base == tiny_world.base_classes and novel == tiny_world.novel_classes
    assert not set(base) & set(novel) and sorted(base + novel) == sorted(tiny_world.classes)
    names = tiny_world.classes
    train = {(r, names[l]) for r, l in _read_list(tiny_world.views["train"][0])}
    test = {(r, names[l]) for r, l in _read_list(tiny_world.views["test"][0])}
    for s in registry.SPLIT_IDS:
        items = _read_list(tiny_world.views[f"b2n_train_s{s}"][0])
        assert {(r, base[l]) for r, l in items} <= train
        counts = np.bincount([l for _, l in items], minlength=len(base))
        assert (counts == S.SIZES["tiny"].b2n_shots).all()
    for side, labels in (("base", base), ("novel", novel)):
        items = {(r, labels[l]) for r, l in _read_list(tiny_world.views[f"b2n_test_{side}"][0])}
        assert items == {(r, n) for r, n in test if n in labels}


def test_zero_shot_split_recombines_seen_words(tiny_world: S.WorldInfo) -> None:
    seen = read_label_file(tiny_world.views["zero_shot_train"][1])
    unseen = read_label_file(tiny_world.views["zero_shot_test"][1])
    assert seen == tiny_world.zero_shot_seen and unseen == tiny_world.zero_shot_unseen
    assert unseen and not set(seen) & set(unseen)
    words = {w for n in seen for w in n.split()}
    for name in unseen:
        assert set(name.split()) <= words, name
    names = tiny_world.classes
    test = {(r, names[l]) for r, l in _read_list(tiny_world.views["test"][0])}
    got = {(r, unseen[l]) for r, l in _read_list(tiny_world.views["zero_shot_test"][0])}
    assert got == {(r, n) for r, n in test if n in unseen}
    for r, l in _read_list(tiny_world.views["zero_shot_train"][0]):
        assert Path(r).parent.name == S.class_dir_name(seen[l])


def test_default_zero_shot_is_a_latin_square_of_compositions() -> None:
    """Default hold-out: one static colour x pattern composition per colour, each pattern twice,
    every held-out word still seen in training."""
    preset = S.SIZES["default"]
    specs = S.build_classes(preset.classes)
    assert len(specs) == 26
    held = [SPECS[n] for n in preset.zero_shot]
    assert all(s.family == "appearance" for s in held)
    assert sorted(s.colour for s in held) == sorted(S.COLOURS)
    assert sorted(s.shape for s in held) == sorted(2 * ["circle", "striped circle", "checkered circle"])
    S.check_zero_shot([s.name for s in specs], preset.zero_shot)  # raises when unfair
    with pytest.raises(ValueError, match="never seen"):
        S.check_zero_shot(["a red circle", "a blue square"], ["a blue square"])
    assert set(S.CLASS_FAMILIES) == {s.family for s in specs}


def test_registry_finds_the_world(tiny_world: S.WorldInfo) -> None:
    """Every view is where ``get_split`` (with the default ``root`` lookup) says, and exists."""
    root = tiny_world.root.parent
    asks = {s: dict(protocol="standard", subset=s) for s in ("train", "val", "test")}
    asks.update({f"zero_shot_{s}": dict(protocol="zero_shot", subset=s)
                 for s in ("train", "val", "test")})
    asks["b2n_train_s2"] = dict(protocol="base2novel", split=2)
    asks["b2n_test_novel"] = dict(protocol="base2novel", subset="test", classes="novel")
    asks["few_shot_K8"] = dict(protocol="few_shot", shots=8)
    for view, kwargs in asks.items():
        key = view if view in tiny_world.views else f"{view}_s1"
        paths = registry.get_split("synthetic", root=root, **kwargs)  # raises if missing
        assert (paths.list_file, paths.label_file) == tiny_world.views[key], view
        assert paths.video_root == tiny_world.video_root


def test_cli_reports_an_up_to_date_world(tiny_world: S.WorldInfo,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert S.main(["--root", str(tiny_world.root), "--size", "tiny"]) == 0
    assert "already up to date" in capsys.readouterr().out


# ----------------------------------------------------------------------------- image captions


def test_image_captions_are_deterministic_and_grounded(tmp_path: Path) -> None:
    p1 = S.generate_image_captions(tmp_path / "a", seed=0, n=150)
    p2 = S.generate_image_captions(tmp_path / "b", seed=0, n=150)
    assert p1.name == p2.name and S.generate_image_captions(tmp_path / "a", n=150) == p1
    im1, cap1 = S.load_image_captions(p1)
    im2, cap2 = S.load_image_captions(p2)
    assert np.array_equal(im1, im2) and cap1 == cap2
    assert im1.shape == (150, 64, 64, 3) and im1.dtype == np.uint8
    for img, cap in zip(im1, cap1):
        assert cap.startswith("a photo of ")
        colour = next((c for c in S.COLOURS if f" {c} " in cap), None)
        if colour is None:
            assert cap.endswith("changing colour")
            continue
        mask = _colour_mask(img[None], colour)[0]
        assert mask.sum() > 10, cap
        cx, cy = _centroids(mask[None])[0]
        if cap.endswith("on the left"):
            assert cx < 0.45 * W
        elif cap.endswith("on the right"):
            assert cx > 0.55 * W
        elif cap.endswith("at the top"):
            assert cy < 0.45 * H
        elif cap.endswith("at the bottom"):
            assert cy > 0.55 * H


def test_captions_name_every_word_of_every_class() -> None:
    """The text encoder can only give distinct features to words its pretraining saw: every
    word of every class name occurs in the captions, and each word that tells two classes of
    the world apart (a verb, a direction, a colour, a shape) in a caption of its own kind."""
    captions = [S.render_caption_image(np.random.default_rng([0, 7, i]))[1] for i in range(600)]
    words = {w for c in captions for w in c.replace("s ", " ").split()} | {w for c in captions for w in c.split()}
    for spec in SPECS.values():
        missing = [w for w in spec.words if w not in words]
        assert not missing, (spec.name, missing)
    for phrase in ("staying still", "moving horizontally", "moving vertically", "changing colour", "growing",
                   "shrinking", "rotating clockwise", "rotating counterclockwise", "approaching each other",
                   "moving apart"):
        assert sum(c.endswith(phrase) for c in captions) >= 5, phrase


@pytest.mark.slow
def test_default_world_sizes(tmp_path: Path) -> None:
    """The default world: 26 classes, 1560 clips (its generation time: benchmarks/bench_world.py)."""
    info = S.generate_video_world(tmp_path / "synthetic", size="default", workers=2)
    assert len(info.classes) == 26 and info.counts == {"train": 1040, "val": 130, "test": 390}
