"""Every way a training run can stop, and what it leaves behind (issue 12).

Ctrl-C (a real SIGINT to a real ``python -m tcclip train``), a stop for unreadable videos, a
kill between a step and its checkpoint, a truncated ``last.pt``, files left by killed writers,
and the command line's refusals. Tiny runs on the session's shared tiny world (``tiny_world_root``,
read only), as in ``test_train_engine.py``.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from tcclip.checkpoint import DamagedCheckpointError, read_checkpoint
from tcclip.cli.train import main as cli_main
from tcclip.train import compose_config, run


def tiny(tiny_world_root, weights, output, *extra):
    """A fast CPU few-shot run: 4 frames, k=4, one clip pair per step, no validation or test."""
    return ["profile=tiny", "protocol=few_shot", "data.shots=2", f"data.root={tiny_world_root}", f"model.pretrained={weights}",
            "data.num_frames=4", "model.options.num_context=4", "train.batch_per_gpu=2", "protocol.total_batch=2",
            "protocol.epochs=2", "protocol.warmup_epochs=0", "protocol.steps_per_epoch=2", "eval.every_epochs=0",
            "eval.test=false", f"output={output}", *extra]


def csv_steps(output) -> list[int]:
    with (output / "train_log.csv").open(newline="") as fh:
        return [int(r["step"]) for r in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def stopped_run(tiny_world_root, tiny_clip_path, tmp_path_factory):
    """A run stopped by train.max_steps after 3 of 4 steps, with last.pt written after every step."""
    out = tmp_path_factory.mktemp("stopped") / "run"
    res = run(compose_config(tiny(tiny_world_root, tiny_clip_path, out, "train.max_steps=3", "train.checkpoint_every=1")))
    assert res["finished"] is False and res["train"]["steps"] == 3
    return out


def test_a_kill_between_a_step_and_its_checkpoint_logs_each_step_once(tiny_world_root, tiny_clip_path, stopped_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(stopped_run, out)
    assert read_checkpoint(out / "last.prev.pt")["step"] == 2  # the state before the latest write is kept
    # as if killed after step 3 was logged but before its checkpoint, and in the middle of writing one
    shutil.copy(out / "last.prev.pt", out / "last.pt")
    stale = out / ".last.pt.k1ll3d.tmp"
    stale.write_bytes(b"\0" * 4096)
    assert csv_steps(out) == [1, 2, 3]
    res = run(compose_config(tiny(tiny_world_root, tiny_clip_path, out)))  # resume=auto from step 2
    assert res["finished"] and res["train"]["steps"] == 4
    assert csv_steps(out) == [1, 2, 3, 4]  # step 3 once, from the resumed run
    assert not stale.exists()


def test_a_truncated_last_checkpoint_is_named_and_falls_back_when_asked(tiny_world_root, tiny_clip_path, stopped_run, tmp_path,
                                                                        capsys):
    out = tmp_path / "run"
    shutil.copytree(stopped_run, out)
    data = (out / "last.pt").read_bytes()
    (out / "last.pt").write_bytes(data[: len(data) // 3])
    with pytest.raises(DamagedCheckpointError, match=rf"{out / 'last.pt'} is damaged.*resume=fallback"):
        run(compose_config(tiny(tiny_world_root, tiny_clip_path, out)))
    # the command line says the same in one line, exit status 2
    assert cli_main(["train", *tiny(tiny_world_root, tiny_clip_path, out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: cannot resume:") and "last.pt is damaged" in err[-1]
    assert not any(line.startswith("Traceback") for line in err)
    res = run(compose_config(tiny(tiny_world_root, tiny_clip_path, out, "resume=fallback")))  # from last.prev.pt (step 2)
    assert res["finished"] and res["train"]["steps"] == 4
    assert [h["step"] for h in res["train"]["history"]] == [1, 2, 3, 4]
    assert csv_steps(out) == [1, 2, 3, 4]


def test_a_stop_for_unreadable_videos_saves_first(tiny_world_root, tiny_clip_path, tmp_path, monkeypatch):
    """The skip-rate limit (TooManyCorruptVideosError) stops training; the steps done are kept."""
    from tcclip.data import TooManyCorruptVideosError, VideoDataset

    real = VideoDataset.__getitem__
    calls = {"train": 0}

    def breaks_on_the_fifth_training_clip(self, index):
        if self.mode == "train":
            calls["train"] += 1
            if calls["train"] == 5:  # in step 3 (2 clips per step)
                raise TooManyCorruptVideosError("3 of 5 videos tried could not be decoded (test)")
        return real(self, index)

    monkeypatch.setattr(VideoDataset, "__getitem__", breaks_on_the_fifth_training_clip)
    out = tmp_path / "run"
    cfg = compose_config(tiny(tiny_world_root, tiny_clip_path, out, "protocol.epochs=1", "protocol.steps_per_epoch=4"))
    assert cfg.train.checkpoint_every == 0  # the default: without the stop's save, nothing would be on disk
    with pytest.raises(TooManyCorruptVideosError):
        run(cfg)
    saved = read_checkpoint(out / "last.pt")
    assert saved["step"] == 2 and saved["train_state"]["step"] == 2
    resumed = run(compose_config(tiny(tiny_world_root, tiny_clip_path, out, "protocol.epochs=1", "protocol.steps_per_epoch=4")))
    assert resumed["train"]["steps"] == 4 and csv_steps(out) == [1, 2, 3, 4]


def test_ctrl_c_stops_cleanly_saves_and_says_how_to_resume(tiny_world_root, tiny_clip_path, tmp_path):
    """A real SIGINT to ``python -m tcclip train`` once it has logged a step."""
    out = tmp_path / "run"
    args = tiny(tiny_world_root, tiny_clip_path, out, "protocol.epochs=50", "protocol.steps_per_epoch=8", "log.every=1")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "tcclip", "train", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if (out / "train_log.csv").is_file() and len(csv_steps(out)) >= 1:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr and "resume" in stderr
    saved = read_checkpoint(out / "last.pt")
    steps = csv_steps(out)
    assert saved["step"] == steps[-1] >= 1 and steps == list(range(1, steps[-1] + 1))
    assert saved["step"] < 50 * 8  # stopped, not run to the end
    # the same command continues from there
    res = run(compose_config([*args, "train.max_steps=1"]))
    assert res["train"]["steps"] == saved["step"] + 1
    assert csv_steps(out) == list(range(1, saved["step"] + 2))


def test_a_second_signal_aborts_at_once():
    from tcclip.train.distributed import DistInfo
    from tcclip.train.interrupt import StopRequest

    before = signal.getsignal(signal.SIGINT)
    with StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs between bytecodes of the main thread
        assert stop.signal == signal.SIGINT and stop.requested(DistInfo()) and stop.exit_code == 130
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        assert signal.getsignal(signal.SIGINT) is before  # the default behaviour is back
    assert signal.getsignal(signal.SIGINT) is before


def test_train_refusals_are_one_line_and_status_2(tiny_world_root, tiny_clip_path, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli_main(["train", *tiny(tiny_world_root, tiny_clip_path, out, "train.batch_per_gpu=3", "protocol.total_batch=4")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: total batch 4 is not a multiple") and "Traceback" not in "\n".join(err)
    assert cli_main(["train", "profile=tiny", "train.amp=fp8"]) == 2
    assert capsys.readouterr().err.strip() == "error: train.amp='fp8': choose one of bf16, fp16, none"


def test_overrides_after_resume_are_read(capsys, tmp_path):
    path = tmp_path / "last.pt"
    assert cli_main(["train", "--resume", str(path), "--show-config", "protocol.epochs=3", "profile=tiny"]) == 0
    shown = capsys.readouterr().out
    assert f"resume: {path}" in shown and "  epochs: 3" in shown


def test_eval_records_the_model_the_checkpoint_holds(tiny_world_root, tiny_clip_path, tmp_path):
    """``eval model=tc_clip --checkpoint vifi.pt`` evaluates ViFi-CLIP, and says so."""
    from tcclip import save_checkpoint
    from tcclip.train.protocols import build_run_model

    cfg = compose_config(tiny(tiny_world_root, tiny_clip_path, tmp_path / "o", "model=vifi_clip"))
    save_checkpoint(tmp_path / "vifi.pt", build_run_model(cfg, ["a", "b"]))
    syn = tiny_world_root / "synthetic"
    code = cli_main(["eval", "--checkpoint", str(tmp_path / "vifi.pt"), "model=tc_clip", "profile=tiny",
                     f"data.root={tiny_world_root}", "data.num_frames=4", f"output={tmp_path / 'ev'}", "--list",
                     str(syn / "test.txt"), "--root", str(syn / "videos"), "--labels", str(syn / "labels.csv")])
    assert code == 0
    res = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert res["model"] == "vifi_clip" and res["model_spec"]["name"] == "vifi_clip"
    assert res["config"]["model"]["name"] == "tc_clip"  # what was asked for stays on record too


def test_train_step_accumulates_exactly_and_refuses_nan(tiny_clip_path, classnames):
    """Two micro-batches of 2 make the same step as one batch of 4 (float64, no mixup)."""
    import copy

    from tcclip.train import Precision, TrainParts, train_step
    from tcclip.train.engine import NonFiniteLossError
    from tcclip.train.optim import build_optimizer

    from conftest import make_video, tiny_model

    model = tiny_model("tc_clip", classnames, tiny_clip_path).double()
    video, labels = make_video(batch=4), torch.tensor([0, 3, 1, 4])
    results, states = [], []
    for micro in ([{"video": video, "label": labels}],
                  [{"video": video[:2], "label": labels[:2]}, {"video": video[2:], "label": labels[2:]}]):
        m = copy.deepcopy(model)
        # SGD, not AdamW: Adam's first step divides each gradient by its own magnitude, so a gradient
        # that is zero in exact arithmetic but rounding noise in float64 (the attention's key bias:
        # softmax ignores a constant added to every key) becomes a full +-lr step with the noise's sign.
        # A plain SGD step is proportional to the gradient, so it shows the accumulation itself.
        parts = TrainParts(m, torch.optim.SGD(m.parameters(), lr=1e-3), precision=Precision(torch.float64))
        results.append(train_step(parts, micro, seed=0, step=0))
        states.append(m.state_dict())
    assert results[0].clips == results[1].clips == 4
    assert results[0].loss == pytest.approx(results[1].loss, rel=1e-12)
    for key, value in states[0].items():
        torch.testing.assert_close(value, states[1][key], rtol=1e-9, atol=1e-12, msg=key)
    assert not torch.equal(states[0]["prompt_learner.ctx"], model.state_dict()["prompt_learner.ctx"])  # it stepped
    m = copy.deepcopy(model)
    parts = TrainParts(m, build_optimizer(m, lr=1e-3), precision=Precision(torch.float64))
    with pytest.raises(NonFiniteLossError, match="not taken"):
        train_step(parts, [{"video": video * float("nan"), "label": labels}])
    for key, value in m.state_dict().items():
        assert torch.equal(value, model.state_dict()[key]), key  # the weights did not change


def test_one_precision_rule():
    from tcclip.train.precision import resolve_precision

    cpu, gpu = torch.device("cpu"), torch.device("cuda:0")
    assert resolve_precision("bf16", "float32", cpu).amp == "bf16"  # bf16 autocast works on CPUs
    assert resolve_precision("fp16", "float32", cpu).amp == "none"  # fp16 needs a GPU
    assert resolve_precision("fp16", "float32", gpu).needs_grad_scaler
    assert resolve_precision("bf16", "float64", gpu).amp == "none"  # float64 never autocasts
    with pytest.raises(ValueError, match="train.amp"):
        resolve_precision("fp8", "float32", cpu)
