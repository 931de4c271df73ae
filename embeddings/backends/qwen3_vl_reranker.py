"""Qwen3-VL-Reranker: the probability that a document meets a query, text and images both sides.

Official recipe (QwenLM/Qwen3-VL-Embedding, ``qwen3_vl_reranker.py``): a chat whose system
message asks for a yes/no judgement; the user turn is ``<Instruct>: {instruction}``, then
``<Query>:`` and the query's images and text (``NULL`` when empty), then ``\\n<Document>:`` and
the document's images and text. Left padding; with h the final-norm hidden state at the last
position, score = sigmoid(h · (W[yes] − W[no])) where W is the LM head — the same as
sigmoid(logit_yes − logit_no) without computing the full vocabulary.

Options: ``max_pixels``, ``min_pixels``, ``max_length`` (default 10240; longer pairs are an
error, as in the official code), ``attn_implementation``, ``batch_size`` (default 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from itembank.content import ModelInput

from .base import BackendConfig, BackendError
from .images import QWEN_MAX_PIXELS, QWEN_MIN_PIXELS, load_qwen_image
from .qwen3_vl import (
    attn_implementation,
    fingerprint,
    load_pretrained,
    load_processor,
    read_config_json,
    resolve_model_dir,
    torch_device,
    torch_dtype,
)

# torch and transformers are imported inside the methods that need them: seconds to import,
# and only the process that loads the reranker needs them.

SYSTEM_PROMPT = (
    "Judge whether the Document meets the requirements based on the Query and the Instruct "
    'provided. Note that the answer can only be "yes" or "no".'
)
DEFAULT_INSTRUCTION = "Given a search query, retrieve relevant candidates that answer the query."
MAX_LENGTH = 10240


class Qwen3VLReranker:
    name = "qwen3-vl-reranker"

    def __init__(self, config: BackendConfig) -> None:
        from transformers import Qwen3VLForConditionalGeneration

        options = dict(config.options or {})
        self.model_dir = resolve_model_dir(config.model_path)
        read_config_json(self.model_dir)
        self.device = torch_device(config.device)
        self.dtype = torch_dtype(config.dtype)
        self.min_pixels = int(options.get("min_pixels", QWEN_MIN_PIXELS))
        self.max_pixels = int(options.get("max_pixels", QWEN_MAX_PIXELS))
        self.max_length = int(options.get("max_length", MAX_LENGTH))
        self.batch_size = int(options.get("batch_size", 4))
        self.instruction = (config.instruction or "").strip() or DEFAULT_INSTRUCTION
        self.processor = load_processor(self.model_dir, padding_side="left")
        vocab = self.processor.tokenizer.get_vocab()
        if "yes" not in vocab or "no" not in vocab:
            raise BackendError(f"the tokenizer in {self.model_dir} has no 'yes'/'no' tokens")
        attn = attn_implementation(options, self.device, self.dtype)
        lm = load_pretrained(
            Qwen3VLForConditionalGeneration,
            self.model_dir,
            dtype=self.dtype,
            device=self.device,
            attn=attn,
        )
        head = lm.lm_head.weight.detach()
        # one row instead of the vocabulary: h·W[yes] − h·W[no] = h·(W[yes] − W[no])
        self.score_vector = (head[vocab["yes"]] - head[vocab["no"]]).clone()
        self.model = lm.model
        self.revision = fingerprint(
            self.model_dir,
            {
                "instruction": self.instruction,
                "max_pixels": self.max_pixels,
                "min_pixels": self.min_pixels,
            },
        )

    def _part(self, prefix: str, item: ModelInput) -> tuple[list[dict[str, Any]], list]:
        content: list[dict[str, Any]] = [{"type": "text", "text": prefix}]
        images = [
            load_qwen_image(p, min_pixels=self.min_pixels, max_pixels=self.max_pixels)
            for p in item.image_paths
        ]
        content += [{"type": "image"} for _ in images]
        text = (item.text or "").strip()
        if text:
            content.append({"type": "text", "text": text})
        if not images and not text:
            content.append({"type": "text", "text": "NULL"})
        return content, images

    def conversation(
        self, query: ModelInput, document: ModelInput, instruction: str | None = None
    ) -> tuple[list[dict], list]:
        q_content, q_images = self._part("<Query>:", query)
        d_content, d_images = self._part("\n<Document>:", document)
        user = [{"type": "text", "text": "<Instruct>: " + (instruction or self.instruction)}]
        conversation = [
            {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]},
            {"role": "user", "content": user + q_content + d_content},
        ]
        return conversation, q_images + d_images

    def inputs(self, query: ModelInput, documents: Sequence[ModelInput], instruction=None):
        """The processor's tensors for (query, document) pairs, left-padded, on the device."""
        import torch

        prompts, images = [], []
        for doc in documents:
            conversation, pair_images = self.conversation(query, doc, instruction)
            prompts.append(
                self.processor.apply_chat_template(
                    conversation, add_generation_prompt=True, tokenize=False
                )
            )
            images += pair_images
        inputs = self.processor(
            text=prompts,
            images=images or None,
            padding=True,
            truncation=False,
            do_resize=False,
            return_tensors="pt",
        )
        longest = int(inputs["attention_mask"].sum(dim=1).max())
        if longest > self.max_length:
            raise BackendError(
                f"a query/document pair is {longest} tokens, over max_length={self.max_length}; "
                "shorten the texts or lower max_pixels"
            )
        inputs = {
            k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()
        }
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        return inputs

    def score(
        self,
        query: ModelInput,
        documents: Sequence[ModelInput],
        *,
        instruction: str | None = None,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """Probabilities in [0, 1], one per document, in the documents' order."""
        import torch

        documents = list(documents)
        size = batch_size or self.batch_size
        scores = np.zeros(len(documents), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(documents), size):
                inputs = self.inputs(query, documents[start : start + size], instruction)
                h = self.model(**inputs).last_hidden_state[:, -1]
                logits = h.float() @ self.score_vector.float()
                scores[start : start + len(logits)] = torch.sigmoid(logits).cpu().numpy()
        return scores
