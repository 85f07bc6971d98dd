"""How many SMS a text costs: gateways charge one credit per part (segment).

A text in the GSM 7-bit alphabet fits 160 characters in one SMS, 153 per part when split; any
other character (Thai, emoji) sends the whole text as UCS-2: 70 characters in one SMS, 67 per part
(counted in UTF-16 code units, so an emoji outside the BMP counts two). A few GSM characters
(``^{}[]~\\|€`` and the form feed) take two places (an escape, then the character).
"""

from __future__ import annotations

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm(text: str) -> bool:
    """Whether ``text`` can go in the GSM 7-bit alphabet (else it is sent as UCS-2)."""
    return all(c in GSM_BASIC or c in GSM_EXTENDED for c in text)


def sms_length(text: str) -> int:
    """The length the gateway counts: GSM septets, or UTF-16 code units for UCS-2."""
    if is_gsm(text):
        return sum(2 if c in GSM_EXTENDED else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def sms_parts(text: str) -> int:
    """The SMS credits ``text`` costs (at least one)."""
    length = sms_length(text)
    single, part = (GSM_SINGLE, GSM_PART) if is_gsm(text) else (UCS2_SINGLE, UCS2_PART)
    if length <= single:
        return 1
    return -(-length // part)
