"""Mini-pretraining of the tiny CLIP on synthetic captioned stills (CPU, minutes).

TC-CLIP starts from CLIP weights learned on 400M web image-text pairs; the tiny profile
cannot download those, so it makes its own stand-in: the ``TC-Tiny`` open_clip model is
trained from scratch with CLIP's contrastive loss on captioned stills of the synthetic
world's objects (``tcclip.world.synthetic.generate_image_captions``). The stills ground
colours, shapes, positions and "two" directly, and every word of change the class names use
(staying still, moving, growing, rotating, changing colour, approaching...) the way a
photograph can show it: faint copies of where the object was. What a still shows poorly is
which way a change goes: the tiny ViT does not tell "rotating clockwise" from
"counterclockwise" (or "moving horizontally" from "vertically") in one picture within this
budget, so the contrastive loss alone would leave each such pair of captions with one text
feature. A hinge on the text side (``PretrainConfig.contrast_margin``) keeps the captions of
opposite changes apart, another (``caption_margin``) any two different captions of a batch
(striped and checkered discs look alike to the tiny ViT), and captions are also seen without
their colour word (``colour_drop``: some class names name none), so every class name gets its
own text feature
(``class_text_similarity`` measures it) and fine-tuning on frames in order can tell the
classes apart; what no still can show is several moments as separate frames, which is what the
video chapters add on top.

``pretrain_mini`` writes an open_clip state dict (loadable by ``open_clip.create_model(
"TC-Tiny", pretrained=PATH)`` and ``tcclip.build_model(..., clip="TC-Tiny",
pretrained=PATH)``) and a JSON sidecar with the settings and the measured transfer:
held-out image->caption retrieval and zero-shot accuracy of the vanilla ``clip`` video
model on the synthetic world's test list, each next to chance and to random weights, and the
largest cosine similarity between two class names' text features.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tcclip.io import atomic_torch_save, atomic_write_text
from tcclip.train.optim import build_scheduler

log = logging.getLogger("tcclip")

__all__ = [
    "PretrainConfig",
    "PretrainResult",
    "pretrain_mini",
    "format_metrics",
    "sidecar_identity",
    "sidecar_path",
    "create_tiny_clip",
    "train_clip",
    "caption_variants",
    "contrast_caption",
    "caption_margin_loss",
    "drop_colour",
    "content_key",
    "encode_captions",
    "retrieval_accuracy",
    "class_text_similarity",
    "appearance_attribute_accuracy",
    "weights_are_current",
    "zero_shot_video_accuracy",
    "load_test_videos",
    "main",
]

CLIP_NAME = "TC-Tiny"
CAPTIONS_DIRNAME = "synthetic_captions"
#: The prefix every generated caption starts with; dropping it is the text augmentation.
PHOTO_PREFIX = "a photo of "


@dataclass(frozen=True)
class PretrainConfig:
    """Settings of one mini-pretraining run (all of them go into the JSON sidecar)."""

    steps: int = 400
    batch_size: int = 64
    lr: float = 2e-3
    min_lr: float = 1e-5
    warmup_steps: int = 40
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-6
    num_images: int = 4000  # captioned stills generated
    holdout: int = 400  # the last ones, never trained on: retrieval is measured on them
    image_size: int = 64
    max_shift: int = 3  # light augmentation: random translation by up to this many pixels
    brightness: float = 0.1  # and a global brightness factor in [1 - b, 1 + b]
    prefix_drop: float = 0.5  # probability of writing "a red circle ..." for "a photo of a ..."
    position_drop: float = 0.0  # probability of leaving out "on the left" etc.
    # probability of leaving out the colour word: the across-frames class names ("a ring staying
    # still", "a ring changing colour") name none, and without colour-free captions their text
    # features depended on float rounding (gap 3.7 on one CPU, 2.0 on another; test needs 2.2)
    colour_drop: float = 0.25
    # what the tiny ViT barely tells apart in a still (striped / checkered, a ring staying still /
    # changing colour) the contrastive loss leaves with nearly one text feature, and which side
    # of the test's threshold such a pair lands on changed with the CPU's rounding; a hinge keeps
    # every two different captions of a batch at cosine <= this (1.0 turns it off)
    caption_margin: float = 0.9
    # the tiny ViT does not read from one still which way a thing turns or moves, so the
    # contrastive loss alone leaves the words of opposite changes with one text feature; a hinge
    # keeps each caption's feature at cosine <= this from its opposite's (``contrast_caption``);
    # 1.0 turns it off
    contrast_margin: float = 0.8
    max_logit_scale: float = 100.0  # CLIP clamps the learned temperature at 100
    threads: int = 2  # torch CPU threads (the CI machine has 2 cores)
    eval_batch_size: int = 256

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class PretrainResult:
    """What ``train_clip`` returns: the trained open_clip model and the loss per step."""

    model: nn.Module
    losses: list[float]  # CLIP's loss plus the contrast margin's hinge, per step
    logit_scale: float
    seconds: float


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def _position_phrases() -> tuple[str, ...]:
    from .stills import POSITIONS  # the caption grammar's own list, not a copy

    return tuple(POSITIONS)


def content_key(caption: str) -> str:
    """A caption without its position phrase: what a position-free variant still says."""
    for phrase in _position_phrases():
        if caption.endswith(" " + phrase):
            return caption[: -len(phrase) - 1]
    return caption


def drop_colour(caption: str) -> str:
    """The caption without its colour word ("a photo of a red ring staying still" -> "a photo
    of a ring staying still"); a caption that names no colour is returned as it is."""
    from .classes import COLOURS

    words = caption.split(" ")
    for i, word in enumerate(words):
        if word in COLOURS:
            return " ".join(words[:i] + words[i + 1:])
    return caption


def caption_variants(caption: str) -> list[str]:
    """Eight ways to caption an image, indexed by ``prefix_dropped + 2 * position_dropped +
    4 * colour_dropped``.

    Class names of the video world read "a red square staying still", not "a photo of a red
    square on the left"; also seeing "a red square on the left", "a photo of a red square"
    and "a red square" makes the text encoder pool on the colour and shape words rather
    than on the fixed prefix and the position. Some class names name no colour at all ("a
    ring staying still": its videos come in every colour), so a caption is also seen without
    its colour word. The rewrites only remove words; captions without a prefix, position or
    colour repeat the ones they have.
    """
    short = caption[len(PHOTO_PREFIX):] if caption.startswith(PHOTO_PREFIX) else caption
    key = content_key(caption)
    key_short = key[len(PHOTO_PREFIX):] if key.startswith(PHOTO_PREFIX) else key
    kept = [caption, short, key, key_short]
    return kept + [drop_colour(c) for c in kept]


#: Endings of captions that name a change, and the ending of the opposite change.
CONTRAST_ENDINGS: tuple[tuple[str, str], ...] = (
    ("rotating clockwise", "rotating counterclockwise"), ("moving horizontally", "moving vertically"),
    ("moving left", "moving right"), ("moving up", "moving down"), ("growing", "shrinking"),
    ("approaching each other", "moving apart"),
)


def contrast_caption(caption: str) -> Optional[str]:
    """The caption of the opposite change ("... rotating clockwise" -> "... rotating
    counterclockwise"), or None for a caption that names no change with an opposite."""
    for a, b in CONTRAST_ENDINGS:
        for this, other in ((b, a), (a, b)):  # the longer ending first: "counterclockwise" ends in "clockwise"
            if caption.endswith(" " + this):
                return caption[: -len(this)] + other
    return None


def _distinct_caption_batches(caption_ids: np.ndarray, batch_size: int, gen: torch.Generator) -> Iterator[list[int]]:
    """Endless batches of image indices whose captions are pairwise distinct.

    The stills reuse ~130 captions, so a random batch would hold the same caption for
    several images, and the contrastive loss would push apart true pairs (false
    negatives). Each batch is filled from a shuffled stream, deferring an image whose
    caption is already in the batch to the next one.
    """
    num_distinct = int(caption_ids.max()) + 1
    if batch_size > num_distinct:
        raise ValueError(f"batch_size {batch_size} exceeds the {num_distinct} distinct captions; lower it")
    pending: list[int] = []
    while True:
        stream = pending + torch.randperm(len(caption_ids), generator=gen).tolist()
        pending = []
        batch: list[int] = []
        seen: set[int] = set()
        for i in stream:
            c = int(caption_ids[i])
            if c in seen or len(batch) == batch_size:
                pending.append(i)
                continue
            batch.append(i)
            seen.add(c)
            if len(batch) == batch_size:
                yield batch
                batch, seen = [], set()
        pending = batch + pending  # an incomplete tail starts the next pass


def caption_margin_loss(features: torch.Tensor, ids: torch.Tensor, margin: float) -> torch.Tensor:
    """sum over pairs of different texts of relu(cosine - margin), per text: [n, D] unit
    features, [n] text ids. Zero once every two different captions are at cosine <= margin."""
    cosine = features @ features.T
    pairs = torch.triu(ids[:, None] != ids[None, :], diagonal=1)
    return F.relu(cosine[pairs] - margin).sum() / len(features)


def _keep_texts_distinct(text_id: torch.Tensor, cid: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """``which`` with the colour kept wherever dropping it would repeat a text already in the batch."""
    rows, out = text_id[cid].tolist(), which.tolist()  # plain lists: one lookup per caption, no tensor indexing
    seen: set[int] = set()
    for i, row in enumerate(rows):
        if out[i] >= 4 and row[out[i]] in seen:
            out[i] -= 4
        seen.add(row[out[i]])
    return torch.tensor(out, dtype=which.dtype)


def _to_model_input(images: np.ndarray) -> torch.Tensor:
    """uint8 [N,H,W,3] -> float [N,3,H,W] normalised with CLIP's mean and std."""
    from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)
    mean = torch.tensor(OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(OPENAI_DATASET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def _augment(x: torch.Tensor, cfg: PretrainConfig, gen: torch.Generator) -> torch.Tensor:
    """Random translation (replicate padding) and brightness, per image.

    Deliberately no flips or crops that cut objects: captions name positions ("on the
    left") and directions ("moving left"), which a flip would contradict, and colour words
    forbid hue jitter. Written by hand (not torchvision v2) to draw from ``gen``, batched.
    """
    n, _, h, w = x.shape
    s = cfg.max_shift
    if s > 0:
        padded = F.pad(x, (s, s, s, s), mode="replicate")
        dx = torch.randint(0, 2 * s + 1, (n,), generator=gen)
        dy = torch.randint(0, 2 * s + 1, (n,), generator=gen)
        rows = (dy[:, None] + torch.arange(h)[None])  # [n, h]
        cols = (dx[:, None] + torch.arange(w)[None])  # [n, w]
        idx = torch.arange(n)[:, None, None]
        x = padded.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if cfg.brightness > 0:
        factor = 1 + (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * cfg.brightness
        from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

        mean = torch.tensor(OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(OPENAI_DATASET_STD).view(1, 3, 1, 1)
        x = ((x * std + mean) * factor).clamp(0, 1).sub(mean).div(std)
    return x.contiguous()


# --------------------------------------------------------------------------------------
# Model pieces
# --------------------------------------------------------------------------------------


def create_tiny_clip(seed: int) -> nn.Module:
    """A randomly initialised ``TC-Tiny`` open_clip CLIP; the init depends on ``seed`` only.

    The starting point of pretraining (and the report's random-weights baseline): open_clip's
    "initialized randomly" notice is left out, the log says what happens to the model.
    """
    import open_clip

    from tcclip.models.backbone import register_tiny_configs, silence_random_init_notice

    register_tiny_configs()
    with torch.random.fork_rng(devices=[]), silence_random_init_notice():  # open_clip initialises from the global RNG
        torch.manual_seed(seed)
        model = open_clip.create_model(CLIP_NAME, force_quick_gelu=True, load_weights=False)
    return model.float()


def encode_captions(model: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """Text features [N, E] of token ids [N, L], running only as many positions as needed.

    open_clip's ``encode_text`` always runs all 77 positions; the captions need ~12. The
    mask is causal and the EOT token is pooled, so trimming the padding after the longest
    EOT gives the same features (the video model's text encoder relies on the same fact)
    at a sixth of the cost. Written by hand for that reason.
    """
    eot = tokens.argmax(dim=-1)
    length = int(eot.max()) + 1
    tokens = tokens[:, :length]
    x = model.token_embedding(tokens) + model.positional_embedding[:length]
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = x[torch.arange(x.shape[0]), eot]
    return x @ model.text_projection


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """open_clip's recipe: no weight decay on gains, biases, norms and the temperature."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        exclude = p.ndim < 2 or "ln" in name or "bias" in name or "logit_scale" in name
        (no_decay if exclude else decay).append(p)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": weight_decay}]


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Use ``n`` intra-op threads inside the block, then restore the caller's setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------------------
# Training and evaluation
# --------------------------------------------------------------------------------------


def train_clip(
    images: np.ndarray,
    captions: Sequence[str],
    cfg: PretrainConfig = PretrainConfig(),
    seed: int = 0,
    progress: bool = True,
) -> PretrainResult:
    """Train ``TC-Tiny`` from scratch with CLIP's loss on (uint8 image, caption) pairs.

    Deterministic given ``seed`` (model init, batches, augmentation and caption variants
    all draw from generators seeded by it), the number of threads and the kind of CPU: on
    another CPU, floating-point rounding grows over the steps into another model (before
    ``colour_drop`` and ``caption_margin``, the closest two class names were 3.7 logits apart
    on an AMD EPYC and 2.0 on an Intel Xeon).
    """
    import open_clip
    from open_clip.loss import ClipLoss

    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    model = create_tiny_clip(seed)
    tokenizer = open_clip.get_tokenizer(CLIP_NAME)
    distinct = sorted(set(captions))
    # Captions whose position may be dropped must differ in more than the position within
    # a batch, or "a red square" would be a false negative for another red square's image.
    batch_key = content_key if cfg.position_drop > 0 else (lambda c: c)
    keys = sorted({batch_key(c) for c in distinct})
    key_index = {k: i for i, k in enumerate(keys)}
    lookup = {c: i for i, c in enumerate(distinct)}
    caption_ids = np.array([lookup[c] for c in captions])
    batch_ids = np.array([key_index[batch_key(c)] for c in captions])
    # Every caption's variants tokenised once; a batch only indexes into this table.
    variants = [caption_variants(c) for c in distinct]
    table = tokenizer([v for vs in variants for v in vs]).view(len(distinct), len(variants[0]), -1)
    # which text each (caption, variant) is: without their colour two captions of a batch can
    # read the same, and one text must not be a negative of itself
    text_index: dict[str, int] = {}
    text_id = torch.tensor([[text_index.setdefault(v, len(text_index)) for v in vs] for vs in variants])
    # the distinct caption of the opposite change, where the stills have one (-1: none)
    opposite = torch.tensor([lookup.get(contrast_caption(c) or "", -1) for c in distinct])
    pixels = _to_model_input(images)

    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
    scheduler = build_scheduler(optimizer, cfg.steps, cfg.warmup_steps, cfg.lr, cfg.min_lr)  # the fine-tuning schedule
    loss_fn = ClipLoss()
    batches = _distinct_caption_batches(batch_ids, cfg.batch_size, gen)
    losses: list[float] = []
    start = time.perf_counter()
    steps: Any = range(cfg.steps)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="pretrain TC-Tiny", unit="step")
    model.train()
    with _torch_threads(cfg.threads):
        for _ in steps:
            idx = torch.tensor(next(batches))
            cid = torch.from_numpy(caption_ids[idx.numpy()])
            which = (torch.rand(len(idx), generator=gen) < cfg.prefix_drop).long()
            which += 2 * (torch.rand(len(idx), generator=gen) < cfg.position_drop).long()
            which += 4 * (torch.rand(len(idx), generator=gen) < cfg.colour_drop).long()
            which = _keep_texts_distinct(text_id, cid, which)
            tokens = table[cid, which]
            x = _augment(pixels[idx], cfg, gen)
            image_features = F.normalize(model.encode_image(x), dim=-1)
            text_features = F.normalize(encode_captions(model, tokens), dim=-1)
            loss = loss_fn(image_features, text_features, model.logit_scale.exp())
            if cfg.contrast_margin < 1.0:
                opp = opposite[cid]
                has = opp >= 0
                if bool(has.any()):
                    other = F.normalize(encode_captions(model, table[opp[has], which[has]]), dim=-1)
                    cosine = (text_features[has] * other).sum(-1)
                    loss = loss + F.relu(cosine - cfg.contrast_margin).mean()
            if cfg.caption_margin < 1.0:
                loss = loss + caption_margin_loss(text_features, text_id[cid, which], cfg.caption_margin)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            with torch.no_grad():  # as in CLIP: the temperature never goes below 1/100
                model.logit_scale.clamp_(0, math.log(cfg.max_logit_scale))
            losses.append(float(loss.detach()))
            if progress:
                steps.set_postfix(loss=f"{losses[-1]:.3f}", scale=f"{model.logit_scale.exp().item():.1f}")
    model.eval()
    return PretrainResult(model, losses, float(model.logit_scale.detach().exp()), time.perf_counter() - start)


@torch.no_grad()
def retrieval_accuracy(model: nn.Module, images: np.ndarray, captions: Sequence[str],
                       candidates: Sequence[str], batch_size: int = 256) -> float:
    """Top-1 image->caption retrieval: the fraction of images whose own caption ranks first
    among ``candidates`` (every distinct caption of the corpus)."""
    import open_clip

    tokenizer = open_clip.get_tokenizer(CLIP_NAME)
    model.eval()
    text = F.normalize(encode_captions(model, tokenizer(list(candidates))), dim=-1)
    index = {c: i for i, c in enumerate(candidates)}
    target = torch.tensor([index[c] for c in captions])
    hits = 0
    for lo in range(0, len(images), batch_size):
        feats = F.normalize(model.encode_image(_to_model_input(images[lo:lo + batch_size])), dim=-1)
        hits += int(((feats @ text.T).argmax(-1) == target[lo:lo + batch_size]).sum())
    return hits / max(1, len(images))


@torch.no_grad()
def class_text_similarity(pretrained: Optional[str], classnames: Sequence[str], seed: int = 0) -> dict[str, Any]:
    """How distinct the text features of ``classnames`` are: the largest cosine similarity
    between two classes' features, and which two, for the prompts of vanilla CLIP (the name
    alone) and of ViFi-CLIP ("a photo of a {name}.").

    Two classes whose features are (nearly) parallel get (nearly) the same logit for every
    video, so no video feature can separate them: the start of fine-tuning, and zero-shot,
    need distinct features for every pair of class names.
    """
    from tcclip.models import build_model

    out: dict[str, Any] = {}
    for model_name in ("clip", "vifi_clip"):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_model(model_name, list(classnames), clip=CLIP_NAME, pretrained=pretrained).eval()
        text = model.encode_text()
        cos = (text @ text.T).fill_diagonal_(-2.0)
        i, j = divmod(int(cos.argmax()), len(classnames))
        out[model_name] = {"max_cosine": round(float(cos.max()), 5), "pair": [classnames[i], classnames[j]],
                           "pairs_above_0.95": int((cos > 0.95).sum()) // 2}
    return out


def load_test_videos(world: Any, num_frames: int = 8, image_size: int = 64,
                     progress: bool = False, split: str = "test") -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """The world's test list (or another ``split``'s) decoded once (test mode, one view): videos
    [N,T,3,S,S], labels [N] and the class names, so several models are scored on the same tensors."""
    from torch.utils.data import DataLoader

    from tcclip.data import VideoDataset

    list_file, label_file = world.views[split]
    dataset = VideoDataset(list_file, world.video_root, label_file, num_frames=num_frames, mode="test", size=image_size)
    videos, labels = [], []
    it: Any = DataLoader(dataset, batch_size=32, shuffle=False, num_workers=0)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="decode test videos", unit="batch")
    for batch in it:
        videos.append(batch["video"][:, 0])  # [B, V=1, T, 3, S, S] -> [B, T, 3, S, S]
        labels.append(batch["label"])
    return torch.cat(videos), torch.cat(labels), list(dataset.classnames)


@torch.no_grad()
def appearance_attribute_accuracy(classnames: Sequence[str], labels: Sequence[int],
                                  predictions: Sequence[int]) -> dict[str, Optional[float]]:
    """Of the appearance videos, the fraction whose prediction names the right colour, and the right shape.

    Which half of "a red striped circle staying still" a model gets right: a model that sees colour
    but not the object scores ~1 on colour and ~1/3 on shape (world v2's tiny CLIP, whose shapes
    were circle / square / triangle: 0.93 / 0.37). A prediction
    outside the appearance family names no colour or shape, and counts as wrong for both.
    """
    from .synthetic import build_classes

    specs = {c.name: c for c in build_classes()}
    pairs = [(specs[classnames[y]], specs[classnames[p]]) for y, p in zip(labels, predictions)
             if specs[classnames[y]].family == "appearance"]
    return {attr: (round(sum(q.family == "appearance" and getattr(q, attr) == getattr(t, attr) for t, q in pairs)
                         / len(pairs), 4) if pairs else None) for attr in ("colour", "shape")}


def zero_shot_video_accuracy(pretrained: Optional[str], videos: torch.Tensor, labels: torch.Tensor,
                             classnames: Sequence[str], families: dict[str, str], seed: int = 0,
                             batch_size: int = 64) -> dict[str, Any]:
    """Zero-shot top-1 of the vanilla ``clip`` video model (frame features averaged, the
    class name as the prompt), overall and per class family.

    ``pretrained``: a TC-Tiny weights file, or None for random weights drawn from ``seed``.
    """
    from tcclip.models import build_model

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model("clip", list(classnames), clip=CLIP_NAME, pretrained=pretrained,
                            num_frames=videos.shape[1]).eval()
    pred = torch.cat([model(videos[lo:lo + batch_size]).argmax(-1) for lo in range(0, len(videos), batch_size)])
    correct = (pred == labels).float()
    family = [families[classnames[int(y)]] for y in labels]
    per_family = {}
    for fam in sorted(set(family)):
        mask = torch.tensor([f == fam for f in family])
        per_family[fam] = round(float(correct[mask].mean()), 4)
    appearance = torch.tensor([f == "appearance" for f in family])
    attribute = appearance_attribute_accuracy(classnames, labels.tolist(), pred.tolist())
    return {
        "top1": round(float(correct.mean()), 4),
        "appearance_top1": round(float(correct[appearance].mean()), 4) if appearance.any() else None,
        "appearance_colour_right": attribute["colour"],
        "appearance_shape_right": attribute["shape"],
        "non_appearance_top1": round(float(correct[~appearance].mean()), 4) if (~appearance).any() else None,
        "per_family": per_family,
        "num_classes": len(classnames),
        "num_videos": len(labels),
        "chance": round(1 / len(classnames), 4),
    }


def sidecar_path(weights: str | os.PathLike) -> Path:
    """The JSON file that describes a weights file: same name, ``.json`` suffix."""
    return Path(weights).with_suffix(".json")


def sidecar_identity(config: Optional[PretrainConfig] = None, seed: int = 0) -> dict[str, Any]:
    """The sidecar fields that say which weights these are: the seed, the settings and the
    captions file of the current generator (its name hashes the generator's version)."""
    from .synthetic import captions_file_name

    cfg = config or PretrainConfig()
    return {"seed": seed, "config": cfg.as_dict(),
            "captions_file": captions_file_name(seed, cfg.num_images, cfg.image_size)}


def weights_are_current(weights: str | os.PathLike, config: Optional[PretrainConfig] = None,
                        seed: int = 0) -> bool:
    """Whether ``weights`` were pretrained on the stills the current generator makes, with
    ``config`` (``sidecar_identity``; the thread count does not change what is learned).
    Weights made before the world changed (or without a sidecar) are not."""
    try:
        info = json.loads(sidecar_path(weights).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    wanted = json.loads(json.dumps(sidecar_identity(config, seed)))
    without_threads = lambda c: {k: v for k, v in c.items() if k != "threads"}  # noqa: E731
    return (info.get("captions_file") == wanted["captions_file"] and info.get("seed") == seed
            and without_threads(info.get("config", {})) == without_threads(wanted["config"]))


def pretrain_mini(
    out_path: str | os.PathLike,
    cache_dir: str | os.PathLike | None = None,
    steps: Optional[int] = None,
    seed: int = 0,
    progress: bool = True,
    config: Optional[PretrainConfig] = None,
    evaluate: bool = True,
    world: Any = None,
) -> Path:
    """Pretrain ``TC-Tiny`` on the synthetic stills and save its open_clip state dict.

    ``cache_dir`` (default: the profile's) receives the captioned stills under
    ``synthetic_captions/`` and, when ``evaluate``, holds the synthetic video world used
    for the zero-shot measurement (``world`` overrides it, e.g. a tiny world in tests).
    ``steps`` overrides ``config.steps``. Writes ``out_path`` and its JSON sidecar
    (``sidecar_path``) atomically; returns ``out_path``.
    """
    from .synthetic import generate_image_captions, load_image_captions
    from .profile import get_profile

    cfg = config or PretrainConfig()
    if steps is not None:
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        cfg = dataclasses.replace(cfg, steps=steps, warmup_steps=min(cfg.warmup_steps, max(1, steps // 10)))
    if not 0 <= cfg.holdout < cfg.num_images:
        raise ValueError(f"holdout ({cfg.holdout}) must be in [0, num_images={cfg.num_images})")
    out = Path(out_path)
    cache = Path(cache_dir) if cache_dir is not None else get_profile().cache_dir
    started = time.perf_counter()
    with _torch_threads(cfg.threads):
        npz = generate_image_captions(cache / CAPTIONS_DIRNAME, seed=seed, n=cfg.num_images,
                                      image_size=cfg.image_size, progress=progress)
    images, captions = load_image_captions(npz)
    n_train = cfg.num_images - cfg.holdout
    result = train_clip(images[:n_train], captions[:n_train], cfg, seed=seed, progress=progress)
    atomic_torch_save(result.model.state_dict(), out)

    metrics: dict[str, Any] = {
        "loss_first": round(result.losses[0], 4),
        "loss_last10": round(float(np.mean(result.losses[-10:])), 4),
        "logit_scale": round(result.logit_scale, 2),
        "train_seconds": round(result.seconds, 1),
    }
    if evaluate:
        eval_start = time.perf_counter()
        with _torch_threads(cfg.threads):
            metrics.update(_evaluate(out, result.model, images[n_train:], captions[n_train:], sorted(set(captions)),
                                     cfg, seed, cache, world, progress))
        metrics["eval_seconds"] = round(time.perf_counter() - eval_start, 1)
    identity = sidecar_identity(cfg, seed)  # what weights_are_current checks, defined once
    if identity["captions_file"] != npz.name:  # cannot happen unless the stills' naming breaks
        raise RuntimeError(f"the stills {npz.name} are not the ones the sidecar would name "
                           f"({identity['captions_file']}); report this as a bug")
    info = {
        "model": CLIP_NAME,
        "weights": out.name,
        **identity,
        "num_train_images": n_train,
        "num_distinct_captions": len(set(captions)),
        "torch": torch.__version__,
        "seconds": round(time.perf_counter() - started, 1),
        "metrics": metrics,
        "losses": [round(v, 4) for v in result.losses],
    }
    atomic_write_text(sidecar_path(out), json.dumps(info, indent=1))
    log.info("TC-Tiny pretrained in %.0fs -> %s", info["seconds"], out)
    return out


def _evaluate(weights: Path, model: nn.Module, images: np.ndarray, captions: Sequence[str], candidates: Sequence[str],
              cfg: PretrainConfig, seed: int, cache: Path, world: Any, progress: bool) -> dict[str, Any]:
    """Retrieval on the held-out stills and zero-shot video accuracy, each vs chance and
    vs the same model with random weights."""
    from tcclip.models.backbone import silence_random_init_notice

    metrics: dict[str, Any] = {}
    if len(images):
        metrics["retrieval"] = {
            "top1": round(retrieval_accuracy(model, images, captions, candidates, cfg.eval_batch_size), 4),
            "random_weights_top1": round(retrieval_accuracy(create_tiny_clip(seed), images, captions, candidates,
                                                            cfg.eval_batch_size), 4),
            "chance": round(1 / len(candidates), 4),
            "num_images": len(images),
            "num_candidates": len(candidates),
        }
    if world is None:
        from tcclip.data.registry import dataset_dir
        from .synthetic import generate_video_world

        # the same world (same place, same parameters) as tcclip.world.assets.synthetic_world
        world = generate_video_world(dataset_dir("synthetic", root=cache), seed=0, size="default",
                                     workers=2, progress=progress)
    videos, labels, classnames = load_test_videos(world, image_size=cfg.image_size, progress=progress)
    score = lambda w: zero_shot_video_accuracy(w, videos, labels, classnames, world.families, seed=seed)  # noqa: E731
    with silence_random_init_notice():  # random on purpose, and reported as "random_weights"
        random_weights = score(None)
    metrics["zero_shot_video"] = {
        "pretrained": score(str(weights)),
        "random_weights": random_weights,
        "test_list": str(world.views["test"][0]),
    }
    metrics["class_text_similarity"] = class_text_similarity(str(weights), world.classes, seed=seed)
    return metrics


def format_metrics(metrics: dict[str, Any]) -> str:
    """A short human summary of a sidecar's metrics (printed by the CLI)."""
    lines = []
    if "retrieval" in metrics:
        r = metrics["retrieval"]
        lines.append(f"held-out image->caption top-1: {r['top1']:.3f} (random weights {r['random_weights_top1']:.3f}, "
                     f"chance {r['chance']:.3f}, {r['num_candidates']} captions)")
    if "zero_shot_video" in metrics:
        z = metrics["zero_shot_video"]
        p, q = z["pretrained"], z["random_weights"]
        lines.append(f"zero-shot video top-1 ({p['num_classes']} classes, {p['num_videos']} clips): {p['top1']:.3f} "
                     f"(random weights {q['top1']:.3f}, chance {p['chance']:.3f})")
        for fam, acc in p["per_family"].items():
            lines.append(f"  {fam:<14} {acc:.3f} (random {q['per_family'][fam]:.3f})")
    for model_name, sim in metrics.get("class_text_similarity", {}).items():
        lines.append(f"class-name text features ({model_name} prompt): max cosine {sim['max_cosine']:.4f} "
                     f"({sim['pair'][0]!r} / {sim['pair'][1]!r})")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m tcclip pretrain-mini [--out PATH] [--steps N] [--seed S]``."""
    from .profile import get_profile

    profile = get_profile()
    parser = argparse.ArgumentParser(prog="python -m tcclip pretrain-mini", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=profile.pretrained,
                        help=f"weights file to write (default: the tiny profile's, {profile.pretrained})")
    parser.add_argument("--steps", type=int, default=None, help=f"optimiser steps (default {PretrainConfig.steps})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=PretrainConfig.threads,
                        help="torch CPU threads (default %(default)s; 1 is faster on an overloaded machine)")
    parser.add_argument("--no-eval", action="store_true", help="skip the retrieval and zero-shot video measurements")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if not profile.is_tiny and args.out == profile.pretrained:
        parser.error("the full profile uses OpenAI's CLIP weights; pass --out to pretrain TC-Tiny anyway")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")  # quiet open_clip's INFO chatter
    log.setLevel(logging.INFO)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    config = dataclasses.replace(PretrainConfig(), threads=args.threads)
    out = pretrain_mini(args.out, cache_dir=profile.cache_dir, steps=args.steps, seed=args.seed,
                        progress=not args.quiet, config=config, evaluate=not args.no_eval)
    info = json.loads(sidecar_path(out).read_text())
    print(f"wrote {out} ({info['seconds']:.0f}s; details in {sidecar_path(out).name})")
    summary = format_metrics(info["metrics"])
    if summary:
        print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
