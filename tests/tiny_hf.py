"""Tiny random transformers models, saved with processors, for end-to-end adapter tests.

No weights can be downloaded here, so each builder makes the real model class from a small config
(random weights), a tokenizer built from scratch (``tokenizers`` WordLevel over a few dozen tokens
that include the model's special tokens, with the config's bos/eos/pad ids inside that vocabulary)
and the real processor class, then ``save_pretrained``s them into one folder the adapter loads
through ``--model-path``.
"""
from __future__ import annotations

from pathlib import Path

WORDS = ["dog", "cat", "water", "house", "tree", "book", "perro", "gato", "agua", "casa",
         "狗", "猫", "水", "房子", "树", "书", "the", "word", "is", ".", '"', "\n", "user", "assistant"]


def word_tokenizer(specials: list[str], extra_vocab: list[str] | None = None, named: dict | None = None,
                   add_bos: bool = False, **special_map: str):
    """A fast tokenizer over ``specials`` + a few words; ``special_map`` names bos/eos/pad/unk, and
    ``named`` model-specific ones (``{"image_token": "<image>"}``) that processors read as attributes.
    ``add_bos``: like Llama 3's tokenizer, encoding with special tokens prepends the BOS token."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tokens = list(dict.fromkeys(["<unk>", *specials, *special_map.values(), *WORDS, *(extra_vocab or [])]))
    vocab = {t: i for i, t in enumerate(tokens)}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    if add_bos:
        bos = special_map["bos_token"]
        tk.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A $B",
                                                          special_tokens=[(bos, vocab[bos])])
    special_map.setdefault("unk_token", "<unk>")
    fast = PreTrainedTokenizerFast(tokenizer_object=tk, extra_special_tokens=named or {}, **special_map)
    fast.add_special_tokens({"additional_special_tokens": [s for s in specials if s not in special_map.values()]})
    return fast


# ------------------------------------------------------------------------------------------------
def make_trocr(out: Path) -> Path:
    from transformers import (TrOCRConfig, TrOCRProcessor, ViTConfig, ViTImageProcessor,
                              VisionEncoderDecoderConfig, VisionEncoderDecoderModel)

    tok = word_tokenizer([], bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    enc = ViTConfig(image_size=32, patch_size=16, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=32)
    dec = TrOCRConfig(vocab_size=len(tok), d_model=16, decoder_layers=1, decoder_attention_heads=2,
                      decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=tok.pad_token_id,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      decoder_start_token_id=tok.bos_token_id)
    cfg = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
    cfg.decoder_start_token_id = tok.bos_token_id
    cfg.pad_token_id = tok.pad_token_id
    cfg.eos_token_id = tok.eos_token_id
    model = VisionEncoderDecoderModel(config=cfg)
    model.generation_config.decoder_start_token_id = tok.bos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    proc = TrOCRProcessor(image_processor=ViTImageProcessor(size={"height": 32, "width": 32}), tokenizer=tok)
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out


def make_florence2(out: Path) -> Path:
    from transformers import (BartConfig, CLIPImageProcessor, Florence2Config, Florence2ForConditionalGeneration,
                              Florence2Processor, Florence2VisionConfig)

    tok = word_tokenizer(["<image>"], named={"image_token": "<image>"}, bos_token="<s>", eos_token="</s>",
                         pad_token="<pad>")
    text = BartConfig(vocab_size=len(tok), d_model=16, encoder_layers=1, decoder_layers=1,
                      encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                      decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=tok.pad_token_id,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      decoder_start_token_id=tok.eos_token_id, forced_bos_token_id=None)
    vision = Florence2VisionConfig(depths=(1, 1), patch_size=(7, 3), patch_stride=(4, 2), patch_padding=(3, 1),
                                   patch_prenorm=(False, True), embed_dim=(8, 16), num_heads=(1, 2),
                                   num_groups=(1, 2), window_size=2, projection_dim=16, drop_path_rate=0.0)
    cfg = Florence2Config(text_config=text, vision_config=vision, image_token_id=tok.image_token_id)
    model = Florence2ForConditionalGeneration(cfg)
    for k in ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"):
        setattr(model.generation_config, k, getattr(text, k))
    ip = CLIPImageProcessor(size={"height": 32, "width": 32}, crop_size={"height": 32, "width": 32},
                            do_center_crop=False)
    ip.image_seq_length = 17  # (32/4/2)^2 patches after the two stages + 1 pooled (577 in the real one)
    proc = Florence2Processor(image_processor=ip, tokenizer=tok)
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out


def chat_template(image: str, bos: bool = False) -> str:
    """A minimal chat template that puts the model's image placeholder where the image goes; ``bos``:
    it starts with the BOS token, as Llama 3's official template does."""
    return ("{{- bos_token }}" if bos else "") + ("{% for m in messages %}{{ m['role'] }}: {% if m['content'] is string %}{{ m['content'] }}"
            "{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}" + image + " "
            "{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}\n{% endfor %}"
            "{% if add_generation_prompt %}assistant: {% endif %}")


def _set_ids(model, tok) -> None:
    gc = model.generation_config
    gc.bos_token_id, gc.eos_token_id, gc.pad_token_id = tok.bos_token_id, tok.eos_token_id, tok.pad_token_id


def make_mllama(out: Path) -> Path:
    from transformers import (MllamaConfig, MllamaForConditionalGeneration, MllamaImageProcessor,
                              MllamaProcessor, MllamaTextConfig, MllamaVisionConfig)

    # Like the real one: the tokenizer prepends <|begin_of_text|>, and so does the chat template.
    tok = word_tokenizer(["<|image|>", "<|python_tag|>"], named={"image_token": "<|image|>"}, add_bos=True,
                         bos_token="<|begin_of_text|>", eos_token="<|eot_id|>", pad_token="<|finetune_right_pad_id|>")
    image_id = tok.convert_tokens_to_ids("<|image|>")
    vision = MllamaVisionConfig(hidden_size=16, num_hidden_layers=2, num_global_layers=1, attention_heads=2,
                                intermediate_size=32, vision_output_dim=32, image_size=28, patch_size=14,
                                max_num_tiles=4, intermediate_layers_indices=[0])
    text = MllamaTextConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                            num_key_value_heads=1, intermediate_size=32, max_position_embeddings=256,
                            cross_attention_layers=[1], bos_token_id=tok.bos_token_id,
                            eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    cfg = MllamaConfig(vision_config=vision, text_config=text, image_token_index=image_id)
    model = MllamaForConditionalGeneration(cfg)
    _set_ids(model, tok)
    ip = MllamaImageProcessor(size={"height": 28, "width": 28}, max_image_tiles=4)
    proc = MllamaProcessor(image_processor=ip, tokenizer=tok, chat_template=chat_template("<|image|>", bos=True))
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out


def make_janus(out: Path) -> Path:
    from transformers import (JanusConfig, JanusForConditionalGeneration, JanusImageProcessor, JanusProcessor,
                              JanusVisionConfig, JanusVQVAEConfig, LlamaConfig)

    tok = word_tokenizer(["<image_placeholder>", "<begin_of_image>", "<end_of_image>"],
                         named={"image_token": "<image_placeholder>", "boi_token": "<begin_of_image>",
                                "eoi_token": "<end_of_image>"},
                         bos_token="<｜begin▁of▁sentence｜>", eos_token="<｜end▁of▁sentence｜>", pad_token="<｜▁pad▁｜>")
    image_id = tok.convert_tokens_to_ids("<image_placeholder>")
    n_tokens = 4  # (32 / 16)^2 patches
    vision = JanusVisionConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, image_size=32,
                               patch_size=16, projection_dim=16, depth=1, num_image_tokens=n_tokens, mlp_ratio=2.0)
    vq = JanusVQVAEConfig(embed_dim=4, num_embeddings=16, latent_channels=32, base_channels=32,  # GroupNorm(32)
                          channel_multiplier=(1, 1), num_res_blocks=1, num_patches=2, projection_dim=16,
                          num_hidden_layers=1, image_token_embed_dim=16)
    text = LlamaConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                       num_key_value_heads=1, intermediate_size=32, max_position_embeddings=256,
                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    cfg = JanusConfig(text_config=text, vision_config=vision, vq_config=vq, image_token_id=image_id)
    model = JanusForConditionalGeneration(cfg)
    _set_ids(model, tok)
    ip = JanusImageProcessor(size={"height": 32, "width": 32})
    proc = JanusProcessor(image_processor=ip, tokenizer=tok, num_image_tokens=n_tokens,
                          chat_template=chat_template("<image_placeholder>"))
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out


def make_qwen3vl(out: Path) -> Path:
    """Needs torchvision: the Qwen3-VL processor always builds its video processor."""
    from transformers import (Qwen2VLImageProcessor, Qwen3VLConfig, Qwen3VLForConditionalGeneration,
                              Qwen3VLProcessor, Qwen3VLTextConfig, Qwen3VLVideoProcessor, Qwen3VLVisionConfig)

    specials = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
    tok = word_tokenizer(specials, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token="<|im_start|>")
    ids = {s: tok.convert_tokens_to_ids(s) for s in specials}
    vision = Qwen3VLVisionConfig(depth=1, hidden_size=16, intermediate_size=32, num_heads=2, patch_size=16,
                                 spatial_merge_size=2, temporal_patch_size=2, out_hidden_size=32,
                                 num_position_embeddings=16, deepstack_visual_indexes=(0,))
    text = Qwen3VLTextConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                             num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=512,
                             rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                              "mrope_section": [4, 2, 2], "mrope_interleaved": True},
                             pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                             eos_token_id=tok.eos_token_id)
    cfg = Qwen3VLConfig(text_config=text, vision_config=vision, image_token_id=ids["<|image_pad|>"],
                        video_token_id=ids["<|video_pad|>"], vision_start_token_id=ids["<|vision_start|>"],
                        vision_end_token_id=ids["<|vision_end|>"])
    model = Qwen3VLForConditionalGeneration(cfg)
    _set_ids(model, tok)
    ip = Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2,
                               size={"shortest_edge": 32 * 32, "longest_edge": 64 * 64})
    proc = Qwen3VLProcessor(image_processor=ip, tokenizer=tok, video_processor=Qwen3VLVideoProcessor(),
                            chat_template=chat_template("<|vision_start|><|image_pad|><|vision_end|>"))
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out


def make_internvl(out: Path) -> Path:
    """Needs torchvision: the InternVL processor always builds its video processor."""
    from transformers import (GotOcr2ImageProcessor, InternVLConfig, InternVLForConditionalGeneration,
                              InternVLProcessor, InternVLVideoProcessor, InternVLVisionConfig, Qwen2Config)

    named = {"start_image_token": "<img>", "end_image_token": "</img>", "context_image_token": "<IMG_CONTEXT>",
             "video_token": "<video>"}
    tok = word_tokenizer(list(named.values()), named=named, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                         bos_token="<|im_start|>")
    vision = InternVLVisionConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                                  image_size=(28, 28), patch_size=(14, 14))
    text = Qwen2Config(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                       pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    cfg = InternVLConfig(vision_config=vision, text_config=text, image_token_id=tok.convert_tokens_to_ids("<IMG_CONTEXT>"),
                         image_seq_length=1, downsample_ratio=0.5)
    model = InternVLForConditionalGeneration(cfg)
    _set_ids(model, tok)
    ip = GotOcr2ImageProcessor(size={"height": 28, "width": 28}, crop_to_patches=False)
    proc = InternVLProcessor(image_processor=ip, tokenizer=tok, video_processor=InternVLVideoProcessor(),
                             image_seq_length=1, chat_template=chat_template("<IMG_CONTEXT>"))
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out
