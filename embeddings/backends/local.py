"""Generic local backends for checkpoints in a directory: a text encoder, an image encoder, and
their concatenation (the proof of concept's KURE-v1 + SigLIP baseline).

- `TextEncoder` ("local-text"): a sentence-transformers-style model (KURE-v1, bge-m3, e5...):
  ``AutoModel`` + ``AutoTokenizer``; pooling read from the directory's ``1_Pooling/config.json``
  (cls or mean) when present, else ``options["pooling"]`` (default mean, what
  sentence-transformers assumes for a bare model); L2-normalised. The text is
  `itembank.content.item_text` (already in ``ModelInput.text``); ``options["document_prefix"]``
  and ``options["query_prefix"]`` are prepended (e5 wants "passage: " / "query: ").
- `ImageEncoder` ("local-image"): a SigLIP/CLIP-style model's ``get_image_features`` with our own
  preprocessing from ``preprocessor_config.json`` (resize, rescale, normalise; no torchvision).
  Several images: the mean of their unit vectors, re-normalised. **No image**: the vector of a
  blank white image at the model's input size — never a zero vector (cosine stays defined), and
  every figure-less item gets the same image half, which is what "no figure" means.
- `ConcatEncoder` ("concat"): ``options = {"text": {...}, "image": {...}}``, each a sub-config
  (``BackendConfig`` fields; backend defaults to local-text / local-image, device and dtype to
  the parent's); output = [text_vec, image_vec] concatenated, then L2-normalised.

``config.dimensions`` truncates (then re-normalises) text and image vectors, as Matryoshka.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from itembank.content import ModelInput

from .base import BackendConfig, BackendError
from .images import open_image
from .qwen3_vl import fingerprint, resolve_model_dir, torch_device, torch_dtype

# torch and transformers are imported inside the functions that need them: seconds to import,
# and only a process that loads one of these models needs them.
from .registry import backend_class


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    if (norms == 0).any() or not np.isfinite(x).all():
        raise BackendError("the model produced a zero or non-finite vector")
    return (x / norms).astype(np.float32)


def _truncate(x: np.ndarray, dimensions: int | None) -> np.ndarray:
    if dimensions is not None:
        if not 1 <= dimensions <= x.shape[-1]:
            raise BackendError(f"dimensions must be between 1 and {x.shape[-1]}")
        x = x[..., :dimensions]
    return _normalise(x)


def _load_model(model_dir: Path, config: BackendConfig, cls=None):
    from transformers import AutoModel

    cls = cls or AutoModel
    device, dtype = torch_device(config.device), torch_dtype(config.dtype)
    try:
        model, info = cls.from_pretrained(
            str(model_dir), dtype=dtype, local_files_only=True, output_loading_info=True
        )
    except Exception as exc:  # safetensors, torch and config errors have no common base
        raise BackendError(f"could not load the model from {model_dir}: {exc}") from exc
    missing = [k for k in info.get("missing_keys", ()) if "pooler" not in k]
    if missing:
        raise BackendError(
            f"the weights in {model_dir} are incomplete: {len(missing)} tensors missing "
            f"(e.g. {sorted(missing)[0]})"
        )
    return model.to(device).eval(), device


class TextEncoder:
    name = "local-text"
    modalities = frozenset({"text"})

    def __init__(self, config: BackendConfig) -> None:
        from transformers import AutoTokenizer

        options = dict(config.options or {})
        self.config = config
        self.model_dir = resolve_model_dir(config.model_path)
        fingerprint(self.model_dir, {})  # fails early and clearly when there are no weights
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                str(self.model_dir), local_files_only=True
            )
        except Exception as exc:
            raise BackendError(
                f"could not load the tokenizer from {self.model_dir}: {exc}"
            ) from exc
        self.model, self.device = _load_model(self.model_dir, config)
        self.pooling = self._pooling(options)
        limit = int(getattr(self.tokenizer, "model_max_length", 512) or 512)
        self.max_length = int(options.get("max_length", min(limit, 8192)))
        self.document_prefix = str(options.get("document_prefix", ""))
        self.query_prefix = str(options.get("query_prefix", ""))
        hidden = int(self.model.config.hidden_size)
        self.dimensions = config.dimensions or hidden
        if not 1 <= self.dimensions <= hidden:
            raise BackendError(f"dimensions must be between 1 and {hidden}")
        self.revision = fingerprint(
            self.model_dir,
            {
                "pooling": self.pooling,
                "dimensions": self.dimensions,
                "max_length": self.max_length,
                "prefixes": [self.document_prefix, self.query_prefix],
            },
        )

    def _pooling(self, options: dict) -> str:
        pooling_file = self.model_dir / "1_Pooling" / "config.json"
        if pooling_file.is_file():
            try:
                cfg = json.loads(pooling_file.read_text())
            except ValueError as exc:
                raise BackendError(f"{pooling_file} is not valid JSON") from exc
            if cfg.get("pooling_mode_cls_token"):
                return "cls"
            if cfg.get("pooling_mode_mean_tokens"):
                return "mean"
            raise BackendError(f"{pooling_file}: only cls and mean pooling are supported")
        pooling = options.get("pooling", "mean")
        if pooling not in ("cls", "mean"):
            raise BackendError(f"pooling must be cls or mean, not {pooling!r}")
        return pooling

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = self.tokenizer(
                    texts[start : start + batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**batch).last_hidden_state.float()
                if self.pooling == "cls":
                    pooled = hidden[:, 0]
                else:
                    mask = batch["attention_mask"].unsqueeze(-1).float()
                    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                out.append(pooled.cpu().numpy())
        return _truncate(np.concatenate(out), self.config.dimensions)

    def embed(self, inputs: Sequence[ModelInput], batch_size: int = 16) -> np.ndarray:
        texts = [self.document_prefix + (item.text or "") for item in inputs]
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return self._encode(texts, max(1, batch_size))

    def embed_query(self, text: str = "", image_paths: Sequence[str] = ()) -> np.ndarray:
        return self._encode([self.query_prefix + text], 1)[0]


class ImageEncoder:
    name = "local-image"
    modalities = frozenset({"image"})

    def __init__(self, config: BackendConfig) -> None:
        self.config = config
        self.model_dir = resolve_model_dir(config.model_path)
        fingerprint(self.model_dir, {})
        self.model, self.device = _load_model(self.model_dir, config)
        if not hasattr(self.model, "get_image_features"):
            raise BackendError(f"{self.model_dir} holds no image model (no get_image_features)")
        self.dtype = torch_dtype(config.dtype)
        self._read_preprocessing()
        self.blank = self._features([[Image.new("RGB", self.input_size, "white")]])[0]
        self.dimensions = config.dimensions or self.blank.shape[0]
        self.blank = _truncate(self.blank, config.dimensions)
        self.revision = fingerprint(
            self.model_dir,
            {"dimensions": self.dimensions, "preprocessing": self.preprocessing},
        )

    def _read_preprocessing(self) -> None:
        path = self.model_dir / "preprocessor_config.json"
        try:
            cfg = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise BackendError(f"no readable preprocessor_config.json in {self.model_dir}") from exc
        size = cfg.get("size") or {}
        vision = getattr(self.model.config, "vision_config", None)
        default = int(getattr(vision, "image_size", 224))
        if isinstance(size, int):
            size = {"shortest_edge": size}
        crop = cfg.get("crop_size") or {}
        if isinstance(crop, int):
            crop = {"height": crop, "width": crop}
        self.preprocessing = {
            "resize": cfg.get("do_resize", True),
            "height": size.get("height"),
            "width": size.get("width"),
            "shortest_edge": size.get("shortest_edge"),
            "crop": (crop.get("height"), crop.get("width")) if cfg.get("do_center_crop") else None,
            "resample": int(cfg.get("resample", 3)),
            "rescale": float(cfg.get("rescale_factor", 1 / 255))
            if cfg.get("do_rescale", True)
            else 1.0,
            "mean": cfg.get("image_mean", [0.5, 0.5, 0.5])
            if cfg.get("do_normalize", True)
            else [0.0, 0.0, 0.0],
            "std": cfg.get("image_std", [0.5, 0.5, 0.5])
            if cfg.get("do_normalize", True)
            else [1.0, 1.0, 1.0],
        }
        p = self.preprocessing
        if p["crop"]:
            self.input_size = (p["crop"][1], p["crop"][0])
        elif p["height"] and p["width"]:
            self.input_size = (p["width"], p["height"])
        else:
            self.input_size = (default, default)

    def pixels(self, image: Image.Image) -> np.ndarray:
        """(3, H, W) float32, as the checkpoint's image processor would make it."""
        p = self.preprocessing
        resample = Image.Resampling(p["resample"])
        if p["resize"]:
            if p["height"] and p["width"]:
                image = image.resize((p["width"], p["height"]), resample)
            elif p["shortest_edge"]:
                scale = p["shortest_edge"] / min(image.size)
                new = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
                image = image.resize(new, resample)
        if p["crop"]:
            ch, cw = p["crop"]
            left, top = (image.width - cw) // 2, (image.height - ch) // 2
            image = image.crop((left, top, left + cw, top + ch))
        arr = np.asarray(image.convert("RGB"), dtype=np.float32) * p["rescale"]
        arr = (arr - np.asarray(p["mean"], np.float32)) / np.asarray(p["std"], np.float32)
        return arr.transpose(2, 0, 1)

    def _features(self, groups: list[list[Image.Image]]) -> np.ndarray:
        """One unit vector per group: the re-normalised mean of its images' unit vectors."""
        import torch

        flat = [self.pixels(im) for group in groups for im in group]
        with torch.inference_mode():
            pixel_values = torch.from_numpy(np.stack(flat)).to(self.device, self.dtype)
            feats = self.model.get_image_features(pixel_values=pixel_values)
            if not isinstance(feats, torch.Tensor):  # some versions return an output object
                feats = feats.pooler_output
            feats = _normalise(feats.float().cpu().numpy())
        out, i = [], 0
        for group in groups:
            out.append(feats[i : i + len(group)].mean(axis=0))
            i += len(group)
        return _normalise(np.stack(out))

    def _embed_paths(self, groups: list[Sequence[str]], batch_size: int) -> np.ndarray:
        result = np.zeros((len(groups), self.dimensions), dtype=np.float32)
        todo = [i for i, paths in enumerate(groups) if paths]
        for i, paths in enumerate(groups):
            if not paths:
                result[i] = self.blank
        for start in range(0, len(todo), max(1, batch_size)):
            chunk = todo[start : start + batch_size]
            images = [[open_image(p) for p in groups[i]] for i in chunk]
            result[chunk] = _truncate(self._features(images), self.config.dimensions)
        return result

    def embed(self, inputs: Sequence[ModelInput], batch_size: int = 16) -> np.ndarray:
        return self._embed_paths([item.image_paths for item in inputs], batch_size)

    def embed_query(self, text: str = "", image_paths: Sequence[str] = ()) -> np.ndarray:
        return self._embed_paths([tuple(image_paths)], 1)[0]


class ConcatEncoder:
    name = "concat"
    modalities = frozenset({"text", "image"})

    def __init__(self, config: BackendConfig) -> None:
        options = dict(config.options or {})
        self.parts = []
        for key, default in (("text", "local-text"), ("image", "local-image")):
            sub = options.get(key)
            if not isinstance(sub, dict) or not sub.get("model_path"):
                raise BackendError(f"concat needs options[{key!r}] with a model_path")
            fields = {"backend": default, "device": config.device, "dtype": config.dtype, **sub}
            try:
                sub_config = BackendConfig(**fields)
            except TypeError as exc:
                raise BackendError(f"concat options[{key!r}]: {exc}") from exc
            # constructed directly: the registry's lock is held while this one loads
            self.parts.append(backend_class(sub_config.backend)(sub_config))
        self.dimensions = sum(p.dimensions for p in self.parts)
        if config.dimensions not in (None, self.dimensions):
            raise BackendError(
                "concat dimensions come from its parts; set dimensions on the text/image configs"
            )
        self.revision = hashlib.sha256(
            "|".join(f"{p.name}:{p.revision}" for p in self.parts).encode()
        ).hexdigest()[:16]

    def embed(self, inputs: Sequence[ModelInput], batch_size: int = 16) -> np.ndarray:
        if not inputs:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return _normalise(np.hstack([p.embed(inputs, batch_size) for p in self.parts]))

    def embed_query(self, text: str = "", image_paths: Sequence[str] = ()) -> np.ndarray:
        return _normalise(np.hstack([p.embed_query(text, image_paths) for p in self.parts]))
