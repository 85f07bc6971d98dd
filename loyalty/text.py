"""Text people type: which characters are refused, once for every input, and what a file may hold.

A member's name with U+FFFF or a control character made the members and ledger xlsx unreadable
(XML 1.0, which an xlsx is made of, cannot hold them; openpyxl and Excel refuse the file). So:

- Refused in text a person types (forms, the admin, the Open API, imports, reward codes):
  the C0 controls (U+0000–U+001F) except TAB, LF and CR in a multi-line field (addresses, notes,
  descriptions; a one-line field refuses those too), DEL and the C1 controls (U+007F–U+009F), the
  noncharacters (U+FDD0–U+FDEF and the last two code points of every plane, U+FFFE/U+FFFF …
  U+10FFFE/U+10FFFF) and surrogate code points (U+D800–U+DFFF, half a character). What XML 1.0
  refuses is a subset of this. The refusal says which character and where
  ("“First name” contains an invisible control character (U+0007) at position 4").
- Allowed: every other character, including zero-width ones (U+200B zero-width space, which Thai
  text uses as a word-break hint, U+200C/U+200D joiners that emoji sequences need, U+2060 word
  joiner, U+FEFF). At the start or end of a field they are trimmed with the white space (forms
  trim white space already): an invisible character at an end is never meant, and would make
  "สมชาย" and "สมชาย" + U+200B two different names or Customer IDs.
- Text that comes from elsewhere and is not typed into our forms (a LINE display name) is not
  refused but cleaned when it is stored (``strip_refused``).
- Files: whatever is stored (rows written before this rule, text from LINE), writing an xlsx strips
  what XML 1.0 cannot hold (``xml_safe``), so a file is always readable.

One rule, three ways in: ``TypedTextForm`` for Django forms (the admin adds it to every form of a
shop-owned model, ``shops.tenancy``), ``SingleLineText`` / ``MultilineText`` for the Open API's
pydantic schemas (a refusal is the API's usual invalid-input error), and ``find_refused`` /
``check_text`` for the rest (the import's cells, reward codes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import pretty_name
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from loyalty.errors import InvalidInput

# The last two code points of planes 1–16 (U+1FFFE, U+1FFFF … U+10FFFE, U+10FFFF).
_PLANE_ENDS = "".join(f"\\U{plane:04x}fffe\\U{plane:04x}ffff" for plane in range(1, 17))
# Refused in every field (multi-line ones keep TAB, LF and CR).
_REFUSED_ANYWHERE = (
    "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ud800-\\udfff\\ufdd0-\\ufdef\\ufffe\\uffff"
    + _PLANE_ENDS
)
REFUSED_MULTILINE = re.compile(f"[{_REFUSED_ANYWHERE}]")
REFUSED_SINGLE_LINE = re.compile(f"[\\t\\n\\r{_REFUSED_ANYWHERE}]")
# What XML 1.0 cannot hold (its Char production): the floor of what a file must not contain.
XML_REFUSED = re.compile("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\ud800-\\udfff\\ufffe\\uffff]")
# Zero-width characters: allowed inside text, trimmed at its ends with the white space.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_ENDS = re.compile(f"^[\\s{ZERO_WIDTH}]+|[\\s{ZERO_WIDTH}]+$")
# Line breaks and tabs with the spaces around them: one space in one-line text from elsewhere.
_BREAKS = re.compile(r" *[\t\n\r][ \t\n\r]*")

_WHAT = {
    "line_break": _("a line break"),
    "tab": _("a tab"),
    "control": _("an invisible control character"),
    "noncharacter": _("a code that is not a character"),
}


@dataclass(frozen=True)
class RefusedCharacter:
    """The first refused character of a text: the character and its position (from 1)."""

    char: str
    position: int

    @property
    def code(self) -> str:
        return f"U+{ord(self.char):04X}"

    @property
    def kind(self) -> str:
        """ "line_break", "tab", "control" (C0, DEL, C1) or "noncharacter" (noncharacters and
        surrogate code points)."""
        if self.char in "\n\r":
            return "line_break"
        if self.char == "\t":
            return "tab"
        if ord(self.char) <= 0x9F:
            return "control"
        return "noncharacter"

    def message(self, where: Any = None) -> str:
        """The refusal in the active language; ``where`` names the field (its label)."""
        params = {"what": _WHAT[self.kind], "code": self.code, "position": self.position}
        if where:
            template = gettext(
                "“%(where)s” contains %(what)s (%(code)s) at position %(position)s; remove it."
            )
            return template % {**params, "where": where}
        template = gettext(
            "The text contains %(what)s (%(code)s) at position %(position)s; remove it."
        )
        return template % params


def find_refused(text: str, *, multiline: bool = False) -> RefusedCharacter | None:
    """The first character of ``text`` that typed text may not contain, or None."""
    found = (REFUSED_MULTILINE if multiline else REFUSED_SINGLE_LINE).search(text)
    if found is None:
        return None
    return RefusedCharacter(found.group(), found.start() + 1)


def check_text(
    text: str, *, multiline: bool = False, where: Any = None, field: str | None = None
) -> str:
    """``text`` unchanged, or ``InvalidInput`` (code ``refused_character``) saying which
    character is refused and where."""
    found = find_refused(text, multiline=multiline)
    if found is not None:
        raise InvalidInput(found.message(where), code="refused_character", field=field)
    return text


def trim_ends(text: str) -> str:
    """``text`` without white space and zero-width characters at either end."""
    return _ENDS.sub("", text)


def strip_refused(text: str, *, multiline: bool = False) -> str:
    """Text from elsewhere (a LINE display name) made storable: line breaks and tabs of a
    one-line text become spaces, the other refused characters go, the ends are trimmed."""
    text = REFUSED_MULTILINE.sub("", text)
    if not multiline:
        text = _BREAKS.sub(" ", text)
    return trim_ends(text)


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (what an xlsx is written in)."""
    if XML_REFUSED.search(text) is None:
        return text
    return XML_REFUSED.sub("", text)


# --- Django forms ---------------------------------------------------------------------------------


@deconstructible
class TypedTextValidator:
    """Refuses the characters ``find_refused`` finds, naming the field and the character."""

    code = "refused_character"

    def __init__(self, *, multiline: bool = False, where: Any = None) -> None:
        self.multiline = multiline
        self.where = where

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str):
            return
        found = find_refused(value, multiline=self.multiline)
        if found is not None:
            raise ValidationError(found.message(self.where), code=self.code)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TypedTextValidator)
            and self.multiline == other.multiline
            and self.where == other.where
        )


def _trimming(to_python):
    def trimmed(value):
        return to_python(trim_ends(value) if isinstance(value, str) else value)

    return trimmed


def guard_text_fields(form: forms.BaseForm) -> None:
    """Give every text field of ``form`` the validator (a Textarea is multi-line) and, where the
    field trims white space, the trimming of zero-width characters at the ends. Password fields
    are left alone: a secret is never shown or written to a file."""
    for name, field in form.fields.items():
        if not isinstance(field, forms.CharField) or isinstance(field.widget, forms.PasswordInput):
            continue
        if any(isinstance(v, TypedTextValidator) for v in field.validators):
            continue
        field.validators.append(
            TypedTextValidator(
                multiline=isinstance(field.widget, forms.Textarea),
                where=field.label or pretty_name(name),
            )
        )
        if getattr(field, "strip", False):
            # The field's own copy (a form deep-copies its fields), so nothing leaks to others.
            field.to_python = _trimming(field.to_python)


class TypedTextForm:
    """Mixin for every form people type into: ``guard_text_fields`` on each instance, and again
    before it validates, for fields a subclass adds after ``__init__`` (the shop's own sign-up
    questions)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        guard_text_fields(self)

    def full_clean(self) -> None:
        guard_text_fields(self)
        super().full_clean()


def has_text_guard(field: forms.Field) -> bool:
    return any(isinstance(v, TypedTextValidator) for v in field.validators)


# --- the Open API (pydantic) ----------------------------------------------------------------------


def _trim_input(value: Any) -> Any:
    return trim_ends(value) if isinstance(value, str) else value


def _api_check(multiline: bool):
    def check(value: str) -> str:
        found = find_refused(value, multiline=multiline)
        if found is not None:
            # A custom error: its message is the whole message (no "Value error, " prefix).
            raise PydanticCustomError("refused_character", found.message())
        return value

    return check


# ``str`` fields of the API's input schemas: trimmed at the ends, refused characters refused.
SingleLineText = Annotated[str, BeforeValidator(_trim_input), AfterValidator(_api_check(False))]
MultilineText = Annotated[str, BeforeValidator(_trim_input), AfterValidator(_api_check(True))]
