"""Run profiles: the single place where ``TCCLIP_PROFILE`` and friends are read.

Two profiles exist:

``tiny`` (the default)
    Runs everywhere, on a laptop CPU, in seconds to minutes. A small CLIP-shaped model
    (registered with open_clip as ``"TC-Tiny"``) with weights pre-trained on the synthetic
    world, 8 frames of 64 x 64 pixels, 16 context tokens. Every chapter of the book executes
    under this profile.

``full``
    The paper's setting: ViT-B/16 with the OpenAI CLIP weights, 16 frames of 224 x 224
    pixels, 96 context tokens, a GPU and a real dataset under ``TCCLIP_DATA_ROOT``.

Environment variables (all optional), read only by :func:`get_profile`:

* ``TCCLIP_PROFILE``: ``tiny`` or ``full``.
* ``TCCLIP_CACHE``: where weights, the synthetic world and other generated files live.
  Default: ``<repository>/.cache`` inside a checkout, otherwise ``~/.cache/tcclip``.
* ``TCCLIP_DATA_ROOT``: the dataset root of the ``full`` profile.
* ``TCCLIP_DEVICE``: force a device (``cpu``, ``cuda``, ``cuda:1``); default ``cuda`` when
  a GPU is visible, else ``cpu``.

Everything else in the package takes a :class:`Profile` (or its fields) as an argument, so
code never looks at the environment itself.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = [
    "PROFILE_NAMES",
    "Profile",
    "get_profile",
    "profile_name",
    "describe_missing",
    "default_cache_dir",
    "repository_root",
]

#: The accepted values of ``TCCLIP_PROFILE``.
PROFILE_NAMES = ("tiny", "full")
#: The profile when neither an argument nor ``TCCLIP_PROFILE`` names one.
DEFAULT_PROFILE = "tiny"

#: File name of the tiny model's mini-pretrained weights, inside ``<cache>/weights``.
TINY_WEIGHTS_NAME = "tc_tiny_pretrained.pt"
#: Folder of the generated synthetic world, inside the tiny profile's data root (the cache
#: directory); the dataset registry (``tcclip.data.registry``) names it the same way.
SYNTHETIC_WORLD_DIR = "synthetic"


@dataclass(frozen=True)
class Profile:
    """Everything that differs between a CPU run of the book and the paper's setting."""

    name: str
    clip_model: str  # open_clip model name
    pretrained: str  # open_clip pretrained tag ("openai") or a path to a weights file
    num_frames: int  # T, frames sampled per clip
    image_size: int  # input resolution (square)
    context_tokens: int  # k, context tokens kept per layer
    device: str  # "cuda", "cuda:N" or "cpu"
    data_root: Path | None  # dataset root (None: full profile without TCCLIP_DATA_ROOT)
    cache_dir: Path  # weights, synthetic world, jupyter caches...

    @property
    def is_tiny(self) -> bool:
        return self.name == "tiny"

    @property
    def weights_dir(self) -> Path:
        """Where downloaded or generated weights are kept."""
        return self.cache_dir / "weights"

    def as_dict(self) -> dict:
        """A plain dict (paths as strings), handy for logging and printing."""
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}

    def __str__(self) -> str:  # a readable multi-line summary for notebooks
        width = max(len(k) for k in self.as_dict())
        lines = [f"{k:<{width}} : {v}" for k, v in self.as_dict().items()]
        return "\n".join(lines)


def repository_root() -> Path | None:
    """The root of the source checkout this package runs from, or None when installed."""
    root = Path(__file__).resolve().parents[2]  # <root>/tcclip/world/profile.py
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            text = pyproject.read_text(encoding="utf-8")
        except OSError:
            return None
        if 'name = "tcclip"' in text:
            return root
    return None


def default_cache_dir() -> Path:
    """``<repository>/.cache`` in a checkout, ``~/.cache/tcclip`` otherwise."""
    root = repository_root()
    if root is not None:
        return root / ".cache"
    return Path.home() / ".cache" / "tcclip"


def _default_device() -> str:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def profile_name(name: str | None = None) -> str:
    """The chosen profile: ``name`` if given, else ``TCCLIP_PROFILE``, else ``"tiny"``.

    The one place where the environment picks a profile (the CLI, the book and the experiments
    all ask here), so every entry point has the same default.
    """
    chosen = (name if name is not None else os.environ.get("TCCLIP_PROFILE", "")).strip().lower() or DEFAULT_PROFILE
    if chosen not in PROFILE_NAMES:
        raise ValueError(
            f"unknown profile {chosen!r}: set TCCLIP_PROFILE to one of {', '.join(PROFILE_NAMES)}"
        )
    return chosen


def get_profile(name: str | None = None) -> Profile:
    """Return the active :class:`Profile`.

    ``name`` overrides ``TCCLIP_PROFILE``; both default to ``"tiny"``. The values come from the
    run configuration of that profile (``tcclip/configs/base.yaml`` merged with
    ``configs/profile/<name>.yaml``): the profile is data, and this is a typed view of it. The
    environment is read on every call (nothing is cached), so a notebook or a test may change it.
    """
    from tcclip.models.vision import TCConfig
    from tcclip.train.config import compose_config

    chosen = profile_name(name)
    env = os.environ
    cache_env = env.get("TCCLIP_CACHE", "").strip()
    cache_dir = Path(cache_env).expanduser() if cache_env else default_cache_dir()
    device = env.get("TCCLIP_DEVICE", "").strip() or _default_device()
    cfg = compose_config(profile=chosen)
    if chosen == "tiny":
        pretrained = str(cache_dir / "weights" / TINY_WEIGHTS_NAME)
        data_root: Path | None = cache_dir  # the world lives in <cache>/synthetic
    else:
        pretrained = str(cfg.model.pretrained)
        data_env = env.get("TCCLIP_DATA_ROOT", "").strip()
        data_root = Path(data_env).expanduser() if data_env else None
    return Profile(
        name=chosen,
        clip_model=str(cfg.model.clip),
        pretrained=pretrained,
        num_frames=int(cfg.data.num_frames),
        image_size=int(cfg.data.size),
        context_tokens=int(cfg.model.options.get("num_context", TCConfig.num_context)),
        device=device,
        data_root=data_root,
        cache_dir=cache_dir,
    )


# --------------------------------------------------------------------------------------
# What is missing to run a profile
# --------------------------------------------------------------------------------------


def _clip_weights_cached(profile: Profile) -> bool:
    """True if the open_clip weights of ``profile`` can be loaded without a download."""
    pretrained = Path(profile.pretrained).expanduser()
    if pretrained.suffix in {".pt", ".pth", ".bin", ".safetensors"}:
        return pretrained.is_file()
    try:
        from open_clip.pretrained import get_pretrained_cfg
    except ImportError:
        return False
    cfg = get_pretrained_cfg(profile.clip_model, profile.pretrained) or {}
    # 1. a plain file in our own cache (e.g. put there by hand on an offline machine)
    for folder in (profile.weights_dir, profile.cache_dir / "open_clip"):
        if folder.is_dir():
            stem = f"{profile.clip_model}-{profile.pretrained}".lower()
            for f in folder.iterdir():
                if f.is_file() and f.name.lower().startswith(stem):
                    return True
    # 2. the Hugging Face hub cache (where open_clip downloads to by default)
    hf_hub = cfg.get("hf_hub", "")
    if hf_hub:
        repo_id = hf_hub.rstrip("/")
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            return False
        for filename in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
            for cache_dir in (None, profile.cache_dir / "open_clip"):
                try:
                    hit = try_to_load_from_cache(
                        repo_id, filename, cache_dir=None if cache_dir is None else str(cache_dir)
                    )
                except Exception:  # noqa: BLE001 - a malformed cache is "not cached"
                    hit = None
                if isinstance(hit, str) and os.path.isfile(hit):
                    return True
    # 3. an old-style URL download
    url = cfg.get("url", "")
    if url:
        name = os.path.basename(url)
        for folder in (Path.home() / ".cache" / "clip", profile.cache_dir / "open_clip"):
            if (folder / name).is_file():
                return True
    return False


def _has_files(folder: Path | None) -> bool:
    if folder is None or not folder.is_dir():
        return False
    return any(folder.iterdir())


def _missing(profile: Profile) -> list[tuple[str, str]]:
    """(what is missing, how to get it) pairs."""
    out: list[tuple[str, str]] = []
    if profile.name == "full":
        if not profile.device.startswith("cuda"):
            out.append(
                (
                    "No GPU: the full profile trains ViT-B/16 on 16 x 224 x 224 clips, which is "
                    "impractical on a CPU (device is 'cpu').",
                    "Run on a machine with an NVIDIA GPU and a CUDA build of PyTorch "
                    "(check: python -c 'import torch; print(torch.cuda.is_available())'), "
                    "or use TCCLIP_PROFILE=tiny.",
                )
            )
        if not _clip_weights_cached(profile):
            out.append(
                (
                    f"The CLIP weights {profile.clip_model}/{profile.pretrained} are not cached.",
                    "Download them once with network access: python -c \"import open_clip; "
                    f"open_clip.create_model_and_transforms('{profile.clip_model}', "
                    f"pretrained='{profile.pretrained}')\" (they land in the Hugging Face cache, "
                    "~/.cache/huggingface; set HF_HOME to move it).",
                )
            )
        if profile.data_root is None:
            out.append(
                (
                    "No dataset root: TCCLIP_DATA_ROOT is not set.",
                    "Download the videos and annotation files (see the book's 'Datasets' page "
                    "and data_scripts/), then export TCCLIP_DATA_ROOT=/path/to/datasets.",
                )
            )
        elif not _has_files(profile.data_root):
            out.append(
                (
                    f"No dataset at TCCLIP_DATA_ROOT={profile.data_root} "
                    "(the folder is missing or empty).",
                    "Download and prepare the datasets there (see the book's 'Datasets' page "
                    "and data_scripts/), or point TCCLIP_DATA_ROOT at the folder that holds them.",
                )
            )
    else:
        if not Path(profile.pretrained).is_file():
            out.append(
                (
                    f"The tiny model's mini-pretrained weights are not there yet ({profile.pretrained}).",
                    "They are generated on first use (this takes a few CPU minutes) and cached; "
                    "nothing to download.",
                )
            )
        world = profile.data_root / SYNTHETIC_WORLD_DIR
        if not (world / "manifest.json").is_file():
            out.append(
                (
                    f"The synthetic world has not been generated yet ({world}).",
                    "It is generated on first use and cached; nothing to download.",
                )
            )
    return out


def describe_missing(profile: Profile | None = None, width: int = 88) -> str:
    """A human-readable account of what ``profile`` still lacks, and how to get it.

    Returns an empty string when nothing is missing; lines are wrapped at ``width``. For the ``full`` profile it checks for
    a GPU, for cached CLIP weights and for a dataset under ``TCCLIP_DATA_ROOT``; for the
    ``tiny`` profile it only notes generated files that will be created on first use.
    """
    profile = profile if profile is not None else get_profile()
    items = _missing(profile)
    if not items:
        return ""
    head = f"The '{profile.name}' profile is missing {len(items)} thing(s):"
    body = []
    for i, (what, how) in enumerate(items, 1):
        body.append(textwrap.fill(what, width, initial_indent=f"{i}. ", subsequent_indent="   "))
        body.append(textwrap.fill(how, width, initial_indent="   -> ", subsequent_indent="      "))
    return "\n".join([head, *body])
