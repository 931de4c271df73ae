"""Tiny random checkpoints built offline, for tests and for the benchmark.

Nothing here downloads anything. `build_tiny_qwen3_vl` writes a directory laid out like the real
Qwen3-VL-Embedding / -Reranker checkpoints (config.json, model.safetensors, tokenizer files,
preprocessor_config.json, chat_template.jinja) so the production loader reads it unchanged.
The recipe is the one in docs `qwen3-vl.md`: a byte-level BPE trained on a few Korean/LaTeX
sentences, the Qwen special tokens, a ChatML chat template, the PIL Qwen2-VL image processor,
and a ~250k-parameter `Qwen3VLConfig`.

`build_tiny_text_encoder` and `build_tiny_siglip` do the same for the generic local backends.
"""

from __future__ import annotations

import json
from pathlib import Path

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# ChatML as Qwen uses it; an image part becomes <|vision_start|><|image_pad|><|vision_end|>, which
# the processor expands to one <|image_pad|> per merged 32×32 block.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "<|im_start|>{{ message['role'] + '\\n' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' or 'image' in part -%}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{%- elif part['type'] == 'text' -%}{{ part['text'] }}"
    "{%- endif -%}{%- endfor -%}{%- endif -%}"
    "<|im_end|>{{ '\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|im_start|>assistant{{ '\\n' }}{%- endif -%}"
)

CORPUS = [
    "다음 중 계산 결과가 가장 큰 것은? $37+25$",
    "이차방정식 $x^2-5x+6=0$의 두 근의 합을 구하시오.",
    "그림과 같이 삼각형 ABC에서 $\\angle A = 60^\\circ$일 때, 변 BC의 길이는?",
    "함수 $f(x)=\\frac{1}{x-1}$의 정의역을 구하시오.",
    "$\\sqrt{2}\\times\\sqrt{8}$의 값은?",
    "다음 글을 읽고 물음에 답하시오. 광합성은 식물이 빛 에너지를 이용하는 과정이다.",
    "① 1 ② 2 ③ 3 ④ 4 ⑤ 5",
    "Represent the user's input. Retrieve similar test items.",
    "Judge whether the Document meets the requirements based on the Query and the Instruct "
    'provided. Note that the answer can only be "yes" or "no".',
    "<Instruct>: Given a search query, retrieve relevant candidates that answer the query.",
    "<Query>: <Document>: NULL user system assistant",
    "yes no",
]


def _train_bpe(vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    for word in ("yes", "no"):  # plain tokens the reranker reads its score from
        if tok.token_to_id(word) is None:
            tok.add_tokens([word])
    return tok


def _qwen_tokenizer(vocab_size: int = 400):
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(
        tokenizer_object=_train_bpe(vocab_size),
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        additional_special_tokens=SPECIAL_TOKENS[1:],
        padding_side="right",
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def _image_processor(max_pixels: int):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    return Qwen2VLImageProcessorPil(
        patch_size=16,
        temporal_patch_size=2,
        merge_size=2,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        min_pixels=4 * 32 * 32,
        max_pixels=max_pixels,
    )


def tiny_qwen3_vl_config(tokenizer, *, vocab_size: int | None = None) -> dict:
    """The tiny architecture of qwen3-vl.md, with the vision token ids of `tokenizer`."""
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    return {
        "text_config": {
            "vocab_size": vocab_size or len(tokenizer),
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 16,
            "max_position_embeddings": 4096,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [4, 2, 2],
                "mrope_interleaved": True,
            },
            "pad_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
        },
        "vision_config": {
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "out_hidden_size": 64,
            "num_position_embeddings": 64,
            "deepstack_visual_indexes": [0, 1],
        },
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
        "tie_word_embeddings": False,
    }


def real_2b_config(tokenizer) -> dict:
    """The Qwen3-VL-2B architecture (about 2.13 B parameters) for timing with random weights."""
    cfg = tiny_qwen3_vl_config(tokenizer, vocab_size=151936)
    cfg["text_config"].update(
        hidden_size=2048,
        intermediate_size=6144,
        num_hidden_layers=28,
        num_attention_heads=16,
        num_key_value_heads=8,
        head_dim=128,
        max_position_embeddings=262144,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 5000000.0,
            "mrope_section": [24, 20, 20],
            "mrope_interleaved": True,
        },
    )
    cfg["vision_config"].update(
        depth=24,
        hidden_size=1024,
        intermediate_size=4096,
        num_heads=16,
        out_hidden_size=2048,
        num_position_embeddings=2304,
        deepstack_visual_indexes=[5, 11, 17],
    )
    cfg["tie_word_embeddings"] = True
    return cfg


def write_qwen3_vl_processor_files(
    path: str | Path, *, max_pixels: int = 64 * 32 * 32, vocab_size: int = 400
):
    """Tokenizer, chat template and image processor files; returns the tokenizer."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = _qwen_tokenizer(vocab_size=vocab_size)
    tokenizer.save_pretrained(path)
    (path / "chat_template.jinja").write_text(CHAT_TEMPLATE, encoding="utf-8")
    _image_processor(max_pixels).save_pretrained(path)
    return tokenizer


def build_real_2b_dir(path: str | Path) -> Path:
    """Processor files plus the real 2B config.json, without weights (see `random_weights`)."""
    from transformers import Qwen3VLConfig

    path = Path(path)
    tokenizer = write_qwen3_vl_processor_files(path, max_pixels=1800 * 32 * 32, vocab_size=4000)
    Qwen3VLConfig(**real_2b_config(tokenizer)).save_pretrained(path)
    return path


def build_tiny_qwen3_vl(
    path: str | Path,
    *,
    reranker: bool = False,
    bare: bool = False,
    seed: int = 0,
    max_pixels: int = 64 * 32 * 32,
) -> Path:
    """Write a tiny random Qwen3-VL checkpoint (about 1 MB) to `path` and return it.

    The weights are saved from `Qwen3VLForConditionalGeneration`, so the keys read
    `model.language_model.*` / `model.visual.*` as in the published checkpoints. The embedder
    ties the LM head to the input embeddings as Qwen3-VL-2B does; the reranker
    (reranker=True) keeps a separate LM head, whose `yes`/`no` rows give its score.
    bare=True saves only the inner `Qwen3VLModel` (keys without the `model.` prefix).
    """
    import torch
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    path = Path(path)
    tokenizer = write_qwen3_vl_processor_files(path, max_pixels=max_pixels)
    cfg = tiny_qwen3_vl_config(tokenizer)
    cfg["tie_word_embeddings"] = not reranker
    config = Qwen3VLConfig(**cfg)
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config)
    (model.model if bare else model).save_pretrained(path)
    return path


def build_tiny_text_encoder(
    path: str | Path, *, pooling: str | None = "cls", seed: int = 0
) -> Path:
    """A tiny random BERT with a WordPiece tokenizer; `pooling` writes 1_Pooling/config.json."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    raw = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    raw.normalizer = normalizers.NFKC()
    raw.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    raw.train_from_iterator(
        CORPUS * 4,
        trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials, show_progress=False),
    )
    from tokenizers.processors import TemplateProcessing

    raw.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", raw.token_to_id("[CLS]")), ("[SEP]", raw.token_to_id("[SEP]"))],
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    tok.save_pretrained(path)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(seed)
    BertModel(config, add_pooling_layer=False).save_pretrained(path)
    if pooling:
        (path / "1_Pooling").mkdir(exist_ok=True)
        (path / "1_Pooling" / "config.json").write_text(
            json.dumps(
                {
                    "word_embedding_dimension": 32,
                    "pooling_mode_cls_token": pooling == "cls",
                    "pooling_mode_mean_tokens": pooling == "mean",
                    "pooling_mode_max_tokens": False,
                }
            )
        )
    return path


def build_tiny_siglip(path: str | Path, *, seed: int = 0) -> Path:
    """A tiny random SiglipModel with a preprocessor_config.json (32×32, mean/std 0.5)."""
    import torch
    from transformers import SiglipConfig, SiglipModel

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = SiglipConfig(
        text_config={
            "vocab_size": 64,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 16,
        },
        vision_config={
            "image_size": 32,
            "patch_size": 8,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
        },
    )
    torch.manual_seed(seed)
    SiglipModel(config).save_pretrained(path)
    (path / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "image_processor_type": "SiglipImageProcessor",
                "do_resize": True,
                "size": {"height": 32, "width": 32},
                "resample": 3,
                "do_rescale": True,
                "rescale_factor": 1 / 255,
                "do_normalize": True,
                "image_mean": [0.5, 0.5, 0.5],
                "image_std": [0.5, 0.5, 0.5],
            }
        )
    )
    return path
