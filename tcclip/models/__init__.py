"""TC-CLIP's parts, one module each, in the order of the paper."""
from .attention import Attention, BiasAugmentedAttention
from .factory import MODEL_NAMES, PRESETS, ModelSpec, build_model
from .options import Merge, PositionalEmbedding, PromptMode, SeedMetric, VPSource
from .merging import MergeState, kmeans_context, merge_bipartite, merge_schedule, merge_to_context, tube_context
from .prompting import PromptLearner, VideoConditionalPrompting, clean_classname
from .seed_selection import gather_seed_tokens, select_seed_tokens
from .text import TextEncoder
from .video_clip import ModelOutput, VideoCLIP
from .vision import TCConfig, TCVisionEncoder, source_patch_map

__all__ = ["Merge", "PositionalEmbedding", "PromptMode", "SeedMetric", "VPSource", "Attention", "BiasAugmentedAttention", "MODEL_NAMES", "PRESETS", "ModelSpec", "build_model", "MergeState", "kmeans_context",
           "merge_bipartite", "merge_schedule", "merge_to_context", "tube_context", "PromptLearner",
           "VideoConditionalPrompting", "clean_classname", "gather_seed_tokens", "select_seed_tokens", "TextEncoder",
           "ModelOutput", "VideoCLIP", "TCConfig", "TCVisionEncoder", "source_patch_map"]
