"""tcclip: TC-CLIP (Kim et al., ECCV 2024) as a tested package.

    import tcclip
    model = tcclip.build_model("tc_clip", ["archery", "bowling"], clip="ViT-B-16", pretrained="openai")
    logits = model(video)  # video: [B, T, 3, 224, 224], CLIP-normalised
"""
from .checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from .loss import video_text_loss
from .models import MODEL_NAMES, ModelOutput, VideoCLIP, build_model

__version__ = "0.1.0"
__all__ = ["build_model", "load_checkpoint", "model_from_checkpoint", "save_checkpoint", "video_text_loss", "VideoCLIP", "ModelOutput", "MODEL_NAMES"]
