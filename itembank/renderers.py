"""The browsable API under the site's CSP: DRF's page puts its code style (Pygments) in an inline
<style>, which `settings.CONTENT_SECURITY_POLICY` forbids; here it comes from a static file
(static/css/api-code.css, linked by templates/rest_framework/api.html) instead."""

from __future__ import annotations

from typing import Any

from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    def get_context(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context(*args, **kwargs)
        context["code_style"] = None  # the same "emacs" style, as a file
        return context
