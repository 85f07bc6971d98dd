"""The names a column of a member list is known by, in Thai and English, and how names compare.

``ALIASES``: every name of each field the import fills in (the first Thai and first English name
are the template's header, ``template_header``); ``NOT_IMPORTED``: the columns the import knows and
does not read, and why; ``LOOKALIKE_STEMS``: what makes an unknown name look like points, a phone or a
birthday. ``normalise_header`` is how names are compared (``headers`` reads a sheet's header row
with these).
"""

from __future__ import annotations

import unicodedata
from itertools import product

from loyalty.numbers import THAI_DIGITS

# The owner's choice for a column that is not to be imported.
IGNORE = "ignore"


def _forms(words, before=("",), after=("",)) -> tuple[str, ...]:
    return tuple(f"{b}{w}{a}" for w, b, a in product(words, before, after))


# The ways a Thai sheet writes "points" (MyCustomer's template says จำนวนพอยท์; Pointspot,
# Ourpoint and hand-made sheets say แต้ม or คะแนน, with สะสม or คงเหลือ), misspellings included.
_THAI_POINTS = _forms(
    ("พอยท์", "พอยต์", "พอยน์", "พ้อยท์", "พ้อยต์", "พ้อยน์", "แต้ม", "คะแนน"),
    before=("", "จำนวน", "ยอด"),
    after=("", "สะสม", "คงเหลือ", "ที่เหลือ", "ปัจจุบัน", "สะสมคงเหลือ", "คงเหลือปัจจุบัน", "ที่มี"),
)
_THAI_PHONES = _forms(
    (
        "เบอร์",
        "เบอร์โทร",
        "เบอร์โทรศัพท์",
        "เบอร์มือถือ",
        "เบอร์โทรมือถือ",
        "เบอร์โทรศัพท์มือถือ",
        "โทร",
        "โทรศัพท์",
        "โทรศัพท์มือถือ",
        "มือถือ",
        "หมายเลขโทรศัพท์",
        "หมายเลขมือถือ",
        "หมายเลขโทรศัพท์มือถือ",
    ),
    after=("", "ลูกค้า", "สมาชิก", "ติดต่อ"),
)

# Every name a column is known by. The first Thai and first English name are the template's.
ALIASES: dict[str, tuple[str, ...]] = {
    "phone": (
        "เบอร์โทร",
        "Phone",
        *_THAI_PHONES,
        "หมายเลขติดต่อ",
        "phone number",
        "phone no",
        "mobile",
        "mobile number",
        "mobile no",
        "mobile phone",
        "mobile phone number",
        "cell",
        "cell phone",
        "cellphone",
        "tel",
        "tel no",
        "telephone",
        "telephone number",
        "contact number",
        "contact no",
    ),
    "first_name": ("ชื่อ", "First name", "firstname", "given name", "name", "ชื่อจริง"),
    "last_name": ("นามสกุล", "Last name", "lastname", "surname", "family name", "สกุล"),
    "full_name": (
        "ชื่อ-นามสกุล",
        "Full name",
        "fullname",
        "customer name",
        "member name",
        "name surname",
        "ชื่อสกุล",
        "ชื่อและนามสกุล",
        "ชื่อลูกค้า",
        "ชื่อสมาชิก",
        "ชื่อนามสกุลลูกค้า",
        "ชื่อนามสกุลสมาชิก",
    ),
    "points": (
        "พอยท์",
        "Points",
        *_THAI_POINTS,
        "point",
        "pts",
        "balance",
        "points balance",
        "point balance",
        "balance points",
        "remaining points",
        "points remaining",
        "current points",
        "available points",
        "reward points",
        "loyalty points",
    ),
    "gender": ("เพศ", "Gender", "sex"),
    "birthday": (
        "วันเกิด",
        "Birthday",
        "วันเดือนปีเกิด",
        "วดปเกิด",  # ว/ด/ป เกิด
        "วันที่เกิด",
        "เกิดวันที่",
        "วันเกิดลูกค้า",
        "วันเกิดสมาชิก",
        "birth date",
        "birthdate",
        "birth day",
        "date of birth",
        "dob",
        "bday",
    ),
    "email": (
        "อีเมล",
        "E-mail",
        "email address",
        "อีเมล์",
        "อีเมลล์",
        "ที่อยู่อีเมล",
        "อีเมลลูกค้า",
        "mail",
    ),
    "tags": ("แท็ก", "Tags", "tag", "แท็ค", "แท๊ก", "แทก", "ป้ายกำกับ"),
    "tier": (
        "ระดับสมาชิก",
        "Tier",
        "level",
        "member tier",
        "member level",
        "membership level",
        "membership tier",
        "ระดับ",
        "ระดับลูกค้า",
    ),
    # LINE's internal user id (U + 32 hex), not the public "LINE ID" a person types to add friends.
    "line_user_id": (
        "ไอดีผู้ใช้ LINE",
        "LINE user ID",
        "line userid",
        "line uid",
        "รหัสผู้ใช้ LINE",
    ),
    "customer_id": (
        "รหัสลูกค้า",
        "Customer ID",
        "customer code",
        "customer no",
        "customer number",
        "member code",
        "รหัสสมาชิก",
        "หมายเลขสมาชิก",
        "เลขสมาชิก",
        "เลขที่สมาชิก",
        "หมายเลขลูกค้า",
        "เลขที่ลูกค้า",
    ),
    "note": ("หมายเหตุ", "Note", "notes", "remark", "remarks", "comment", "comments", "บันทึก"),
}

# Columns the import knows and leaves out, by the reason it gives.
NOT_IMPORTED: dict[str, tuple[str, ...]] = {
    # LINE's public ID (what a person types to add friends) and LINE names say nothing the shop
    # can bind with; the LINE user ID column (U + 32 hex, ``line_user_id``) is imported.
    "line": (
        "LINE ID",
        "ไลน์ไอดี",
        "ไอดีไลน์",
        "ไลน์",
        "LINE",
        "UID",
        "user ID",
        "LINE name",
        "LINE display name",
        "display name",
        "ชื่อ LINE",
        "ชื่อไลน์",
        "ชื่อในไลน์",
    ),
    # The members export's columns after the template's (its Thai and English headers).
    "export": (
        "status",
        "สถานะ",
        "sign-up branch",
        "สาขาที่สมัคร",
        "registered",
        "ลงทะเบียนเมื่อ",
        "joined",
        "เข้าร่วมเมื่อ",
        "points debt",
        "พอยท์ติดลบ",
        "system ID",
        "รหัสในระบบ",
    ),
}

REQUIRED = ("phone",)
# A column that could hold these and is not read is an error, not a warning: these are what a
# shop moving in must not lose without noticing (points, and the phone and birthday they go with).
CRITICAL = ("phone", "points", "birthday")
# What makes a name look like one of them: a Thai stem anywhere in the normalised name, or an
# English word that begins or ends with an English stem ("birthdate", "dateofbirth"; not
# "appointment"), or is one of the short words.
LOOKALIKE_STEMS: dict[str, tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]] = {
    "points": (
        ("พอย", "พ้อย", "แต้ม", "คะแนน", "คงเหลือ"),
        ("point",),
        frozenset({"pt", "pts", "balance"}),
    ),
    "phone": (("เบอร์", "โทร", "มือถือ"), ("phone", "mobile"), frozenset({"tel", "cell", "msisdn"})),
    "birthday": (("เกิด",), ("birth",), frozenset({"dob", "bday"})),
}

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


def normalise_header(text: object) -> str:
    """A header name as it is compared: folded (NFKC, case), Thai digits as ASCII, and without
    spaces, zero-width characters, punctuation or symbols."""
    folded = unicodedata.normalize("NFKC", str(text or "")).casefold()
    # "เเ" (two SARA E) is how "แ" is often typed.
    folded = folded.translate(_ZERO_WIDTH).translate(THAI_DIGITS).replace("เเ", "แ")
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "ZPSC")


def _index(groups: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {normalise_header(name): key for key, names in groups.items() for name in names}


NAME_INDEX: dict[str, str] = _index(ALIASES)
NOT_IMPORTED_INDEX: dict[str, str] = _index(NOT_IMPORTED)
FIELDS: tuple[str, ...] = tuple(ALIASES)


def template_header(key: str) -> str:
    """The template's header for a column: Thai / English, with * when it is required."""
    thai, english = ALIASES[key][0], ALIASES[key][1]
    return f"{thai} / {english}" + (" *" if key in REQUIRED else "")
