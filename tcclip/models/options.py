"""The model's categorical options, typed: each value is checked once, where it enters.

Every switch the paper ablates that takes a name (Table 6: seed metric, merge method,
positional embedding, VP source; and the prompt mode that tells the three models apart) is a
``str`` enum: ``Merge("kmeans") == "kmeans"``, so configs, checkpoints and the command line keep
plain strings, while code compares against members and a typo fails at :func:`parse_option`
with the list of valid values instead of somewhere deep in a forward pass.
"""
from __future__ import annotations

from enum import Enum
from typing import TypeVar

__all__ = ["SeedMetric", "Merge", "PositionalEmbedding", "VPSource", "PromptMode", "parse_option"]


class _Option(str, Enum):
    def __str__(self) -> str:  # "kmeans", not "Merge.KMEANS", in messages and configs
        return self.value


class SeedMetric(_Option):
    """How the informative (seed) patches of a frame are scored (Sec. 3.2.1)."""

    CLS_ATTENTION = "cls_attention"  # the [CLS] query's attention, averaged over heads (the paper's)
    KEY_NORM = "key_norm"  # the L2 norm of each patch's key
    ALL_PATCHES = "none"  # no selection: every patch is a seed


class Merge(_Option):
    """How the seed tokens of all frames become the k context tokens (Sec. 3.2.2, Table 6)."""

    BIPARTITE = "bipartite"  # repeated bipartite soft matching (ToMe), the paper's
    KMEANS = "kmeans"
    RANDOM = "random"  # bipartite rounds with random partners
    TUBE = "tube"  # fixed spatio-temporal tubes of all patches, no seed selection
    NONE = "none"  # every seed token is a context token


class PositionalEmbedding(_Option):
    SPATIAL = "spatial"  # CLIP's, shared by every frame (the released configuration)
    JOINT = "joint"  # one learnable copy per frame


class VPSource(_Option):
    """What video-conditional prompting attends to (Table 6)."""

    CONTEXT = "context"  # the last layer's context tokens (the paper's)
    CLS = "cls"  # the frames' [CLS] features
    GAP = "gap"  # the frames' mean-patch features


class PromptMode(_Option):
    LEARNABLE = "learnable"  # 4 prompt vectors initialised from "a photo of a" (TC-CLIP)
    FIXED = "fixed"  # the text "a photo of a {name}." (ViFi-CLIP)
    NONE = "none"  # the class name alone (vanilla CLIP)


E = TypeVar("E", bound=_Option)


def parse_option(kind: type[E], value: object, name: str) -> E:
    """``value`` as a member of ``kind``; a clear error naming the option and its choices."""
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in kind)
        raise ValueError(f"{name} must be one of {choices}; got {value!r}") from None
