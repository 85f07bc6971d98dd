"""A minimal OLE2 compound file writer (MS-CFB, version 3, 512-byte sectors), to make the two
kinds of file that start with the OLE2 signature: an old Excel workbook (a "Workbook" stream) and
a password-protected xlsx (an encrypted package: "EncryptionInfo" and "EncryptedPackage" streams).
Each stream is written as at least 4096 bytes so that no mini stream is needed."""

from __future__ import annotations

import struct

SECTOR = 512
FREESECT, ENDOFCHAIN, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _entry(name: str, kind: int, *, child=NOSTREAM, right=NOSTREAM, start=0, size=0) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le")
    return (
        encoded.ljust(64, b"\x00")
        + struct.pack("<HBB", len(encoded), kind, 1)
        + struct.pack("<III", NOSTREAM, right, child)
        + b"\x00" * 16  # CLSID
        + b"\x00" * 4  # state bits
        + b"\x00" * 16  # creation and modification times
        + struct.pack("<IQ", start, size)
    )


def compound_file(streams: dict[str, bytes]) -> bytes:
    data = [(name, content.ljust(4096, b"\x00")) for name, content in streams.items()]
    fat = [FATSECT, ENDOFCHAIN]  # sector 0: the FAT itself; sector 1: the directory
    entries = [_entry("Root Entry", 5, child=1 if data else NOSTREAM, start=ENDOFCHAIN)]
    body = b""
    for index, (name, content) in enumerate(data, start=1):
        first = len(fat)
        count = len(content) // SECTOR
        fat += [first + i + 1 for i in range(count - 1)] + [ENDOFCHAIN]
        right = index + 1 if index < len(data) else NOSTREAM
        entries.append(_entry(name, 2, right=right, start=first, size=len(content)))
        body += content
    assert len(fat) <= SECTOR // 4, "one FAT sector is enough for these small files"
    directory = b"".join(entries).ljust(
        SECTOR * ((len(entries) * 128 + SECTOR - 1) // SECTOR), b"\x00"
    )
    fat_sector = struct.pack(f"<{SECTOR // 4}I", *(fat + [FREESECT] * (SECTOR // 4 - len(fat))))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
        + struct.pack("<109I", 0, *([FREESECT] * 108))
    )
    assert len(header) == SECTOR
    return header + fat_sector + directory + body


def old_excel_workbook() -> bytes:
    """An .xls file's container: a BIFF8 "Workbook" stream (its content is not read)."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0)
    return compound_file({"Workbook": bof})


def encrypted_workbook() -> bytes:
    """What Excel saves when a workbook has a password to open: an encrypted OOXML package."""
    info = struct.pack("<HHI", 4, 4, 0x40)  # agile encryption, version 4.4
    return compound_file({"EncryptionInfo": info, "EncryptedPackage": b"\x00" * 16})
