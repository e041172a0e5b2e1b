"""A SAM 2.1 video model small enough for CPU tests, built from a config (random weights)."""

from __future__ import annotations


def tiny_config(size: int = 128):
    """A SAM 2 video config small enough for CPU tests. (Hidden sizes stay a multiple of the
    64-channel memory, which transformers' memory attention assumes.)"""
    from transformers import Sam2VideoConfig
    d = 128
    return Sam2VideoConfig(
        vision_config=dict(
            model_type="sam2_vision_model",
            backbone_config=dict(model_type="sam2_hiera_det_model", hidden_size=16,
                                 image_size=[size, size], blocks_per_stage=[1, 1, 2, 1],
                                 embed_dim_per_stage=[16, 32, 64, 128],
                                 num_attention_heads_per_stage=[1, 1, 1, 1],
                                 window_size_per_stage=[4, 4, 4, 4], global_attention_blocks=[3],
                                 window_positional_embedding_background_size=[2, 2]),
            backbone_channel_list=[128, 64, 32, 16],
            backbone_feature_sizes=[[size // 4] * 2, [size // 8] * 2, [size // 16] * 2],
            fpn_hidden_size=d),
        prompt_encoder_config=dict(hidden_size=d, image_size=size, patch_size=16),
        mask_decoder_config=dict(hidden_size=d, mlp_dim=64, num_attention_heads=2,
                                 iou_head_hidden_dim=d),
        image_size=size, memory_attention_hidden_size=d, memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=64,
        memory_attention_rope_feat_sizes=[size // 16, size // 16], memory_encoder_hidden_size=d,
        memory_encoder_output_channels=64, mask_downsampler_embed_dim=d, memory_fuser_embed_dim=d,
        memory_fuser_intermediate_dim=64, num_maskmem=3, max_object_pointers_in_encoder=4)
