"""How the fake LINE chat draws one message the OA sent, as LINE's app would: text with clickable
links, template cards with their buttons, images, imagemaps (the picture with its tap areas) and
flex bubbles (a card of their texts and buttons); anything else as its ``altText``. Used by
``chat.py``."""

from __future__ import annotations

import html
import re
from typing import Any

_LINK = re.compile(r"https?://[^\s<>\"']+")


def safe_url(url: Any) -> str | None:
    """Only http(s) URLs become links or images (no ``javascript:``); escaped for an attribute."""
    if isinstance(url, str) and _LINK.fullmatch(url):
        return html.escape(url)
    return None


def text_html(text: str) -> str:
    """Escaped text with its http(s) URLs as links."""
    parts, last = [], 0
    for found in _LINK.finditer(text):
        parts.append(html.escape(text[last : found.start()]))
        url = html.escape(found.group())
        parts.append(f'<a href="{url}" target="_blank" rel="noopener">{url}</a>')
        last = found.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts).replace("\n", "<br>")


def _action_html(action: dict[str, Any]) -> str:
    label = html.escape(str(action.get("label") or action.get("type") or ""))
    url = safe_url(action.get("uri")) if action.get("type") == "uri" else None
    if url:
        return f'<a class="btn" href="{url}" target="_blank" rel="noopener">{label}</a>'
    return f'<span class="btn">{label}</span>'


def _card_html(column: dict[str, Any]) -> str:
    image = safe_url(column.get("thumbnailImageUrl"))
    title = column.get("title")
    return (
        '<div class="card">'
        + (f'<img src="{image}" alt="">' if image else "")
        + (f"<b>{html.escape(str(title))}</b>" if title else "")
        + f"<p>{text_html(str(column.get('text', '')))}</p>"
        + "".join(_action_html(a) for a in column.get("actions", []) if isinstance(a, dict))
        + "</div>"
    )


def message_html(message: dict[str, Any]) -> str:
    kind = message.get("type")
    if kind == "text":
        return f'<div class="bubble text">{text_html(str(message.get("text", "")))}</div>'
    if kind == "image":
        url = safe_url(message.get("previewImageUrl") or message.get("originalContentUrl"))
        if url:
            return f'<div class="bubble image"><img src="{url}" alt=""></div>'
    if kind == "template":
        template = message.get("template") or {}
        columns = template.get("columns") if template.get("type") == "carousel" else [template]
        cards = "".join(_card_html(c) for c in columns or [] if isinstance(c, dict))
        return f'<div class="bubble template">{cards}</div>'
    if kind == "imagemap":
        drawn = _imagemap_html(message)
        if drawn:
            return drawn
    if kind == "flex":
        drawn = _flex_html(message.get("contents"))
        if drawn:
            return drawn
    if kind == "sticker":
        return '<div class="bubble other">[สติกเกอร์ / sticker]</div>'
    alt = message.get("altText") or f"[{kind}]"
    return f'<div class="bubble other">{html.escape(str(alt))}</div>'


def _imagemap_html(message: dict[str, Any]) -> str:
    """An imagemap as LINE draws it: the picture (its 700 px variant, as a phone asks for) with
    each action's area on top, in percent of the base size: a link area opens its link, a text
    area posts that text as the user (to this same chat page)."""
    base = message.get("baseUrl")
    size = message.get("baseSize") or {}
    image = safe_url(f"{base}/700") if isinstance(base, str) else None
    width, height = size.get("width"), size.get("height")
    if not image or not isinstance(width, int) or not isinstance(height, int) or not width:
        return ""
    areas = []
    for action in message.get("actions") or []:
        area = action.get("area") if isinstance(action, dict) else None
        if not isinstance(area, dict):
            continue
        try:
            box = _AREA_STYLE + (
                f"left:{100 * area['x'] / width:.3f}%;top:{100 * area['y'] / height:.3f}%;"
                f"width:{100 * area['width'] / width:.3f}%;"
                f"height:{100 * area['height'] / height:.3f}%"
            )
        except (KeyError, TypeError):
            continue
        if action.get("type") == "uri":
            url = safe_url(action.get("linkUri"))
            if url:
                areas.append(
                    f'<a class="area" style="{box}" href="{url}" target="_blank" '
                    f'rel="noopener" title="{url}"></a>'
                )
        elif action.get("type") == "message":
            said = html.escape(str(action.get("text", "")))
            areas.append(
                f'<form class="area" style="{box}" method="post">'
                '<input type="hidden" name="action" value="message">'
                f'<input type="hidden" name="text" value="{said}">'
                f'<button type="submit" title="{said}" aria-label="{said}" style="{_AREA_BUTTON_STYLE}">'
                "</button></form>"
            )
    alt = html.escape(str(message.get("altText", "")))
    return (
        f'<div class="bubble imagemap" style="{_IMAGEMAP_STYLE}aspect-ratio:{width}/{height}">'
        f'<img src="{image}" alt="{alt}" style="width:100%;height:100%;object-fit:cover">'
        f"{''.join(areas)}</div>"
    )


def _flex_html(contents: Any) -> str:
    """A flex bubble (or a carousel of them) as a simple card: its texts in order and its
    buttons (link buttons open their link)."""
    if not isinstance(contents, dict):
        return ""
    bubbles = contents.get("contents") if contents.get("type") == "carousel" else [contents]
    cards = []
    for bubble in bubbles if isinstance(bubbles, list) else []:
        if not isinstance(bubble, dict):
            continue
        parts: list[str] = []
        for block in ("header", "hero", "body", "footer"):
            _flex_parts(bubble.get(block), parts)
        if parts:
            cards.append(f'<div class="card flex" style="padding-top:10px">{"".join(parts)}</div>')
    return f'<div class="bubble template">{"".join(cards)}</div>' if cards else ""


# Inline styles: the page's style sheet belongs to the page layout, these to the messages.
_IMAGEMAP_STYLE = "padding:0;position:relative;overflow:hidden;width:260px;max-width:100%;"
_AREA_STYLE = "position:absolute;display:block;margin:0;border:1px dashed #06c75580;"
_AREA_BUTTON_STYLE = (
    "width:100%;height:100%;background:transparent;border:0;border-radius:0;padding:0"
)
_FLEX_ROW_STYLE = "display:flex;justify-content:space-between;gap:8px"
_FLEX_TEXT_STYLE = "margin:2px 12px;font-size:.9rem;color:#333;"


def _flex_parts(component: Any, parts: list[str], depth: int = 0) -> None:
    if not isinstance(component, dict) or depth > 10:
        return
    kind = component.get("type")
    if kind == "box":
        inner: list[str] = []
        for child in component.get("contents") or []:
            _flex_parts(child, inner, depth + 1)
        if component.get("layout") == "horizontal":
            parts.append(f'<div class="flexrow" style="{_FLEX_ROW_STYLE}">{"".join(inner)}</div>')
        else:
            parts.extend(inner)
    elif kind == "text":
        text = component.get("text") or "".join(
            str(span.get("text", ""))
            for span in component.get("contents") or []
            if isinstance(span, dict)
        )
        bold = component.get("weight") == "bold"
        style = _FLEX_TEXT_STYLE + ("font-weight:700;" if bold else "")
        parts.append(f'<p class="ftext" style="{style}">{text_html(str(text))}</p>')
    elif kind == "button" and isinstance(component.get("action"), dict):
        parts.append(_action_html(component["action"]))
    elif kind == "image":
        url = safe_url(component.get("url"))
        if url:
            parts.append(f'<img src="{url}" alt="">')
