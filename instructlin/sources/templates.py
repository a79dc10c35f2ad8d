"""Instruction templates: how an instruction becomes sentence-transformers' ``prompt=`` for a model family."""

from __future__ import annotations

import string

QWEN3_TEMPLATE = "Instruct: {instruction}\nQuery:"
DEFAULT_TEMPLATE = "Instruct: {instruction}\nQuery: "

__all__ = ["DEFAULT_TEMPLATE", "QWEN3_TEMPLATE", "check_template", "template_for"]


def template_for(model_id: str) -> str:
    """The instruction template of a model family (Qwen3: ``Instruct: ...\\nQuery:``)."""
    return QWEN3_TEMPLATE if "qwen3" in model_id.lower() else DEFAULT_TEMPLATE


def check_template(template: str) -> str:
    """Return ``template`` if ``{instruction}`` is its one and only placeholder, else a clear ValueError."""
    example = "write one, e.g. 'Instruct: {instruction}\\nQuery:'"
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except (ValueError, TypeError) as err:
        raise ValueError(f"Instruction template {template!r} does not format ({err}); {example}.") from None
    if "instruction" not in fields:
        raise ValueError(f"Instruction template {template!r} has no '{{instruction}}' placeholder; {example}.")
    if fields != {"instruction"}:
        other = sorted(fields - {"instruction"})[0]
        raise ValueError(
            f"Instruction template {template!r} has a placeholder {{{other}}}; only {{instruction}} is "
            "filled in (write a literal brace as {{ or }})."
        )
    return template
