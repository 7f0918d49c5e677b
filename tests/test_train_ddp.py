"""DDP on 2 CPU processes (gloo): parameters stay in sync and match a single process.

Two ranks x 2 clips with no accumulation see the same 4 clips per step as one process x 2
clips x 2 accumulation steps (DistributedSampler interleaves one permutation; the sample
seeds depend on the global position), so in float64 without mixup the weights must agree.
"""
from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp


def _overrides(data_root, weights, output, batch):
    return ["profile=tiny", f"data.root={data_root}", f"model.pretrained={weights}", "data.num_frames=4",
            "model.options.num_context=4", f"train.batch_per_gpu={batch}", "protocol.total_batch=4",
            "protocol.epochs=1", "protocol.warmup_epochs=0", "protocol.steps_per_epoch=2", "protocol=few_shot",
            "data.shots=2", "train.dtype=float64", "train.mixup=0", "train.cutmix=0", "eval.every_epochs=0",
            f"output={output}", "resume=none"]


def _train(overrides, tag, out_dir):
    from tcclip.train import compose_config
    from tcclip.train.data import build_video_dataset
    from tcclip.train.distributed import cleanup_distributed, init_distributed
    from tcclip.train.engine import train
    from tcclip.train.evaluate import evaluate
    from tcclip.train.protocols import build_run_model, train_views

    torch.set_num_threads(1)
    cfg = compose_config(overrides)
    info = init_distributed("cpu")
    try:
        t_args, v_args = train_views(cfg)
        train_set = build_video_dataset(cfg, mode="train", **t_args)
        model = build_run_model(cfg, train_set.classnames)
        summary = train(cfg, model, train_set, None, info, out_dir / f"run_{tag}")
        val = evaluate(model, build_video_dataset(cfg, mode="test", **v_args), batch_size=3, info=info)
        torch.save({"state": model.state_dict(), "losses": [h["loss"] for h in summary["history"]],
                    "val": val, "schedule": summary["schedule"]}, out_dir / f"{tag}.pt")
    finally:
        cleanup_distributed(info)


def _worker(rank, world_size, port, overrides, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world_size))
    _train(overrides, f"rank{rank}", out_dir)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_cpu_processes_in_sync_and_match_single_process(tiny_world_root, tiny_clip_path, tmp_path, monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    mp.spawn(_worker, args=(2, _free_port(), _overrides(tiny_world_root, tiny_clip_path, tmp_path, 2), tmp_path), nprocs=2)
    _train(_overrides(tiny_world_root, tiny_clip_path, tmp_path, 2), "single", tmp_path)
    r0, r1, single = (torch.load(tmp_path / f"{t}.pt", weights_only=True) for t in ("rank0", "rank1", "single"))
    assert r0["schedule"]["accumulation"] == 1 and single["schedule"]["accumulation"] == 2
    for key, value in r0["state"].items():  # bit-identical across ranks
        assert torch.equal(value, r1["state"][key]), key
    start = torch.load(tiny_clip_path, weights_only=True)
    for key, value in single["state"].items():
        # float64 weights; the loss itself is float32 (video_text_loss), hence not bit-equal
        torch.testing.assert_close(r0["state"][key], value, rtol=1e-9, atol=1e-10, msg=key)
    # training did change the weights (so the agreement is not trivial)
    assert not torch.equal(r0["state"]["visual.conv1.weight"], start["visual.conv1.weight"].to(torch.float64))
    assert r0["losses"] == pytest.approx(single["losses"], rel=1e-6) and len(r0["losses"]) == 2
    # sharded evaluation sums to the single-process numbers
    assert r0["val"] == r1["val"]
    assert (r0["val"]["num_videos"], r0["val"]["top1"]) == (single["val"]["num_videos"], single["val"]["top1"])
