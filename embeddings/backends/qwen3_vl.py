"""Qwen3-VL-Embedding (2B: 2048-d, 8B: 4096-d): text, images, or both, in one vector space.

The official recipe (QwenLM/Qwen3-VL-Embedding), followed step by step:

- a chat: system message = the instruction (a final "." added when it ends without
  punctuation), user content = the item's images first, then its text; an empty input becomes
  the text "NULL"; the template is applied with ``add_generation_prompt=True``;
- images are flattened onto white RGB and smart-resized to multiples of 32 with the pixel count
  in [4·32², max_pixels] (``options["max_pixels"]``, default 1800·32²), then given to the
  processor with resizing off;
- right padding; the vector is the final-norm hidden state (``last_hidden_state`` of
  ``Qwen3VLModel``) at the last non-padding position, L2-normalised; with
  ``config.dimensions`` the first k dimensions are kept (Matryoshka) and re-normalised.

Where we go beyond it: the official code truncates the token sequence blindly at 8192, which
can cut image placeholder tokens (the model then fails). We shorten the item *text* instead, so
the template and every image token survive; and when an item's images alone would not fit,
each image's pixel cap is lowered so that they do.

The processor is built without torchvision: ``Qwen3VLProcessor`` wants a video processor
(which imports torchvision), so `ImageTextProcessor` keeps only the image processor and the
tokenizer. It is constructed directly (``AutoProcessor`` on such a directory silently returns
the bare tokenizer).

Options (``BackendConfig.options``): ``query_instruction``, ``max_pixels``, ``min_pixels``,
``max_length`` (tokens, default 8192), ``attn_implementation`` (sdpa | flash_attention_2 |
eager; default flash-attention 2 on CUDA with half precision when installed, else sdpa),
``random_weights`` (benchmark only: the architecture of config.json with random weights).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from itembank.content import ModelInput

from .base import BackendConfig, BackendError
from .images import QWEN_FACTOR, QWEN_MAX_PIXELS, QWEN_MIN_PIXELS, load_qwen_image

# torch and transformers are imported inside the functions that need them: they take seconds to
# import and most processes never run this model (the registry loads this module only for a
# space that uses it, and search.rerank borrows its device helpers).

logger = logging.getLogger(__name__)

DEFAULT_INSTRUCTION = "Represent the user's input."
MAX_LENGTH = 8192
# Items prepared (images decoded, prompts rendered) at a time; batches are cut from each window
# after sorting it by length, so memory stays bounded on large embedding runs.
WINDOW_BATCHES = 8
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")

DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}


# --- loading helpers shared with the reranker ------------------------------------------------


def resolve_model_dir(model_path: str) -> Path:
    """The directory holding config.json: the path itself, or the snapshot of a HF cache dir.

    Accepts a plain checkpoint directory, a Hugging Face cache repo directory
    (``models--Qwen--Qwen3-VL-Embedding-2B``; its ``refs/main`` snapshot, else the only or newest
    one), or a cache root holding exactly one ``models--*`` directory.
    """
    if not model_path:
        raise BackendError("no model path is set for this embedding space")
    path = Path(model_path).expanduser()
    if not path.is_dir():
        raise BackendError(f"model directory not found: {path}")
    if (path / "config.json").is_file():
        return path
    repos = sorted(path.glob("models--*"))
    if len(repos) == 1 and not (path / "snapshots").is_dir():
        path = repos[0]
    snapshots = path / "snapshots"
    if snapshots.is_dir():
        ref = path / "refs" / "main"
        if ref.is_file():
            chosen = snapshots / ref.read_text().strip()
            if (chosen / "config.json").is_file():
                return chosen
        candidates = [s for s in snapshots.iterdir() if (s / "config.json").is_file()]
        if candidates:
            return max(candidates, key=lambda s: s.stat().st_mtime)
    raise BackendError(f"no config.json in {path} (not a model checkpoint directory)")


def read_config_json(model_dir: Path, expected_type: str = "qwen3_vl") -> dict:
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackendError(f"config.json in {model_dir} is unreadable: {exc}") from exc
    if not isinstance(config, dict):
        raise BackendError(f"config.json in {model_dir} is not a JSON object")
    if expected_type and config.get("model_type") != expected_type:
        raise BackendError(
            f"{model_dir} holds a {config.get('model_type')!r} model, not {expected_type!r}"
        )
    return config


def weight_files(model_dir: Path) -> list[Path]:
    files = sorted(f for pattern in WEIGHT_PATTERNS for f in model_dir.glob(pattern))
    if not files:
        raise BackendError(f"no model weights (*.safetensors or pytorch_model*.bin) in {model_dir}")
    return files


def fingerprint(model_dir: Path, extra: dict, *, weights: bool = True) -> str:
    """A stable id of the weights: config.json, weight names/sizes/head+tail bytes, `extra`."""
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors.index.json", "chat_template.jinja"):
        f = model_dir / name
        if f.is_file():
            digest.update(name.encode() + b"\0" + f.read_bytes())
    if weights:
        for f in weight_files(model_dir):
            size = f.stat().st_size
            digest.update(f"{f.name}:{size}".encode())
            with f.open("rb") as fh:  # safetensors header and the first/last MiB of data
                digest.update(fh.read(1 << 20))
                if size > 2 << 20:
                    fh.seek(-(1 << 20), 2)
                    digest.update(fh.read())
    digest.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def torch_device(name: str):
    import torch

    try:
        device = torch.device(name or "cpu")
    except RuntimeError as exc:
        raise BackendError(f"unknown device {name!r}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BackendError(f"device {name!r} requested but torch sees no CUDA GPU")
    return device


def torch_dtype(name: str):
    import torch

    try:
        return getattr(torch, DTYPES[(name or "float32").lower()])
    except KeyError:
        raise BackendError(f"unknown dtype {name!r}; use float32, float16 or bfloat16") from None


def attn_implementation(options: dict, device, dtype) -> str:
    import torch

    asked = options.get("attn_implementation")
    has_flash = importlib.util.find_spec("flash_attn") is not None
    if asked == "flash_attention_2" and not has_flash:
        raise BackendError(
            "attn_implementation flash_attention_2 asked for but flash_attn is not installed"
        )
    if asked:
        return str(asked)
    half = dtype in (torch.float16, torch.bfloat16)
    return "flash_attention_2" if device.type == "cuda" and half and has_flash else "sdpa"


def _processor_class():
    from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor

    class ImageTextProcessor(Qwen3VLProcessor):
        """Qwen3VLProcessor without the video processor (which needs torchvision)."""

        attributes = ["image_processor", "tokenizer"]

        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            super().__init__(image_processor, tokenizer, None, chat_template=chat_template)

    return ImageTextProcessor


def load_processor(model_dir: Path, padding_side: str):
    """Tokenizer + PIL image processor + chat template, read from the checkpoint directory."""
    from transformers import AutoTokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    if not (model_dir / "preprocessor_config.json").is_file():
        raise BackendError(f"no preprocessor_config.json in {model_dir}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        image_processor = Qwen2VLImageProcessorPil.from_pretrained(
            str(model_dir), local_files_only=True
        )
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise BackendError(
            f"could not load the tokenizer/processor from {model_dir}: {exc}"
        ) from exc
    tokenizer.padding_side = padding_side
    template = None
    if (model_dir / "chat_template.jinja").is_file():
        template = (model_dir / "chat_template.jinja").read_text(encoding="utf-8")
    elif (model_dir / "chat_template.json").is_file():
        try:
            template = json.loads((model_dir / "chat_template.json").read_text())["chat_template"]
        except (ValueError, KeyError) as exc:
            raise BackendError(f"chat_template.json in {model_dir} is invalid: {exc}") from exc
    template = template or getattr(tokenizer, "chat_template", None)
    if not template:
        raise BackendError(f"no chat template in {model_dir}")
    for token in ("<|image_pad|>", "<|vision_start|>", "<|vision_end|>"):
        if tokenizer.convert_tokens_to_ids(token) in (None, tokenizer.unk_token_id):
            raise BackendError(f"the tokenizer in {model_dir} lacks the token {token}")
    return _processor_class()(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=template
    )


def load_pretrained(cls, model_dir: Path, *, dtype, device, attn: str, random: bool = False):
    """`cls.from_pretrained` with every failure (and any missing weight) as a BackendError."""
    import torch

    if random:
        from transformers import Qwen3VLConfig

        config = Qwen3VLConfig.from_pretrained(str(model_dir))
        with torch.device(device):
            model = cls._from_config(config, dtype=dtype, attn_implementation=attn)
        return model.eval()
    weight_files(model_dir)
    try:
        model, info = cls.from_pretrained(
            str(model_dir),
            dtype=dtype,
            attn_implementation=attn,
            local_files_only=True,
            output_loading_info=True,
        )
    except Exception as exc:  # safetensors, torch and config errors have no common base
        raise BackendError(f"could not load the model weights from {model_dir}: {exc}") from exc
    missing = [k for k in info.get("missing_keys", ()) if not k.endswith("lm_head.weight")]
    if missing:
        raise BackendError(
            f"the weights in {model_dir} do not fit {cls.__name__}: {len(missing)} tensors "
            f"missing (e.g. {sorted(missing)[0]})"
        )
    return model.to(device).eval()


def instruction_text(instruction: str | None, default: str = DEFAULT_INSTRUCTION) -> str:
    """The official rule: strip, and add a '.' when it does not end in punctuation."""
    text = (instruction or "").strip()
    if text and not unicodedata.category(text[-1]).startswith("P"):
        text += "."
    return text or default


# --- the embedder ----------------------------------------------------------------------------


class _Prepared:
    __slots__ = ("images", "index", "length", "prompt")

    def __init__(self, index: int, prompt: str, images: list, length: int) -> None:
        self.index = index
        self.prompt = prompt
        self.images = images
        self.length = length


class Qwen3VLEmbedder:
    name = "qwen3-vl"
    modalities = frozenset({"text", "image"})

    def __init__(self, config: BackendConfig) -> None:
        from transformers import Qwen3VLModel

        self.config = config
        options = dict(config.options or {})
        self.random_weights = bool(options.get("random_weights"))
        self.model_dir = resolve_model_dir(config.model_path)
        model_config = read_config_json(self.model_dir)
        self.device = torch_device(config.device)
        self.dtype = torch_dtype(config.dtype)
        self.min_pixels = int(options.get("min_pixels", QWEN_MIN_PIXELS))
        self.max_pixels = int(options.get("max_pixels", QWEN_MAX_PIXELS))
        self.max_length = int(options.get("max_length", MAX_LENGTH))
        if not QWEN_MIN_PIXELS <= self.min_pixels <= self.max_pixels:
            raise BackendError(
                f"pixel bounds must satisfy {QWEN_MIN_PIXELS} <= min_pixels <= max_pixels"
            )
        self.instruction = instruction_text(config.instruction)
        self.query_instruction = instruction_text(
            options.get("query_instruction") or config.instruction
        )
        self.processor = load_processor(self.model_dir, padding_side="right")
        self.tokenizer = self.processor.tokenizer
        self.image_token_id = self.processor.image_token_id
        self.attn = attn_implementation(options, self.device, self.dtype)
        self.model = load_pretrained(
            Qwen3VLModel,
            self.model_dir,
            dtype=self.dtype,
            device=self.device,
            attn=self.attn,
            random=self.random_weights,
        )
        self.full_dimensions = int(model_config.get("text_config", {}).get("hidden_size", 0)) or (
            self.model.config.text_config.hidden_size
        )
        if config.dimensions is not None and not 1 <= config.dimensions <= self.full_dimensions:
            raise BackendError(
                f"dimensions must be between 1 and {self.full_dimensions}, got {config.dimensions}"
            )
        self.dimensions = config.dimensions or self.full_dimensions
        extra = {
            "dimensions": self.dimensions,
            "instruction": self.instruction,
            "query_instruction": self.query_instruction,
            "min_pixels": self.min_pixels,
            "max_pixels": self.max_pixels,
            "max_length": self.max_length,
            "random": self.random_weights,
        }
        self.revision = fingerprint(self.model_dir, extra, weights=not self.random_weights)

    # -- the chat -------------------------------------------------------------------------------

    def conversation(self, text: str, n_images: int, instruction: str) -> list[dict]:
        content: list[dict[str, Any]] = [{"type": "image"} for _ in range(n_images)]
        if text:
            content.append({"type": "text", "text": text})
        if not content:
            content.append({"type": "text", "text": "NULL"})
        return [
            {"role": "system", "content": [{"type": "text", "text": instruction}]},
            {"role": "user", "content": content},
        ]

    def render(self, text: str, n_images: int, instruction: str) -> str:
        return self.processor.apply_chat_template(
            self.conversation(text, n_images, instruction),
            add_generation_prompt=True,
            tokenize=False,
        )

    def _image_tokens(self, image) -> int:
        return (image.height // QWEN_FACTOR) * (image.width // QWEN_FACTOR)

    def prepare(self, index: int, item: ModelInput, instruction: str) -> _Prepared:
        """Decode the images, render the prompt, and shorten the text so everything fits."""
        paths = list(item.image_paths)
        max_pixels = self.max_pixels
        if paths:  # leave room for the template and some text; lower the cap if needed
            budget = (self.max_length - 256) * QWEN_FACTOR * QWEN_FACTOR // len(paths)
            max_pixels = max(self.min_pixels, min(max_pixels, budget))
        images = [
            load_qwen_image(p, min_pixels=self.min_pixels, max_pixels=max_pixels) for p in paths
        ]
        image_tokens = sum(self._image_tokens(im) for im in images)
        text = (item.text or "").strip()
        for _ in range(4):
            prompt = self.render(text, len(images), instruction)
            # each image's single <|image_pad|> expands to its block count in the processor
            length = len(self.tokenizer(prompt)["input_ids"]) + image_tokens - len(images)
            excess = length - self.max_length
            if excess <= 0:
                return _Prepared(index, prompt, images, length)
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            if excess >= len(ids):
                break
            text = self.tokenizer.decode(ids[: len(ids) - excess]).rstrip("\ufffd")
        raise BackendError(
            f"input {index} does not fit in max_length={self.max_length} tokens even without its "
            f"text ({image_tokens} image tokens); lower max_pixels"
        )

    # -- running --------------------------------------------------------------------------------

    def _forward(self, batch: list[_Prepared]):
        import torch

        images = [im for p in batch for im in p.images]
        inputs = self.processor(
            text=[p.prompt for p in batch],
            images=images or None,
            padding=True,
            truncation=False,
            do_resize=False,
            return_tensors="pt",
        )
        ids = inputs["input_ids"]
        for p, row in zip(batch, ids, strict=True):  # the placeholders all made it
            expected = sum(self._image_tokens(im) for im in p.images)
            if int((row == self.image_token_id).sum()) != expected:
                raise BackendError(f"input {p.index}: image placeholder tokens were cut")
        inputs = {
            k: (v.to(self.device) if isinstance(v, torch.Tensor) else v) for k, v in inputs.items()
        }
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        hidden = self.model(**inputs).last_hidden_state
        mask = inputs["attention_mask"]
        last = mask.shape[1] - 1 - mask.flip(dims=[1]).argmax(dim=1)
        pooled = hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
        return pooled.float()

    def _embed(self, inputs: Sequence[ModelInput], batch_size: int, instruction: str) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        if batch_size < 1:
            raise BackendError("batch_size must be at least 1")
        out = np.zeros((len(inputs), self.dimensions), dtype=np.float32)
        window = batch_size * WINDOW_BATCHES
        with torch.inference_mode():
            for start in range(0, len(inputs), window):
                prepared = [
                    self.prepare(start + i, item, instruction)
                    for i, item in enumerate(inputs[start : start + window])
                ]
                prepared.sort(key=lambda p: p.length, reverse=True)
                for b in range(0, len(prepared), batch_size):
                    batch = prepared[b : b + batch_size]
                    vectors = F.normalize(self._forward(batch), p=2, dim=-1)
                    if self.dimensions < self.full_dimensions:
                        vectors = F.normalize(vectors[:, : self.dimensions], p=2, dim=-1)
                    out[[p.index for p in batch]] = vectors.cpu().numpy()
        if not np.isfinite(out).all():
            raise BackendError("the model produced non-finite vectors (check dtype/weights)")
        return out

    def embed(self, inputs: Sequence[ModelInput], batch_size: int = 16) -> np.ndarray:
        return self._embed(list(inputs), batch_size, self.instruction)

    def embed_query(self, text: str = "", image_paths: Sequence[str] = ()) -> np.ndarray:
        item = ModelInput(text=text, image_paths=tuple(image_paths))
        return self._embed([item], 1, self.query_instruction)[0]
