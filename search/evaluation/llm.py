"""The optional LLM judge: an OpenAI-compatible chat endpoint (settings `ITEMBANK_LLM_URL`,
`ITEMBANK_LLM_MODEL`, `ITEMBANK_LLM_API_KEY`, from the environment) is shown a query item and its
candidates, numbered, and asked which are similar, as the POC did with GPT-4o-mini.

The model answers in JSON: ``{"similar": [2, 5], "duplicates": [1]}`` — numbers of the candidates
that are similar (relevance 1) or the same item reworded (relevance 2). Anything else is an
`LLMError`; nothing is guessed. Off while `ITEMBANK_LLM_URL` is unset.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from itembank.content import item_text
from itembank.models import Item

SYSTEM_PROMPT = (
    "You are an experienced Korean school teacher reviewing a bank of test items. Given a query "
    "item and numbered candidate items, decide which candidates are similar to the query: they "
    "test the same concept or skill in the same way, so a teacher would treat them as variants "
    "of one another. A candidate that is the same item (possibly reworded or with other numbers "
    "only) is a duplicate. Answer with JSON only, in the form "
    '{"similar": [candidate numbers], "duplicates": [candidate numbers]}; use empty lists when '
    "none are."
)
MAX_ITEM_CHARS = 1500


class LLMError(Exception):
    """The LLM judge is off, unreachable, or answered something unusable."""


def describe(item: Item) -> str:
    text = item_text(item.stem, item.choices or [])[:MAX_ITEM_CHARS]
    parts = [f"[{item.subject} {item.unit}]".strip()]
    if item.image_count:
        parts.append(f"(figures: {item.image_count})")
    return " ".join(parts) + "\n" + text


def prompt(query: Item, candidates: Sequence[Item]) -> str:
    lines = ["Query item:", describe(query), "", "Candidates:"]
    for number, item in enumerate(candidates, start=1):
        lines += [f"#{number}", describe(item), ""]
    return "\n".join(lines)


def parse_answer(content: str, count: int) -> dict[int, int]:
    """Candidate number (1-based) → relevance from the model's JSON answer."""
    match = re.search(r"\{.*\}", content or "", re.DOTALL)
    if not match:
        raise LLMError(_("The LLM did not answer in JSON: %(answer)s") % {"answer": content[:200]})
    try:
        data = json.loads(match.group(0))
    except ValueError as exc:
        raise LLMError(
            _("The LLM did not answer in JSON: %(answer)s") % {"answer": content[:200]}
        ) from exc
    if not isinstance(data, dict):
        raise LLMError(_("The LLM's answer is not a JSON object."))
    out: dict[int, int] = {}
    for key, grade in (("similar", 1), ("duplicates", 2)):
        values = data.get(key, [])
        if not isinstance(values, list):
            raise LLMError(_("The LLM's “%(key)s” is not a list.") % {"key": key})
        for value in values:
            if isinstance(value, str) and value.strip().lstrip("#").isdigit():
                value = int(value.strip().lstrip("#"))
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= count:
                raise LLMError(
                    _("The LLM named candidate %(value)s, which was not shown.")
                    % {"value": json.dumps(value, ensure_ascii=False)}
                )
            out[value] = max(out.get(value, 0), grade)
    return out


@dataclass
class ChatClient:
    url: str
    model: str
    api_key: str = ""
    timeout: float = 60.0

    def complete(self, messages: list[dict]) -> str:
        endpoint = self.url.rstrip("/")
        if not endpoint.endswith("/chat/completions"):
            endpoint += "/chat/completions"
        body = json.dumps(
            {"model": self.model, "messages": messages, "temperature": 0},
            ensure_ascii=False,
        ).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(endpoint, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise LLMError(
                _("The LLM endpoint answered HTTP %(code)s.") % {"code": exc.code}
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise LLMError(
                _("The LLM endpoint could not be reached: %(error)s") % {"error": exc}
            ) from exc
        except ValueError as exc:
            raise LLMError(_("The LLM endpoint did not answer in JSON.")) from exc
        try:
            return str(payload["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError(_("The LLM endpoint's answer has no message.")) from exc

    def judge(self, query: Item, candidates: Sequence[Item]) -> dict[Item, int]:
        """The candidates the model judged relevant, with their relevance."""
        content = self.complete(
            [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": prompt(query, candidates)},
            ]
        )
        chosen = parse_answer(content, len(candidates))
        return {candidates[number - 1]: grade for number, grade in sorted(chosen.items())}


def client_from_settings() -> ChatClient:
    url = getattr(settings, "ITEMBANK_LLM_URL", "")
    if not url:
        raise LLMError(
            _(
                "The LLM judge is off: set ITEMBANK_LLM_URL (an OpenAI-compatible endpoint such "
                "as https://host/v1), ITEMBANK_LLM_MODEL and ITEMBANK_LLM_API_KEY in the "
                "environment."
            )
        )
    return ChatClient(
        url=url,
        model=getattr(settings, "ITEMBANK_LLM_MODEL", "") or "gpt-4o-mini",
        api_key=getattr(settings, "ITEMBANK_LLM_API_KEY", ""),
        timeout=float(getattr(settings, "ITEMBANK_LLM_TIMEOUT", 60)),
    )
