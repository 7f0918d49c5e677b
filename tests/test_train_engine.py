"""End-to-end tiny runs of every protocol, exact resume, WiSE-FT, NaN stop and bad inputs.

Everything runs on a private tiny synthetic world and random TC-Tiny weights in tmp dirs
(never the shared cache), with 4-frame clips and one or two optimizer steps per run.
"""
from __future__ import annotations

import csv
import json
import shutil

import pytest
import torch

from tcclip.checkpoint import read_checkpoint
from tcclip.train import NonFiniteLossError, compose_config, run
from tcclip.cli.train import main as cli_main


def tiny(tiny_world_root, weights, output, *extra):
    """Overrides for a fast CPU run: 4 frames, k=4, batch 2, 2 micro-batches per step."""
    return ["profile=tiny", f"data.root={tiny_world_root}", f"model.pretrained={weights}", "data.num_frames=4",
            "model.options.num_context=4", "train.batch_per_gpu=2", "protocol.total_batch=4", "protocol.epochs=1",
            "protocol.warmup_epochs=0", "protocol.steps_per_epoch=1", "protocol.test_clips=1", "eval.batch_size=16",
            f"output={output}", *extra]


def test_few_shot_end_to_end(tiny_world_root, tiny_clip_path, tmp_path):
    out = tmp_path / "fs"
    res = run(compose_config(tiny(tiny_world_root, tiny_clip_path, out, "protocol=few_shot", "data.shots=2",
                                  "protocol.test_clips=2", "eval.save_predictions=true")))
    assert res["finished"] and res["train"]["steps"] == 1
    assert res["train"]["schedule"]["accumulation"] == 2 and res["train"]["best_epoch"] == 0
    t = res["tests"]["synthetic"]
    assert t["num_videos"] == 16 and t["num_views"] == 2 and 0 <= t["top1"] <= t["top5"] <= 100
    assert res["summary"]["top1"] == t["top1"]
    saved = json.loads((out / "results.json").read_text())
    for key in ("command", "git_commit", "seed", "machine", "wall_time_s", "config"):
        assert key in saved
    assert saved["machine"]["torch"] == torch.__version__ and saved["wall_time_s"] > 0
    assert "| synthetic |" in (out / "results.md").read_text()
    rows = list(csv.DictReader((out / "predictions.csv").open()))
    assert len(rows) == 16 and all(r["path"] for r in rows)
    assert abs(sum(r["pred"] == r["label"] for r in rows) / 16 * 100 - t["top1"]) < 1e-9
    log_rows = list(csv.DictReader((out / "train_log.csv").open()))
    assert [int(r["step"]) for r in log_rows] == [1] and float(log_rows[0]["clips_per_s"]) > 0
    assert (out / "best.pt").is_file() and (out / "last.pt").is_file()


def test_zero_shot_with_wise_ft(tiny_world_root, tiny_clip_path, tmp_path):
    from tcclip.train.protocols import load_eval_model

    out = tmp_path / "zs"
    cfg = compose_config(tiny(tiny_world_root, tiny_clip_path, out, "protocol=zero_shot", "protocol.total_batch=2"))
    res = run(cfg)
    assert set(res["tests"]) == {"synthetic"} and set(res["tests_wise_ft"]) == {"synthetic"}
    assert res["wise_ft"] == 0.7 and "synthetic/top1_mean" in res["summary_wise_ft"]
    assert res["summary"]["synthetic/top1_std"] == 0.0  # one split
    # the evaluated blend is 0.3 CLIP + 0.7 fine-tuned, prompts kept fine-tuned
    from tcclip.train.protocols import build_run_model

    unseen = ["a red square moving left", "a blue square moving right"]
    blend = load_eval_model(res["tested_checkpoint"], cfg, unseen, wise_ft=0.7).state_dict()
    tuned = read_checkpoint(res["tested_checkpoint"])["model"]
    clip = build_run_model(cfg, unseen).state_dict()
    key = "visual.transformer.resblocks.0.mlp.c_fc.weight"
    assert not torch.allclose(tuned[key], clip[key])
    torch.testing.assert_close(blend[key], 0.3 * clip[key] + 0.7 * tuned[key])
    torch.testing.assert_close(blend["prompt_learner.ctx"], tuned["prompt_learner.ctx"])


def test_base2novel_and_fully_supervised(tiny_world_root, tiny_clip_path, tmp_path):
    res = run(compose_config(tiny(tiny_world_root, tiny_clip_path, tmp_path / "b2n", "protocol=base2novel", "protocol.total_batch=2")))
    s = res["summary"]
    assert set(res["tests"]) == {"synthetic/base", "synthetic/novel"}
    assert s["harmonic_mean"] == pytest.approx(2 * s["base_top1"] * s["novel_top1"] / (s["base_top1"] + s["novel_top1"])
                                               if s["base_top1"] + s["novel_top1"] else 0.0)
    assert res["tests"]["synthetic/base"]["num_videos"] == 8 and res["tests"]["synthetic/novel"]["num_videos"] == 8
    res = run(compose_config(tiny(tiny_world_root, tiny_clip_path, tmp_path / "fs", "protocol=fully_supervised",
                                  "model=vifi_clip", "protocol.total_batch=2")))
    assert res["finished"] and res["tests"]["synthetic"]["num_videos"] == 16


def test_clip_is_evaluated_without_training(tiny_world_root, tiny_clip_path, tmp_path):
    res = run(compose_config(tiny(tiny_world_root, tiny_clip_path, tmp_path / "clip", "protocol=zero_shot", "model=clip")))
    assert "train" not in res and res["tests"]["synthetic"]["num_videos"] == 4
    assert not (tmp_path / "clip" / "last.pt").exists()


def test_resume_is_exact(tiny_world_root, tiny_clip_path, tmp_path):
    """Stop after 3 of 4 steps (mid-epoch 2), resume from last.pt: same losses, lrs and weights.

    float32 on the CPU is deterministic for a fixed thread count, so equality is exact.
    """
    common = ["protocol=few_shot", "data.shots=2", "protocol.epochs=2", "protocol.steps_per_epoch=2",
              "protocol.warmup_epochs=1", "protocol.total_batch=2", "eval.every_epochs=0", "eval.test=false"]
    full = run(compose_config(tiny(tiny_world_root, tiny_clip_path, tmp_path / "a", *common)))
    part = run(compose_config(tiny(tiny_world_root, tiny_clip_path, tmp_path / "b", *common, "train.max_steps=3")))
    assert part["finished"] is False and part["train"]["steps"] == 3
    assert read_checkpoint(tmp_path / "b" / "last.pt")["step"] == 3
    resumed = run(compose_config(tiny(tiny_world_root, tiny_clip_path, tmp_path / "b", *common)))  # resume=auto
    assert resumed["train"]["steps"] == 4
    assert [h["loss"] for h in resumed["train"]["history"]] == [h["loss"] for h in full["train"]["history"]]
    assert [h["lr"] for h in resumed["train"]["history"]] == [h["lr"] for h in full["train"]["history"]]
    assert len({h["loss"] for h in full["train"]["history"]}) == 4  # the steps do differ
    a, b = read_checkpoint(tmp_path / "a" / "last.pt")["model"], read_checkpoint(tmp_path / "b" / "last.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    # the CSV log of the resumed run continues where it stopped
    steps = [int(r["step"]) for r in csv.DictReader((tmp_path / "b" / "train_log.csv").open())]
    assert steps == [1, 2, 3, 4]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tiny_world_root, tiny_clip_path, tmp_path, monkeypatch):
    import tcclip.train.engine as engine

    calls = {"n": 0}
    real = engine.video_text_loss

    def poisoned(logits, target, label_smoothing=0.1):
        calls["n"] += 1
        loss = real(logits, target, label_smoothing)
        return loss * float("nan") if calls["n"] > 1 else loss  # step 1 fine, step 2 NaN

    monkeypatch.setattr(engine, "video_text_loss", poisoned)
    out = tmp_path / "nan"
    cfg = compose_config(tiny(tiny_world_root, tiny_clip_path, out, "protocol=few_shot", "protocol.steps_per_epoch=3",
                              "protocol.total_batch=2", "train.checkpoint_every=1"))
    with pytest.raises(NonFiniteLossError, match="not overwritten"):
        run(cfg)
    assert read_checkpoint(out / "last.pt")["step"] == 1


def test_compile_of_float64_on_cpu_is_refused_before_work_where_torch_cannot_run_it(tiny_world_root, tiny_clip_path, tmp_path,
                                                                                    monkeypatch):
    import tcclip.train.engine as engine

    asked = []
    monkeypatch.setattr(engine, "compiled_attention_backward_works",
                        lambda dtype, device: asked.append((dtype, torch.device(device).type)) or False)
    out = tmp_path / "compiled"
    cfg = compose_config(tiny(tiny_world_root, tiny_clip_path, out, "protocol=few_shot", "train.compile=true",
                              "train.dtype=float64", "train.amp=none", "device=cpu"))
    with pytest.raises(ValueError, match="train.compile=false"):
        run(cfg)
    assert asked == [(torch.float64, "cpu")]
    assert not list(out.glob("*.pt"))  # refused before the first step


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                    reason="torch.compile's inductor backend needs a C compiler on CPU")
def test_compiled_attention_probe_tells_the_truth_about_this_torch():
    """The probe's answer is what torch.compile does: a float64 attention backward runs, or fails."""
    from tcclip.train.engine import compiled_attention_backward_works

    assert compiled_attention_backward_works(torch.float32, torch.device("cpu"))
    x = torch.randn(2, 2, 4, 64, dtype=torch.float64, requires_grad=True)
    attend = torch.compile(lambda x: torch.nn.functional.scaled_dot_product_attention(x, x, x).square().sum())
    if compiled_attention_backward_works(torch.float64, torch.device("cpu")):
        attend(x).backward()
        assert x.grad.dtype == torch.float64 and torch.isfinite(x.grad).all()
    else:
        with pytest.raises(RuntimeError, match="Double"):
            attend(x).backward()


def test_missing_dataset_names_the_prepare_command(tmp_path, tiny_clip_path):
    from tcclip.data import DatasetNotPreparedError

    cfg = compose_config(["protocol=few_shot", "data=hmdb51", f"data.root={tmp_path}", f"model.pretrained={tiny_clip_path}",
                          "model.clip=TC-Tiny", f"output={tmp_path / 'o'}", "device=cpu"])
    with pytest.raises(DatasetNotPreparedError, match="data_scripts"):
        run(cfg)


def test_corrupt_training_video_is_skipped_and_counted(tiny_world_copy, tiny_clip_path, tmp_path):
    copy = tiny_world_copy
    listed = (copy / "synthetic" / "splits" / "few_shot" / "train_2shot_split1.txt").read_text().split()
    (copy / "synthetic" / "videos" / listed[0]).write_bytes(b"not a video")
    short = copy / "synthetic" / "splits" / "few_shot" / "train_2shot_split1.txt"
    short.write_text("".join(f"{listed[i]} {listed[i + 1]}\n" for i in (0, 2, 4, 6)))  # 4 videos, 1 corrupt
    res = run(compose_config(tiny(copy, tiny_clip_path, tmp_path / "o", "protocol=few_shot", "data.shots=2",
                                  "data.max_skip_rate=1.0", "eval.every_epochs=0", "eval.test=false")))
    # one step of 4 clips = every video of the list once: the corrupt one is met exactly once
    assert res["train"]["skipped_videos"] == 1


def test_eval_cli_explicit_list_and_wrong_class_list(tiny_world_root, tiny_clip_path, tmp_path):
    from tcclip import save_checkpoint
    from tcclip.train.protocols import build_run_model

    out = tmp_path / "fs"
    syn = tiny_world_root / "synthetic"
    cfg = compose_config(tiny(tiny_world_root, tiny_clip_path, out, "protocol=few_shot"))
    save_checkpoint(out / "best.pt", build_run_model(cfg, ["a", "b"]))  # eval replaces the class names
    base = ["profile=tiny", f"data.root={tiny_world_root}", "data.num_frames=4", f"output={tmp_path / 'ev'}"]
    code = cli_main(["eval", "--checkpoint", str(out / "best.pt"), "--list", str(syn / "test.txt"), "--root",
                     str(syn / "videos"), "--labels", str(syn / "labels.csv"), "--views", "1x1", "--predictions", *base])
    assert code == 0
    res = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert res["tests"]["test"]["num_videos"] == 16 and res["checkpoint"] == str(out / "best.pt")
    assert len(list(csv.DictReader((tmp_path / "ev" / "eval_predictions.csv").open()))) == 16
    # a label file with fewer classes than the list uses is an error naming the mismatch
    short = tmp_path / "short.csv"
    short.write_text("id,name\n0,a red square moving left\n1,a red square moving right\n")
    from tcclip.train.eval_checkpoint import evaluate_checkpoint

    with pytest.raises(ValueError, match="out of range"):
        evaluate_checkpoint(compose_config(base), str(out / "best.pt"), list_file=str(syn / "test.txt"),
                            video_root=str(syn / "videos"), labels=str(short))
    assert cli_main(["eval", "--checkpoint", str(out / "best.pt"), "--list", str(syn / "test.txt"), "--root",
                     str(syn / "videos"), "--labels", str(short), *base]) == 2


def test_training_path_audit(tiny_world_root, tiny_clip_path, tmp_path):
    """What one training step touches, checked end to end on the engine's own objects: the
    labels of the batches name the clips' classes; the logits are CLIP's temperature times the
    cosine; the learning-rate groups (prompt parts at 10x, no decay on vectors); only the
    class-name token table is frozen and every other tensor moves; the tested weights are the
    checkpoint's."""
    import torch.nn.functional as F

    from tcclip.world.synthetic import class_dir_name
    from tcclip.train.data import build_video_dataset
    from tcclip.train.optim import param_groups
    from tcclip.train.protocols import build_run_model, train_views

    out = tmp_path / "audit"
    cfg = compose_config(tiny(tiny_world_root, tiny_clip_path, out, "protocol=fully_supervised", "model=tc_clip",
                              "protocol.total_batch=2", "train.mixup=0", "train.cutmix=0", "protocol.lr=1e-3"))
    train_set = build_video_dataset(cfg, mode="train", **train_views(cfg)[0])
    for record in train_set.records:  # labels: the folder of every clip is its class's
        assert record.path.split("/")[-2] == class_dir_name(train_set.classnames[record.label])
    model = build_run_model(cfg, train_set.classnames)
    clip_state = torch.load(tiny_clip_path, weights_only=True)
    assert torch.equal(model.logit_scale.detach(), clip_state["logit_scale"])  # CLIP's temperature
    video = torch.stack([train_set[i]["video"] for i in range(2)])
    details = model(video, return_details=True)
    expected = model.logit_scale.exp() * torch.einsum("be,bce->bc", F.normalize(details.video_features, dim=-1),
                                                      F.normalize(details.text_features, dim=-1))
    torch.testing.assert_close(details.logits, expected)
    groups = param_groups(model, lr=1e-3, weight_decay=1e-3)
    names = [n for g in groups for n in g["names"]]
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert sorted(names) == sorted(trainable) and len(names) == len(set(names))
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert frozen == ["text.token_embedding.weight"]
    for g in groups:
        prompt = all(n.startswith(("prompt_learner.", "prompt_generator.")) for n in g["names"])
        assert g["lr"] == pytest.approx(1e-2 if prompt else 1e-3)
        assert (g["weight_decay"] == 0) == all(n.endswith(".bias") or dict(model.named_parameters())[n].ndim <= 1
                                               for n in g["names"])
    assert any("logit_scale" in g["names"] for g in groups)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    res = run(cfg)
    tested = read_checkpoint(res["tested_checkpoint"])["model"]
    moved = [n for n in trainable if not torch.equal(tested[n], before[n])]
    assert moved == trainable, sorted(set(trainable) - set(moved))
    assert torch.equal(tested["text.token_embedding.weight"], before["text.token_embedding.weight"])
    # the test used the checkpoint's weights: evaluating them again gives the reported top-1
    from tcclip.train import evaluate, load_eval_model, test_sets

    (spec,) = test_sets(cfg)
    test_set = build_video_dataset(cfg, mode="test", num_clips=1, num_crops=1,
                                   **{k: v for k, v in spec.items() if k not in ("key", "group")})
    again = evaluate(load_eval_model(res["tested_checkpoint"], cfg, test_set.classnames), test_set, batch_size=16)
    assert again["top1"] == res["tests"]["synthetic"]["top1"]


@pytest.mark.slow
def test_engine_fits_the_training_clips(tiny_world_root, tiny_clip_path, tmp_path):
    """A short run of the engine memorises its training list, for every class the model can
    separate (issue 14). The run starts from random CLIP weights (no pretrained tiny CLIP exists
    in the suite), so it trains on the tiny world's 4-shot list (32 clips) for 200 steps: from
    random weights a full pass over the 128 training clips needs ~500 steps (measured in the
    issue's note), too long for the suite. ViFi-CLIP averages frame scores, so besides the
    appearance classes it can only separate single-frame *looks* (the rings among themselves, and
    the growing / shrinking pair, are one look each): every class must reach >= 95 % at that
    level on the clips it trained on. The world's own data augmentation is on. (At lr 1e-3 with
    no warm-up, the schedule this test had before, the model collapsed onto one class.)"""
    from tcclip.book.experiments import per_class_accuracy
    from tcclip.train import evaluate, load_eval_model
    from tcclip.train.data import build_video_dataset
    from tcclip.train.protocols import train_views

    cfg = compose_config(tiny(tiny_world_root, tiny_clip_path, tmp_path / "fit", "protocol=few_shot", "data.shots=4",
                              "model=vifi_clip", "train.mixup=0", "train.cutmix=0", "protocol.lr=3e-4",
                              "protocol.min_lr=1e-5", "protocol.warmup_epochs=2", "train.batch_per_gpu=8",
                              "protocol.total_batch=8", "protocol.steps_per_epoch=4", "protocol.epochs=50",
                              "eval.every_epochs=0", "eval.test=false"))
    res = run(cfg)
    assert res["train"]["steps"] == 200
    train_set = build_video_dataset(cfg, mode="test", num_clips=1, num_crops=1, **train_views(cfg)[0])
    assert len(train_set) == 32  # the very clips it trained on (4 per class), seen with test views
    model = load_eval_model(res["tested_checkpoint"], cfg, train_set.classnames)
    preds = evaluate(model, train_set, batch_size=32, return_predictions=True)["predictions"]
    names = train_set.classnames
    per_class = per_class_accuracy([names[r["label"]] for r in preds], [names[r["pred"]] for r in preds])
    accuracy = {name: row["look_top1"] for name, row in per_class.items()}
    assert len(accuracy) == len(names) and min(accuracy.values()) >= 95, accuracy


def test_training_probe_draws_learning_curves_from_the_untrained_model(tiny_world_root, tiny_clip_path, tmp_path):
    """eval.train_probe=N evaluates N training clips with every validation and once before the
    first step (epoch -1, step 0: the untrained model); that point never becomes best.pt."""
    from tcclip.train.protocols import train_probe, train_views

    cfg = compose_config(tiny(tiny_world_root, tiny_clip_path, tmp_path / "probe", "protocol=fully_supervised", "model=vifi_clip",
                              "protocol.epochs=2", "eval.every_epochs=1", "eval.train_probe=6", "eval.test=false"))
    probe = train_probe(cfg, train_views(cfg)[0])
    assert len(probe) == 6 and probe.dataset.mode == "test"
    res = run(cfg)
    vals = res["train"]["validations"]
    assert [(v["epoch"], v["step"]) for v in vals] == [(-1, 0), (0, 1), (1, 2)]
    assert all(0 <= v["train_top1"] <= v["train_top5"] <= 100 and v["num_videos"] > 0 for v in vals)
    assert res["train"]["best_epoch"] in (0, 1)
    assert compose_config(tiny(tiny_world_root, tiny_clip_path, tmp_path / "none")).eval.train_probe == 0
    assert train_probe(compose_config(tiny(tiny_world_root, tiny_clip_path, tmp_path / "none")), train_views(cfg)[0]) is None
