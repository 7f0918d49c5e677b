"""The experiments runner: plan, frame-order test, pair metrics, and a whole ``--quick`` run.

The quick run uses a private TCCLIP_CACHE holding random TC-Tiny weights (no pretraining), so
its numbers are chance level; what is checked is the pipeline: every unit runs, the results
JSON has its schema, every metric is a real percentage, a second call resumes from the records
and the figures are written.
"""
from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from tcclip.book import experiments as ex
from tcclip.world.pretrain import weights_are_current

from conftest import install_random_tiny_clip, load_tool


class _Recorder(nn.Module):
    """A 'model' that returns its input's frame means as logits, so the frame order is visible."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return video.mean(dim=(2, 3, 4))  # [N, T]


def _video(n=5, t=8):
    # frame j of clip i is the constant 100 i + j: the order of the T axis can be read back
    values = 100 * torch.arange(n, dtype=torch.float64)[:, None] + torch.arange(t, dtype=torch.float64)
    return values[:, :, None, None, None].expand(n, t, 3, 4, 4).clone()


def test_frame_order_normal_reversed_shuffled():
    video = _video()
    rec = _Recorder()
    normal = ex.FrameOrder(rec, "normal")(video)
    reversed_ = ex.FrameOrder(rec, "reversed")(video)
    shuffled = ex.FrameOrder(rec, "shuffled", seed=0)(video)
    assert torch.equal(normal, video[:, :, 0, 0, 0])
    assert torch.equal(reversed_, normal.flip(1))
    # each clip keeps its own frames, in a permuted order, and the clips are permuted differently
    assert torch.equal(shuffled.sort(1).values, normal)
    assert not torch.equal(shuffled, normal)
    perms = (shuffled - 100 * torch.arange(5, dtype=torch.float64)[:, None]).long()
    assert len({tuple(p.tolist()) for p in perms}) > 1
    # the shuffle is seeded
    assert torch.equal(ex.FrameOrder(rec, "shuffled", seed=0)(video), shuffled)
    with pytest.raises(ValueError, match="frame order"):
        ex.FrameOrder(rec, "backwards")


def test_reversed_pairs_and_pair_metrics():
    classes = ["a red circle growing", "a red circle shrinking", "a yellow striped circle rotating clockwise",
               "a yellow striped circle rotating counterclockwise", "a red checkered circle staying still"]
    pairs = ex.reversed_pairs(classes)
    assert pairs == {"a red circle growing": "a red circle shrinking",
                     "a red circle shrinking": "a red circle growing",
                     "a yellow striped circle rotating clockwise": "a yellow striped circle rotating counterclockwise",
                     "a yellow striped circle rotating counterclockwise": "a yellow striped circle rotating clockwise"}
    true = ["a red circle growing", "a red circle shrinking", "a yellow striped circle rotating clockwise",
            "a red checkered circle staying still"]
    pred = ["a red circle growing", "a red circle growing", "a red checkered circle staying still",
            "a red checkered circle staying still"]
    m = ex.pair_metrics(true, pred, classes)
    # the static video is not a pair video: 3 pair videos, 1 right, 1 called its partner, 2 of the right pair
    assert m["pairs_top1"] == pytest.approx(100 / 3)
    assert m["pairs_partner_rate"] == pytest.approx(100 / 3)
    assert m["pairs_look_top1"] == pytest.approx(200 / 3)
    assert ex.pair_metrics(["a red checkered circle staying still"], ["a red checkered circle staying still"], classes) == {}


def test_family_metrics_count_families_and_looks():
    classes = ["a red checkered circle staying still", "a blue striped circle staying still", "a ring staying still",
               "a ring changing colour", "a red circle growing", "a red circle shrinking"]
    true = ["a red checkered circle staying still", "a blue striped circle staying still", "a ring staying still",
            "a ring changing colour", "a red circle growing", "a red circle shrinking"]
    pred = ["a red checkered circle staying still", "a red checkered circle staying still", "a ring changing colour",
            "a ring changing colour", "a red circle shrinking", "a ring staying still"]
    m = ex.family_metrics(true, pred, classes)
    assert m["appearance_top1"] == pytest.approx(50.0)
    assert m["across_frames_top1"] == pytest.approx(50.0)
    assert m["time_direction_top1"] == pytest.approx(0.0)
    # right look: the checkered circle, both rings (one look), the growing clip called shrinking (one look)
    assert m["look_top1"] == pytest.approx(400 / 6)
    assert m["pairs_partner_rate"] == pytest.approx(50.0) and m["pairs_look_top1"] == pytest.approx(50.0)
    per_class = ex.per_class_accuracy(true, pred)
    assert per_class["a ring staying still"] == {"top1": 0.0, "look_top1": 100.0, "videos": 1}


def test_plan_units_are_unique_and_the_ablation_reference_is_the_main_run():
    for quick in (False, True):
        settings = ex.settings_for(quick)
        units = ex.plan(settings)
        names = [u.name for u in units]
        assert len(names) == len(set(names))
        protocols = {u.protocol for u in units if u.experiment == "main"}
        assert protocols == {"zero_shot", "few_shot", "base2novel", "fully_supervised"}
        # the ablation table's reference row reuses the main table's TC-CLIP runs: same steps, seeds among them
        assert set(settings.ablation_seeds) <= set(settings.seeds)
        assert all(u.steps == settings.steps_for(settings.ablation_protocol) for u in units if u.experiment == "ablation")
        assert all(u.analysis == (u.protocol == "fully_supervised") for u in units)
        fs_steps = settings.steps_for("fully_supervised")
        assert fs_steps % settings.curve_every == 0
    full = ex.settings_for(False)
    assert len(full.seeds) >= 3  # the main table's paired differences
    variants = {v for v, _ in full.ablations}
    assert {"no TC", "pos. emb.=joint", "pos. emb.=joint, lr x10"} <= variants
    gpu = ex.settings_for(False, device="cuda")
    assert gpu.world == "large" and gpu.device == "cuda" and all(
        gpu.steps_for(p) > full.steps_for(p) for p, _ in full.steps)
    assert gpu.ablations == ex.ALL_ABLATIONS and len(gpu.ablation_seeds) >= 3 and len(gpu.protocol_seeds) >= 3
    # only the fully supervised main table runs every seed on the CPU
    seeds = {p: {u.seed for u in ex.plan(full) if u.experiment == "main" and u.protocol == p} for p in protocols}
    assert seeds["fully_supervised"] == set(full.seeds)
    assert all(seeds[p] == set(full.protocol_seeds) for p in protocols - {"fully_supervised"})


def test_cpu_plan_fits_the_budget():
    """The CPU plan, estimated from the measured costs (``CPU_COSTS``), leaves 5 % of the 60 minutes
    for a busier machine; the plan before this budget (600 fully supervised steps, 3 seeds for every
    protocol and five ablations) is estimated at over 4 hours by the same model."""
    full = ex.settings_for(False)
    assert ex.estimated_seconds(full) <= ex.CPU_ESTIMATE_SHARE * ex.CPU_BUDGET_S
    before = replace(full, steps=(("fully_supervised", 600), ("few_shot", 150), ("zero_shot", 400), ("base2novel", 150)),
                     protocol_seeds=(0, 1, 2), ablation_seeds=(0, 1, 2), ablations=ex.ALL_ABLATIONS, curve_every=100)
    assert ex.estimated_seconds(before) > 4 * ex.CPU_BUDGET_S


def test_estimate_counts_every_part_of_a_unit():
    """One trained fully supervised unit: steps x step time, then evaluations: curve points
    (validation + probe), the test, the shuffled and reversed tests and the whole training list."""
    costs = ex.Costs(step_s=(("vifi_clip", 1.0), ("tc_clip", 2.0)), eval_clip_s=0.001, assets_s=100.0,
                     trained_unit_s=7.0, eval_unit_s=3.0)
    settings = replace(ex.settings_for(False), world="tiny", seeds=(0,), shots=(), compared=("fully_supervised",),
                       steps=(("fully_supervised", 10), ("few_shot", 0), ("zero_shot", 0), ("base2novel", 0)),
                       ablations=(), curve_every=5, train_probe=8)
    # tiny world: 8 classes x (16 train, 1 val, 2 test clips) = 128 / 8 / 16
    clip = (16 + 128) * 0.001  # untrained CLIP: its test and the whole training list
    trained = (16 + 3 * (8 + 8) + 2 * 16 + 128) * 0.001  # test, 3 curve points, shuffled + reversed, training list
    others = 2 * 16 * 0.001  # zero-shot and base-to-novel TC-CLIP units of 0 steps: their tests only
    overheads = 3.0 + 2 * 7.0 + 2 * 3.0  # CLIP, the two trained runs, the two 0-step runs (evaluation only)
    expected = 100.0 + clip + (10 * 1.0 + trained) + (10 * 2.0 + trained) + others + overheads
    assert ex.estimated_seconds(settings, costs) == pytest.approx(expected)


def test_unit_hash_changes_with_what_decides_the_numbers():
    settings = ex.settings_for(True)
    unit = ex.plan(settings)[1]
    h = ex.unit_hash(unit, settings, "world", "weights")
    assert h == ex.unit_hash(unit, settings, "world", "weights")
    assert h != ex.unit_hash(replace(unit, steps=unit.steps + 1), settings, "world", "weights")
    assert h != ex.unit_hash(unit, replace(settings, batch=4), "world", "weights")
    assert h != ex.unit_hash(unit, settings, "other world", "weights")
    assert h != ex.unit_hash(unit, settings, "world", "other weights")


def _tiny_world_context(tmp_path, settings, data_root) -> ex.Context:
    """A plan context on a real world's lists, for unit_config (no weights are read)."""
    return ex.Context(out=tmp_path, settings=settings, data_root=str(data_root), world_hash="w",
                      weights_digest="d", weights=str(tmp_path / "weights.pt"))


def test_ablation_options_reach_the_model_or_the_config(tmp_path, tiny_world_root):
    """A plain option name is a model option; a dotted one (the joint embedding at 10x lr) is a config key."""
    # the tiny world's training list holds 16 steps of 8 clips: curve points of 10 steps fit in one pass
    settings = replace(ex.settings_for(False), ablations=ex.ALL_ABLATIONS, curve_every=10)
    ctx = _tiny_world_context(tmp_path, settings, tiny_world_root)
    by_variant = {u.variant: u for u in ex.plan(settings) if u.experiment == "ablation" and u.seed == 0}
    fast = ex.unit_config(by_variant["pos. emb.=joint, lr x10"], ctx, tmp_path / "fast")
    assert fast.model.options.positional_embedding == "joint" and fast.train.positional_lr_mult == 10.0
    base = ex.unit_config(by_variant["pos. emb.=joint"], ctx, tmp_path / "base")
    assert base.model.options.positional_embedding == "joint" and base.train.positional_lr_mult == 1.0
    assert by_variant["pos. emb.=joint, lr x10"].name == "ablation__fully_supervised__tc_clip__pos_emb-joint_lr_x10__seed0"


def test_steps_per_epoch_runs_exactly_the_steps_asked():
    """The engine cuts an epoch to one pass over the training list; the plan's epochs must
    multiply to the unit's steps (base-to-novel once ran 78 steps for 60: 3 passes of 26)."""
    assert ex.steps_per_epoch(60, 26) == 20 and ex.steps_per_epoch(60, 6) == 6 and ex.steps_per_epoch(7, 3) == 1
    assert ex.steps_per_epoch(100, 100) == 100 and ex.steps_per_epoch(200, 130, curve_every=100) == 100
    with pytest.raises(ValueError, match="choose curve_every <= 130"):
        ex.steps_per_epoch(2000, 130, curve_every=250)  # would have run 8 passes of 130 = 1,040 steps
    with pytest.raises(ValueError, match="not a multiple"):
        ex.steps_per_epoch(2000, 130, curve_every=120)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_learning_curve_points_fit_in_one_pass_of_the_training_list(device):
    """A fully supervised curve point is one engine epoch, so it must not be longer than one pass
    over the world's training list (the GPU plan's 250 was: 26 x 160 clips / 32 = 130 steps)."""
    from tcclip.world.classes import SIZES

    settings = ex.settings_for(False, device=device)
    size = SIZES[settings.world]
    per_pass = len(size.classes) * size.n_train // settings.batch
    steps = settings.steps_for("fully_supervised")
    assert ex.steps_per_epoch(steps, per_pass, settings.curve_every) == settings.curve_every <= per_pass


def test_every_unit_config_schedules_the_units_steps(tmp_path, tiny_world_root):
    """unit_config on a real (tiny) world: epochs x steps per epoch = the unit's steps, each epoch
    at most one pass over its list, for every protocol of the plan."""
    from tcclip.train import train_views
    from tcclip.train.distributed import DistInfo
    from tcclip.train.engine import plan_schedule

    settings = replace(ex.settings_for(True), steps=ex.settings_for(False).steps, curve_every=10)
    ctx = _tiny_world_context(tmp_path, settings, tiny_world_root)
    trained = [u for u in ex.plan(settings) if u.model != "clip"]
    assert {u.protocol for u in trained} == {"fully_supervised", "few_shot", "zero_shot", "base2novel"}
    for unit in trained:
        cfg = ex.unit_config(unit, ctx, tmp_path / unit.name)
        schedule = plan_schedule(cfg, ex._list_length(cfg, train_views(cfg)[0]), DistInfo())
        assert schedule.total_steps == unit.steps, unit.name
        assert schedule.steps_per_epoch == cfg.protocol.steps_per_epoch, unit.name  # not cut by the engine


def test_a_record_that_ran_other_steps_than_its_unit_is_rerun(tmp_path, monkeypatch):
    settings = ex.settings_for(False)
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"w")
    ctx = ex.Context(out=tmp_path, settings=settings, data_root=str(tmp_path), world_hash="w",
                     weights_digest=ex._file_digest(weights), weights=str(weights))
    unit = ex.plan(settings)[1]  # ViFi-CLIP, fully supervised, 200 steps
    digest = ex.unit_hash(unit, settings, ctx.world_hash, ctx.weights_digest)
    path = tmp_path / "runs" / f"{unit.name}.json"
    path.parent.mkdir()
    record = {"unit": {}, "hash": digest, "schedule": {"total_steps": unit.steps}, "metrics": {"top1": 1.0}}
    path.write_text(json.dumps(record))
    monkeypatch.setattr(ex, "run_unit", lambda u, c: {**record, "metrics": {"top1": 2.0}})
    assert ex.run_or_reuse(unit, ctx)[1] == "reused"
    path.write_text(json.dumps({**record, "schedule": {"total_steps": 104}}))  # cut short, same hash
    again, status = ex.run_or_reuse(unit, ctx)
    assert status == "ran" and again["metrics"]["top1"] == 2.0


def _seed_record(tool, arm: str, seed: int, pairs: float) -> dict:
    """A fully supervised record of the kind tools/seeded_runs.py collects."""
    model, variant = {"CLIP": ("clip", "default"), "ViFi-CLIP": ("vifi_clip", "default")}.get(arm, ("tc_clip", arm))
    unit = {"experiment": "main" if variant == "default" else "ablation", "protocol": "fully_supervised",
            "model": model, "seed": seed, "steps": 0 if model == "clip" else 200, "variant": variant, "shots": None}
    return {"unit": unit, "metrics": {m: 50.0 for m in tool.METRICS} | {"pairs_top1": pairs}}


def test_seeded_runs_table_pairs_runs_by_seed():
    tool = load_tool("seeded_runs")
    settings, _ = tool.plan_runs(["pos. emb.=joint"], [0, 1, 2])
    clip = _seed_record(tool, "CLIP", 0, 20.0)
    del clip["metrics"]["pairs_top1_reversed"]
    records = [clip, _seed_record(tool, "a", 0, 40.0), _seed_record(tool, "a", 1, 50.0),
               _seed_record(tool, "b", 0, 46.0), _seed_record(tool, "b", 1, 60.0),
               _seed_record(tool, "b", 2, 99.0)]  # seed 2 of "a" is missing: not part of the paired difference
    results = tool.as_results(records, settings, ["x"])
    arms = ["CLIP", "TC-CLIP, a", "TC-CLIP, b"]
    rows = tool.table(results, arms, [("TC-CLIP, b", "TC-CLIP, a"), ("TC-CLIP, a", "CLIP")]).splitlines()
    col = 2 + tool.METRICS.index("pairs_top1")
    cells = lambda row: [c.strip() for c in row.strip("|").split("|")]  # noqa: E731
    assert cells(rows[2])[:2] == ["CLIP", "1"] and cells(rows[2])[col] == "20.0"
    assert cells(rows[3])[:2] == ["TC-CLIP, a", "2"] and cells(rows[3])[col] == "45.0 ± 5.0"
    assert cells(rows[4])[:2] == ["TC-CLIP, b", "3"] and cells(rows[4])[col] == "68.3 ± 22.4"
    assert cells(rows[5])[:2] == ["TC-CLIP, b − TC-CLIP, a (paired)", "2"] and cells(rows[5])[col] == "+8.0 ± 2.0"
    # untrained CLIP is evaluated once and pairs with every seed of the other arm: +20, +30; a metric
    # that CLIP's record lacks (it has no frame-order test) leaves its cell empty, not the row
    assert cells(rows[6])[:2] == ["TC-CLIP, a − CLIP (paired)", "2"] and cells(rows[6])[col] == "+25.0 ± 5.0"
    assert cells(rows[6])[2 + tool.METRICS.index("pairs_top1_reversed")] == "–"


def test_seeded_runs_plans_long_runs_of_ablations_and_main_models():
    """--steps / --curve-every resize the fully supervised runs only; a model name runs the main
    table's unit for that model; runs come in the order asked, then by seed."""
    tool = load_tool("seeded_runs")
    settings, units = tool.plan_runs(["pos. emb.=joint, lr x10", "vifi_clip"], [0, 2], steps=2000, curve_every=250)
    assert [(u.experiment, u.model, u.variant, u.seed) for u in units] == [
        ("main", "clip", "default", 0),  # the reference every table pairs with
        ("ablation", "tc_clip", "pos. emb.=joint, lr x10", 0), ("ablation", "tc_clip", "pos. emb.=joint, lr x10", 2),
        ("main", "vifi_clip", "default", 0), ("main", "vifi_clip", "default", 2)]
    assert all(u.steps == 2000 and u.protocol == "fully_supervised" and u.analysis for u in units[1:])
    plan_settings = ex.settings_for(False)
    assert settings.curve_every == 250 and settings.steps_for("few_shot") == plan_settings.steps_for("few_shot")
    # without --steps the runs are the plan's own (their records are reused from the plan's out folder)
    same, plain = tool.plan_runs(["no TC"], [0])
    assert same.steps == plan_settings.steps and same.curve_every == plan_settings.curve_every
    assert [u.name for u in plain[1:]] == [u.name for u in ex.plan(plan_settings) if u.variant == "no TC"]
    with pytest.raises(SystemExit, match="unknown ablation"):
        tool.plan_runs(["clip"], [0])  # plain CLIP is not trained: nothing to seed
    # --world: the same units on another size preset of the world (the rings alone, chapter 10)
    assert settings.world == "default"
    rings, ring_units = tool.plan_runs(["vifi_clip", "tc_clip"], [0], steps=1500, curve_every=250, world="across_frames")
    assert rings.world == "across_frames" and [u.model for u in ring_units] == ["clip", "vifi_clip", "tc_clip"]
    with pytest.raises(SystemExit):
        tool.main(["--variants", "vifi_clip", "--world", "nowhere", "--out", "unused"])


def test_class_table_reads_each_class_per_arm_over_seeds():
    def record(model, seed, variant="default", **per_class):
        unit = {"experiment": "main" if variant == "default" else "ablation", "protocol": "fully_supervised",
                "model": model, "seed": seed, "steps": 10, "variant": variant, "shots": None}
        return {"unit": unit, "metrics": {"top1": 1.0},
                "train_per_class": {n: {"top1": v, "look_top1": 100.0, "videos": 40} for n, v in per_class.items()}}

    results = {"settings": {"ablations": [["v", []]], "ablation_protocol": "fully_supervised"}, "ablation_seeds": [0],
               "records": [record("vifi_clip", 0, up=50.0, down=10.0), record("vifi_clip", 1, up=70.0, down=30.0),
                           record("tc_clip", 0, "v", up=100.0)]}
    table = ex.class_table(results, ["up", "down"])
    assert list(table.columns) == ["ViFi-CLIP", "TC-CLIP, v"]
    assert table.loc["up", "ViFi-CLIP"] == "60.0 ± 10.0" and table.loc["down", "ViFi-CLIP"] == "20.0 ± 10.0"
    assert table.loc["up", "TC-CLIP, v"] == "100.0" and table.loc["down", "TC-CLIP, v"] == "–"


def test_plot_curves_draws_clip_and_the_order_blind_ceiling():
    import matplotlib

    matplotlib.use("Agg")
    unit = {"experiment": "main", "protocol": "fully_supervised", "model": "vifi_clip", "seed": 0, "steps": 2,
            "variant": "default", "shots": None}
    curve = [{"step": 0, "val_top1": 40.0, "train_top1": 45.0}, {"step": 2, "val_top1": 60.0, "train_top1": 70.0}]
    results = {"records": [{"unit": unit, "metrics": {"top1": 60.0}, "curve": curve},
                           {"unit": {**unit, "model": "clip", "steps": 0}, "metrics": {"top1": 50.0}, "curve": []}]}
    fig = ex.plot_curves(results, arms=["ViFi-CLIP"], ceiling=88.5)
    flat = {line.get_label(): line.get_ydata()[0] for line in fig.axes[0].lines if len(line.get_ydata())}
    assert flat["CLIP, no training (test)"] == 50.0 and flat["order-blind ceiling"] == 88.5
    assert "order-blind ceiling" not in {l.get_label() for l in ex.plot_curves(results, arms=["ViFi-CLIP"]).axes[0].lines}


def test_load_results_missing_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="make experiments"):
        ex.load_results(tmp_path / "results.json")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, tiny_clip_path):
    cache = tmp_path_factory.mktemp("cache")
    weights = install_random_tiny_clip(tiny_clip_path, cache)
    assert weights_are_current(weights)  # else the run would pretrain a tiny CLIP first (minutes)
    out = tmp_path_factory.mktemp("out") / "miniature"
    mp = pytest.MonkeyPatch()
    mp.setenv("TCCLIP_CACHE", str(cache))
    mp.setenv("TCCLIP_PROFILE", "tiny")
    try:
        code = ex.main(["--quick", "--out", str(out)])
        yield code, out, cache
    finally:
        mp.undo()


def _metric_ok(value) -> bool:
    return isinstance(value, float) and math.isfinite(value) and 0.0 <= value <= 100.0


@pytest.mark.slow
def test_quick_run_writes_results_with_schema(quick_run):
    code, out, _ = quick_run
    assert code == 0
    results = ex.load_results(out)
    assert results["complete"] and results["missing"] == [] and results["failed"] == {}
    assert results["units_done"] == results["units_planned"] == len(ex.plan(ex.settings_for(True)))
    assert results["command"].startswith("python -m tcclip experiments --quick")
    assert results["seeds"] == [0] and results["quick"] is True
    for key in ("platform", "cpu_count", "torch"):
        assert results["machine"][key]
    assert results["wall_time_s"] > 0 and "git_commit" in results and len(results["load_average"]) == 3
    assert 0 < results["runs_wall_time_s"] <= results["wall_time_s"]
    assert results["settings"]["world"] == "tiny"
    expected = {"zero_shot": {"top1", "top1_wise_ft"}, "few_shot": {"top1", "top5"},
                "base2novel": {"base_top1", "novel_top1", "hm"},
                "fully_supervised": {"top1", "top5", "look_top1", "appearance_top1", "across_frames_top1",
                                     "time_direction_top1", "pairs_top1", "pairs_look_top1", "pairs_partner_rate",
                                     "train_top1", "train_appearance_top1"}}
    for rec in results["records"]:
        unit = rec["unit"]
        wanted = set(expected[unit["protocol"]])
        if unit["model"] == "clip":
            wanted.discard("top1_wise_ft")
        elif unit["analysis"]:
            wanted |= {f"{m}_{o}" for m in ("top1", "across_frames_top1", "pairs_partner_rate")
                       for o in ("shuffled", "reversed")}
            assert [p["step"] for p in rec["curve"]] == list(range(0, unit["steps"] + 1))  # step 0 + curve_every=1
            assert rec["train_per_class"] and rec["loss_curve"]
        assert wanted <= set(rec["metrics"]), (rec["name"], sorted(wanted - set(rec["metrics"])))
        for name, value in rec["metrics"].items():
            assert _metric_ok(value), (rec["name"], name, value)
        if unit["model"] != "clip":
            assert rec["schedule"]["total_steps"] == unit["steps"]
        assert (out / "runs" / f"{rec['name']}.json").is_file()
    assert results["summary"]
    for row in results["summary"]:
        assert _metric_ok(row["mean"]) and row["std"] >= 0 and row["seeds"] >= 1
    for name in ("main", "families", "curves", "ablations", "frame_order"):
        assert (out / f"{name}.png").stat().st_size > 1000
    assert not (out / "work").exists() or not any((out / "work").iterdir())  # checkpoints cleaned up
    frame = ex.results_frame(results)
    assert set(frame.experiment) == {"main", "ablation"}
    # the book's helpers read the file
    assert not ex.family_table(results).empty and not ex.fit_table(results).empty
    assert not ex.main_table(results).empty and ex.findings(results).startswith("- ")
    assert ex.paired_differences(results, "top1", "TC-CLIP", "CLIP")["seeds"] == 1


@pytest.mark.slow
def test_quick_run_resumes_from_its_records(quick_run, monkeypatch):
    _, out, cache = quick_run
    first = ex.load_results(out)
    # rerunning with the same settings reuses every record and trains nothing
    monkeypatch.setattr(ex, "run_unit", lambda unit, ctx: pytest.fail(f"{unit.name} was rerun"))
    monkeypatch.setenv("TCCLIP_PROFILE", "tiny")
    monkeypatch.setenv("TCCLIP_CACHE", str(cache))
    again = ex.run_experiments(out, quick=True, argv=["--quick"], figures=False)
    assert again["complete"] and again["units_reused"] == again["units_planned"]
    # a resumed call's own wall time is small; the runs' time is still counted
    assert again["runs_wall_time_s"] == pytest.approx(sum(r["wall_time_s"] for r in first["records"]))
    assert [r["metrics"] for r in again["records"]] == [r["metrics"] for r in first["records"]]


def test_order_blind_ceiling_counts_one_member_of_each_reversed_pair():
    # the world's 26 classes, one video each: every class but one member of each of the 3 pairs
    from tcclip.world.synthetic import build_classes

    names = [s.name for s in build_classes()]
    assert len(names) == 26
    assert ex.order_blind_ceiling(names) == pytest.approx(100 * 23 / 26)
    # unbalanced: the best an order-blind rule can do is the pair's more frequent member; rings count in full
    grow, shrink, ring_still, ring_recolour = ("a red circle growing", "a red circle shrinking", "a ring staying still",
                                               "a ring changing colour")
    assert ex.order_blind_ceiling([grow, grow, shrink, ring_still, ring_recolour]) == pytest.approx(80.0)
    with pytest.raises(ValueError, match="not classes of the synthetic world"):
        ex.order_blind_ceiling(["a purple dragon"])


def test_family_accuracy_needed_is_what_closes_the_overall_top1():
    # the world's test set: 240 appearance, 60 ring and 90 pair videos; CLIP 53.8 % (210 / 390) + 25 points
    videos = {"appearance": 240, "across_frames": 60, "time_direction": 90}
    target = 100 * 210 / 390 + 25
    # every appearance clip right and half of every pair (the order-blind best): 37.5 % of the rings
    need = ex.family_accuracy_needed(target, videos, {"appearance": 100.0, "time_direction": 50.0}, "across_frames")
    assert need == pytest.approx(37.5)
    overall = (240 * 100.0 + 60 * need + 90 * 50.0) / 390
    assert overall == pytest.approx(target)
    # out of reach: above 100
    assert ex.family_accuracy_needed(95.0, videos, {"appearance": 95.0, "time_direction": 50.0}, "across_frames") > 100
    with pytest.raises(ValueError, match="time_direction"):
        ex.family_accuracy_needed(target, videos, {"appearance": 100.0}, "across_frames")
    with pytest.raises(ValueError, match="videos\\['rings'\\]"):
        ex.family_accuracy_needed(target, videos, {"appearance": 100.0, "time_direction": 50.0}, "rings")


def _moving_points(kind: list[str], frames: int = 8, seed: int = 0) -> torch.Tensor:
    """Per-frame "features" [N, T, 2]: a point's (x, y) in a clip that stays still or travels half the
    frame along x or y. A still point sits at a random place of the path a moving one travels, so
    every single frame has the same distribution in the three classes (the world's rings)."""
    g = torch.Generator().manual_seed(seed)
    n = len(kind)
    lo, rest = torch.rand(n, 2, generator=g) * 0.5, torch.rand(n, 2, generator=g)
    t = torch.linspace(0, 1, frames)
    out = (lo + 0.5 * rest)[:, None, :].repeat(1, frames, 1)
    for i, k in enumerate(kind):
        if k in "xy":
            axis = "xy".index(k)
            out[i, :, axis] = lo[i, axis] + 0.5 * t
    return out + 0.01 * torch.randn(out.shape, generator=g)


def test_probe_readouts_the_mean_misses_what_the_spread_over_frames_shows():
    kinds = ["still", "x", "y"]
    labels = torch.arange(600) % 3
    train = (_moving_points([kinds[i] for i in labels], seed=0), labels)
    test = (_moving_points([kinds[i] for i in labels], seed=1), labels)
    acc = ex.probe_readouts(train, test, steps=500)
    assert set(acc) == set(ex.FRAME_READOUTS)
    # the three classes' mean positions agree: a linear readout of the mean is near chance (33 %)
    assert acc["mean over frames"]["test_top1"] < 50
    assert acc["spread over frames"]["test_top1"] > 95
    assert acc["frames in order"]["test_top1"] > 95


def test_probe_readouts_order_blind_readouts_cannot_tell_a_clip_from_its_reverse():
    forward = _moving_points(["x"] * 200, seed=2)
    clips = torch.cat([forward, forward.flip(1)])  # every clip, and the same clip played backwards
    labels = torch.cat([torch.zeros(200, dtype=torch.long), torch.ones(200, dtype=torch.long)])
    test_forward = _moving_points(["x"] * 100, seed=3)
    test = (torch.cat([test_forward, test_forward.flip(1)]), torch.cat([torch.zeros(100), torch.ones(100)]).long())
    acc = ex.probe_readouts((clips, labels), test, steps=300)
    # the mean and the spread of a clip and of its reverse are the same numbers: one answer for both
    assert acc["mean over frames"]["test_top1"] == pytest.approx(50.0)
    assert acc["spread over frames"]["test_top1"] == pytest.approx(50.0)
    assert acc["frames in order"]["test_top1"] == pytest.approx(100.0)


def test_frame_averaging_can_beat_one_class_per_look_on_rings():
    """Why the rings are not in the ceiling (chapter 10, exercise 2): on the world's own nuisance
    draws, a per-frame score that leans to "changing colour" strongly on red frames and to
    "staying still" a little on every other colour, averaged over the frames, calls about 58 % of
    still and colour-changing rings right (5/6 of still rings, the 1/3 of changing ones that show
    red), not the 50 % of naming one class for their shared look."""
    import numpy as np

    from tcclip.world.classes import build_classes
    from tcclip.world.render import draw_nuisance, object_colours

    specs = {s.name: s for s in build_classes()}
    rng = np.random.default_rng(0)
    right = []
    for name in ("a ring staying still", "a ring changing colour"):
        for _ in range(300):
            nz = draw_nuisance(rng, 16, 16, (12, 24))
            before, after = object_colours(specs[name], nz)
            t = np.linspace(0.0, 1.0, nz.frames)
            colours = np.where(t < nz.cut, before, after)  # equal for a still ring
            still_minus_changing = np.mean([-10.0 if c == "red" else 1.0 for c in colours])
            right.append((still_minus_changing > 0) == (name == "a ring staying still"))
    assert 0.55 < np.mean(right) < 0.62


def test_untrained_clip_is_paired_with_every_seed():
    """Plain CLIP runs once (its numbers do not depend on a seed): the gain of a trained arm over
    it is that arm's per-seed values minus CLIP's one value, over all of the arm's seeds."""
    def record(model, seed, steps, top1):
        unit = {"experiment": "main", "protocol": "fully_supervised", "model": model, "seed": seed, "steps": steps,
                "variant": "default", "shots": None}
        return {"unit": unit, "metrics": {"top1": top1}}

    results = {"settings": {"ablation_protocol": "fully_supervised"}, "ablation_seeds": [0],
               "records": [record("clip", 0, 0, 50.0), record("vifi_clip", 0, 10, 60.0),
                           record("vifi_clip", 1, 10, 62.0), record("vifi_clip", 2, 10, 58.0),
                           record("tc_clip", 0, 10, 61.0), record("tc_clip", 1, 10, 61.0)]}
    gain = ex.paired_differences(results, "top1", "ViFi-CLIP", "CLIP")
    assert gain["per_seed"] == {0: 10.0, 1: 12.0, 2: 8.0}
    assert gain["seeds"] == 3 and gain["mean"] == pytest.approx(10.0) and gain["std"] == pytest.approx((8 / 3) ** 0.5)
    # trained arms still pair only the seeds both have
    d = ex.paired_differences(results, "top1", "TC-CLIP", "ViFi-CLIP")
    assert d["per_seed"] == {0: 1.0, 1: -1.0} and d["seeds"] == 2
