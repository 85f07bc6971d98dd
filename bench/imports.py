"""Importing a 100,000-row member list from xlsx, and exporting the members again.

1. Generates a member list as shops bring it from their old system (openpyxl write-only, timed
   apart, not part of the target): a title row above the header, Thai headers in the import's
   aliases plus two columns the import ignores, Thai names, phones in the forms people and
   spreadsheets write them (leading zero lost, as a float, dashes, spaces, +66, 66…, Thai digits),
   points as numbers, "1,500" and floats, genders in Thai and English, birthdays as Excel dates,
   serial numbers, Buddhist-Era text and Thai month names, some e-mails, tags, tiers and Customer
   IDs; 1 % of the rows have one bad cell and 0.5 % repeat an earlier row's phone in another form.
2. The import, end to end through the code the admin uses, in a fresh Python process (so that its
   peak memory, ``VmHWM``, is the import's own and not the generator's): upload
   (``import_job_create``), validate (the django-q2 task ``validate_import`` called in-process),
   confirm with "valid rows only" (``import_confirm``; with django-q2's sync mode its
   ``commit_import`` task runs in the same process, as the cluster would run it). Target at full
   size: ≤ 10 s end to end and ≤ 500 MB peak.
3. The limit, in the same run: the rows the import wrote (members, tag links, ledger entries, lots)
   written once each by psycopg ``COPY`` into the same tables, for a second bench shop, in one
   committed transaction (removed afterwards); and the file read with no parsing, by stock openpyxl
   and by the reader the import uses (python-calamine, ``members.imports.sheets``).
4. The export of the shop's members (topped up to as many members as the file has rows) through
   the admin's "Export to Excel" action (test client, signed in as the shop's owner), streamed to
   a file, in a fresh process (written by XlsxWriter, constant memory: ``loyalty.xlsx``); then
   the file is opened and its rows and points counted. Target: ≤ 2 s for 100,000 members. For
   reference: the same cells written by openpyxl's write-only workbook as plain values.
5. Checks: the members created are exactly the file's valid distinct rows, with their points; the
   ledger's invariants hold; the same file uploaded a second time and validated before the first
   commit (so its preview says every row is new), then committed after it with "add the file's
   points", adds no member and no points.

    .venv/bin/python bench/imports.py [--scale 1] [--rows N] [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common

FULL_ROWS = 100_000
# Issue 12: 100,000 rows imported in ≤ 10 s and exported in ≤ 2 s (were 60 s and 30 s).
TARGET_IMPORT_SECONDS = 10.0
TARGET_IMPORT_MB = 500.0
TARGET_EXPORT_SECONDS = 2.0
APP_NAME = "bench-imports"
NAME = "imports"
TAGS = ("VIP", "ลูกค้าประจำ", "ออนไลน์")
TIERS = (("Member", 0), ("Silver", 1000), ("Gold", 5000))

# --- the file -----------------------------------------------------------------------------------

HEADER = (
    "เบอร์โทรศัพท์",
    "ชื่อ",
    "นามสกุล",
    "แต้มสะสม",
    "เพศ",
    "วันเกิด",
    "อีเมล",
    "แท็ก",
    "ระดับสมาชิก",
    "รหัสลูกค้า",
    "หมายเหตุ",
    "วันที่สมัคร",  # not a column the import knows: ignored
    "ยอดซื้อสะสม",  # ignored too
)
FIRST_NAMES = (
    ("สมชาย", "somchai"),
    ("สมหญิง", "somying"),
    ("มาลี", "malee"),
    ("วิชัย", "wichai"),
    ("สุภาพร", "supaporn"),
    ("ประเสริฐ", "prasert"),
    ("กนกวรรณ", "kanokwan"),
    ("ณัฐพล", "nattapon"),
    ("ธนพร", "thanaporn"),
    ("อนุชา", "anucha"),
    ("พิมพ์ชนก", "pimchanok"),
    ("ศิริพร", "siriporn"),
    ("กิตติ", "kitti"),
    ("ปิยะ", "piya"),
    ("วรรณา", "wanna"),
    ("จิราพร", "jiraporn"),
    ("ธีรวัฒน์", "teerawat"),
    ("นภัสสร", "napatsorn"),
    ("อรุณี", "arunee"),
    ("ชัยวัฒน์", "chaiwat"),
    ("สุนิสา", "sunisa"),
    ("พงศกร", "pongsakorn"),
    ("รัตนา", "rattana"),
    ("เอกชัย", "ekkachai"),
    ("ปวีณา", "paweena"),
    ("ภานุวัฒน์", "panuwat"),
    ("ชุติมา", "chutima"),
    ("ศุภชัย", "supachai"),
    ("John", "john"),
    ("Emily", "emily"),
)
LAST_NAMES = (
    "ใจดี",
    "รักไทย",
    "ศรีสุข",
    "สุขสวัสดิ์",
    "วงศ์ใหญ่",
    "แก้วมณี",
    "ทองดี",
    "บุญมา",
    "พรหมมา",
    "จันทร์เพ็ญ",
    "สายทอง",
    "มั่นคง",
    "เพชรรัตน์",
    "อินทร์แก้ว",
    "ชัยมงคล",
    "บุญเรือง",
    "สมบูรณ์",
    "ทรัพย์มาก",
    "Smith",
    "ณ อยุธยา",
)
GENDERS = (("ชาย", 25), ("หญิง", 30), ("M", 6), ("F", 8), ("ช", 3), ("ญ", 4), ("female", 3))
GENDERS += (("ไม่ระบุ", 5), (None, 16))
DOMAINS = ("gmail.com", "hotmail.com", "yahoo.co.th", "Gmail.COM", "outlook.co.th")
NOTES = ("แพ้นมวัว", "ชอบหวานน้อย", "ลูกค้าจากสาขาเดิม", "โทรก่อนส่งของ\nช่วงบ่าย", "=VIP เก่า")
THAI_MONTHS_SHORT = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.")
THAI_MONTHS_SHORT += ("ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")
THAI_MONTHS = ("มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน")
THAI_MONTHS += ("กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม")
TO_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
# One bad cell each (column index in HEADER, value), taken in turn; every code is one that
# ``members.imports.cells`` or the planner reports.
BAD_CELLS = (
    (0, "12345"),  # phone_invalid
    (0, "โทรไม่ติด"),  # phone_invalid
    (0, "081-234-567"),  # phone_invalid (a digit short)
    (0, None),  # phone_required (the rest of the row is filled in)
    (3, "-50"),  # points_negative
    (3, "12.5"),  # points_fraction
    (3, "ห้าสิบ"),  # points_not_number
    (5, "15/03/2590"),  # birthday_future (2047)
    (5, "31/02/1990"),  # birthday_invalid
    (5, "15/03/90"),  # birthday_two_digit_year
    (6, "somchai@"),  # email_invalid
    (4, "ชายหญิง"),  # gender_unknown
    (7, "VVIP"),  # tag_unknown
)
BAD_EVERY = 100  # 1 %: rows 50, 150, 250 … of the data
DUPLICATE_EVERY = 200  # 0.5 %: rows 99, 299, 499 … repeat an earlier row's phone


def _phone_cell(rnd: random.Random, national: int) -> object:
    """A Thai mobile number (9 digits without the leading zero) as people and Excel write it."""
    s = f"0{national}"
    dashed = f"{s[:3]}-{s[3:6]}-{s[6:]}"
    forms = (
        (s, 30),
        (dashed, 20),
        (national, 20),  # a number column: Excel dropped the 0
        (float(national), 5),  # 812345678.0 from a CSV round trip
        (f"+66 {s[1:3]} {s[3:6]} {s[6:]}", 5),
        (f"+66{national}", 5),
        (f"66{national}", 5),
        (f"{s[:3]} {s[3:6]} {s[6:]}", 5),
        (dashed.translate(TO_THAI_DIGITS), 3),
        (f"({s[:3]}) {s[3:6]}-{s[6:]}", 2),
    )
    return rnd.choices([f for f, _w in forms], weights=[w for _f, w in forms])[0]


def _points_cell(rnd: random.Random) -> tuple[object, int]:
    if rnd.random() < 0.2:
        return rnd.choice((None, 0, "0", "")), 0
    points = min(50_000, int(rnd.paretovariate(1.3) * 60))
    x = rnd.random()
    if x < 0.65:
        return points, points
    if x < 0.8:
        return f"{points:,}", points
    if x < 0.95:
        return float(points), points
    return str(points).translate(TO_THAI_DIGITS) if x < 0.97 else str(points), points


def _birthday_cell(rnd: random.Random) -> object:
    if rnd.random() < 0.35:
        return None
    year = rnd.randint(1957, 2008)  # two-digit Thai years (2500 + yy) reach back to 1957
    day = dt.date(year, rnd.randint(1, 12), rnd.randint(1, 28))
    be = day.year + 543
    forms = (
        (day, 40),  # an Excel date cell
        (f"{day:%d/%m}/{be}", 15),
        (f"{day:%d/%m/%Y}", 8),
        (day.isoformat(), 7),
        (f"{day.day} {THAI_MONTHS_SHORT[day.month - 1]} {be % 100:02d}", 8),
        (f"{day.day} {THAI_MONTHS[day.month - 1]} {be}", 8),
        ((day - dt.date(1899, 12, 30)).days, 7),  # an Excel serial number in a text column
        (dt.date(be, day.month, day.day), 7),  # "15/03/2533" typed into a date cell
    )
    return rnd.choices([f for f, _w in forms], weights=[w for _f, w in forms])[0]


def generate(path: Path, rows: int, *, seed: int = 2026) -> dict:
    """Write the member list to ``path`` and return what a correct import must do with it."""
    from openpyxl import Workbook

    rnd = random.Random(seed)
    # Distinct mobile numbers (8x/9x-xxx-xxxx), one per row; the rows that repeat a phone or have
    # a bad phone leave theirs unused.
    nationals = rnd.sample(range(800_000_000, 1_000_000_000), rows)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("สมาชิก")
    sheet.append(["รายชื่อสมาชิก ร้านกาแฟบ้านสวน (ส่งออกจากระบบเดิม 30/11/2569)"])
    sheet.append([])
    sheet.append(list(HEADER))
    phones: list[str] = []  # E.164 of the valid rows, in file order
    good_nationals: list[int] = []
    points_total = credits = bad = duplicates = customer_seq = 0
    for i in range(rows):
        national = nationals[i]
        first, roman = rnd.choice(FIRST_NAMES)
        last = rnd.choice(LAST_NAMES)
        if rnd.random() < 0.03:
            first = f" {first}\u00a0"  # stray spaces, a non-breaking one from a web form
        points_cell, points = _points_cell(rnd)
        email = None
        if rnd.random() < 0.25:
            email = f"{roman}.{rnd.randint(1, 9999)}@{rnd.choice(DOMAINS)}"
        tags = None
        if rnd.random() < 0.15:
            tags = rnd.choice(("VIP", "ลูกค้าประจำ", "ลูกค้าประจำ, ออนไลน์", "vip"))
        tier = rnd.choice(("Silver", "Gold", "silver ")) if rnd.random() < 0.02 else None
        customer_id = None
        if rnd.random() < 0.3:
            customer_seq += 1
            customer_id = (
                100_000 + customer_seq if customer_seq % 3 == 0 else f"C{customer_seq:06d}"
            )
        row = [
            _phone_cell(rnd, national),
            first,
            last,
            points_cell,
            rnd.choices([g for g, _w in GENDERS], weights=[w for _g, w in GENDERS])[0],
            _birthday_cell(rnd),
            email,
            tags,
            tier,
            customer_id,
            rnd.choice(NOTES) if rnd.random() < 0.05 else None,
            # A spreadsheet's date and time has no time zone.
            dt.datetime(2019, 1, 1) + dt.timedelta(minutes=rnd.randint(0, 3_000_000)),  # noqa: DTZ001
            round(rnd.uniform(0, 80_000), 2),
        ]
        if i % BAD_EVERY == BAD_EVERY // 2:
            column, value = BAD_CELLS[bad % len(BAD_CELLS)]
            row[column] = value
            row[9] = None  # the bad row's Customer ID would otherwise be taken from now on
            bad += 1
        elif i % DUPLICATE_EVERY == DUPLICATE_EVERY - 1 and good_nationals:
            # The same person again, written another way (phone_duplicate): the first row counts.
            row[0] = _phone_cell(rnd, rnd.choice(good_nationals))
            row[9] = None
            duplicates += 1
        else:
            phones.append(f"+66{national}")
            good_nationals.append(national)
            points_total += points
            credits += points > 0
        sheet.append(row)
    workbook.save(path)
    return {
        "rows": rows,
        "valid_rows": len(phones),
        "bad_rows": bad,
        "duplicate_rows": duplicates,
        "error_rows": bad + duplicates,
        "points": points_total,
        "credits": credits,
        "phones": phones,
        "size_bytes": path.stat().st_size,
    }


def read_floor(path: Path) -> dict:
    """The file read without parsing a cell, two ways: openpyxl's stock read-only workbook
    (values only), and python-calamine, which the import reads with (``members.imports.sheets``).

    Opening is timed apart: stock openpyxl sizes each sheet when it opens the workbook, and a
    sheet without a ``<dimension>`` (openpyxl's write-only mode writes none; Excel does) is sized
    by parsing all of it once before the rows are read."""
    from openpyxl import load_workbook

    from members.imports import sheets

    start = time.perf_counter()
    workbook = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    opened = time.perf_counter()
    try:
        rows = sum(1 for _row in workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()
    done = time.perf_counter()
    streamed = sheets.open_workbook(path)
    try:
        sheet = streamed.get_sheet_by_name(sheets.visible_sheet_names(streamed)[0])
        streamed_rows = sum(1 for _row in sheets.numbered_rows(sheet))
    finally:
        streamed.close()
    streamed_done = time.perf_counter()
    return {
        "rows": rows,
        "open_s": round(opened - start, 3),
        "rows_s": round(done - opened, 3),
        "seconds": round(done - start, 3),
        "streamed_rows": streamed_rows,
        "streamed_s": round(streamed_done - done, 3),
    }


def write_floor(rows: list[tuple], target: Path) -> float:
    """The export's cells, already computed, written by openpyxl's write-only workbook as plain
    values (no formula guard, formats or header style): the writer's own cost. Returns seconds."""
    from openpyxl import Workbook

    start = time.perf_counter()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Members")
    for row in rows:
        sheet.append(row)
    workbook.save(target)
    return round(time.perf_counter() - start, 3)


# --- the bench shop -----------------------------------------------------------------------------


def seed():
    """A shop with three tiers (the imported points upgrade members at once), three tags, one
    branch and an owner who uploads, confirms and exports."""
    from shops.models import Branch, Tag, Tier, User

    shop = common.create_shop(
        NAME, expiry_mode="months_after", expiry_months=12, tiers_enabled=True
    )
    Tier.objects.bulk_create([Tier(shop=shop, name=n, threshold=t) for n, t in TIERS])
    Tag.objects.bulk_create([Tag(shop=shop, name=n) for n in TAGS])
    branch = Branch.objects.create(shop=shop, name="สาขาใหญ่", code="HQ")
    owner = User(
        username=f"{common.SHOP_SLUG_PREFIX}{NAME}-{secrets.token_hex(4)}",
        shop=shop,
        role=User.Role.OWNER,
        is_staff=True,
    )
    owner.set_unusable_password()
    owner.save()
    return shop, branch, owner


def drop_bench_shop(shop_id: int) -> None:
    """Everything of a bench shop of this benchmark: the import jobs and their errors, tag links,
    what ``common.drop_shop`` removes, the owner, tags and branch; and the django-q2 results of
    its commits. One transaction, so deferred foreign keys are checked only once all is gone."""
    from axes.models import AccessLog
    from django_q.models import Task

    from members.imports.models import ImportJob, ImportRowError
    from members.models import Member
    from shops.models import Branch, Tag, User

    t = common.table
    job_ids = list(ImportJob.objects.filter(shop_id=shop_id).values_list("pk", flat=True))
    users = list(User.objects.filter(shop_id=shop_id).values_list("pk", "username"))
    with common.bulk_load() as cursor:
        cursor.execute(f"DELETE FROM {t(ImportRowError)} WHERE shop_id = %s", [shop_id])
        cursor.execute(f"DELETE FROM {t(ImportJob)} WHERE shop_id = %s", [shop_id])
        cursor.execute(
            f"DELETE FROM {t(Member.tags.through)} x USING {t(Member)} m "
            "WHERE x.member_id = m.id AND m.shop_id = %s",
            [shop_id],
        )
        common.drop_shop(shop_id)
        user_ids = [pk for pk, _name in users]
        if user_ids:
            for through in (User.groups.through, User.user_permissions.through):
                cursor.execute(f"DELETE FROM {t(through)} WHERE user_id = ANY(%s)", [user_ids])
            cursor.execute(
                f"DELETE FROM {t(User.branches.through)} WHERE user_id = ANY(%s)", [user_ids]
            )
            cursor.execute(f"DELETE FROM {t(User)} WHERE id = ANY(%s)", [user_ids])
        cursor.execute(f"DELETE FROM {t(Tag)} WHERE shop_id = %s", [shop_id])
        cursor.execute(f"DELETE FROM {t(Branch)} WHERE shop_id = %s", [shop_id])
    if job_ids:
        Task.objects.filter(name__in=[f"commit_import-{pk}" for pk in job_ids]).delete()
    if users:
        AccessLog.objects.filter(username__in=[name for _pk, name in users]).delete()


def drop_leftovers() -> None:
    from shops.models import Shop

    prefix = f"{common.SHOP_SLUG_PREFIX}{NAME}-"
    for pk in Shop.objects.filter(slug__startswith=prefix).values_list("pk", flat=True):
        drop_bench_shop(pk)


def top_up(shop_id: int, members: int) -> int:
    """Add pending members (no points) until the shop has ``members``; returns how many."""
    from django.db import connection
    from django.utils import timezone

    from members.models import Member

    missing = members - Member.objects.filter(shop_id=shop_id).count()
    if missing <= 0:
        return 0
    cols, exprs, defaults = common.insert_columns(
        Member,
        {
            "shop_id": "%(shop)s",
            "public_id": "gen_random_uuid()",
            "status": "'pending'",
            "phone": "'+6661' || lpad(g::text, 7, '0')",
            "first_name": "'สมาชิก'",
            "last_name": "'หน้าร้าน ' || g",
            "created_at": "%(now)s",
            "updated_at": "%(now)s",
        },
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {common.table(Member)} ({cols}) "
            f"SELECT {exprs} FROM generate_series(1, %(n)s) AS g",
            {**defaults, "shop": shop_id, "now": timezone.now(), "n": missing},
        )
    return missing


# --- the import and the export, each in a process of its own --------------------------------------


def _child_env(private_root: Path, rows: int, size: int) -> tuple[dict, dict]:
    """The child's environment (production settings, as ``earn_api``'s gunicorn) and the product
    limits raised for a file above them (only with --scale > 1)."""
    from django.conf import settings

    raised = {}
    if rows > settings.LOYALTY_IMPORT_MAX_ROWS:
        raised["LOYALTY_IMPORT_MAX_ROWS"] = str(rows)
    if size > settings.LOYALTY_IMPORT_MAX_BYTES:
        raised["LOYALTY_IMPORT_MAX_BYTES"] = str(size)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        "DATABASE_URL": common.database_url() + f"?application_name={APP_NAME}",
        "DEBUG": "false",
        "TESTING": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-" + uuid.uuid4().hex * 2,
        "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        # django-q2 runs the task queued on confirm in this process, as a cluster worker would.
        "Q_SYNC": "true",
        "PRIVATE_MEDIA_ROOT": str(private_root),
        # One PostgreSQL session for the whole child (django-q2 closes connections older than
        # CONN_MAX_AGE around a task), so that its CPU can be read per phase.
        "CONN_MAX_AGE": "3600",
        **raised,
    }
    return env, raised


def _run_child(kind: str, spec: dict, env: dict) -> dict:
    out = Path(spec["out"])
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            kind,
            "--spec",
            json.dumps(spec),
        ],
        env=env,
        cwd=common.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"{kind} process failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(out.read_text())


def _proc_cpu(pid: int) -> float | None:
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / tick


class Probe:
    """Per phase: wall seconds, this process's CPU seconds, its PostgreSQL session's CPU seconds
    (when the server is on this machine and the session lasted the phase) and the peak resident
    memory so far (``peak_mb``)."""

    def __init__(self) -> None:
        self.phases: dict[str, dict] = {}
        self.baseline_mb = peak_mb()

    @staticmethod
    def _backend() -> int | None:
        from django.db import connection

        if (connection.settings_dict["HOST"] or "127.0.0.1") not in ("127.0.0.1", "localhost"):
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    @contextmanager
    def phase(self, name: str):
        pid = self._backend()
        db_before = _proc_cpu(pid) if pid else None
        # BENCH_PROFILE=DIR: each phase's CPU profile (cProfile, process time) in DIR/<phase>.prof.
        profile_dir = os.environ.get("BENCH_PROFILE")
        profiler = None
        if profile_dir:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        yield
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if profiler is not None:
            profiler.disable()
            Path(profile_dir).mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(str(Path(profile_dir) / f"{name}.prof"))
        pid_after = self._backend()
        db_after = _proc_cpu(pid_after) if pid_after else None
        self.phases[name] = {
            "seconds": round(wall, 3),
            "cpu_s": round(cpu, 3),
            "db_cpu_s": round(db_after - db_before, 3)
            if pid and pid == pid_after and db_before is not None and db_after is not None
            else None,
            "peak_rss_mb": peak_mb(),
        }


def peak_mb() -> float:
    """The peak resident memory of this process so far, in MB: ``VmHWM`` of /proc/self/status.

    Not ``ru_maxrss``: Linux carries a process's ``ru_maxrss`` over ``fork`` and ``exec``, so a
    fresh child of a parent that once held 500 MB reports at least 500 MB (measured: 513 MB for a
    child that holds 13 MB). ``VmHWM`` belongs to the process image, so it starts afresh at
    ``exec``. Elsewhere than Linux, ``ru_maxrss`` (kB on Linux, bytes on macOS) is what there is.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1048576 if sys.platform == "darwin" else 1024), 1)


def _job_counts(job) -> dict:
    return {
        "state": job.state,
        "rows_total": job.rows_total,
        "new_count": job.new_count,
        "updated_count": job.updated_count,
        "unchanged_count": job.unchanged_count,
        "error_count": job.error_count,
        "points_total": job.points_total,
        "failure": job.failure,
    }


def child_import(spec: dict) -> dict:
    """Upload → validate → confirm and commit (valid rows only), as the admin does it."""
    from django.core.files import File

    from members.imports import services, tasks
    from members.imports.models import ImportJob
    from shops.models import Branch, Shop, User

    shop = Shop.objects.get(pk=spec["shop"])
    branch = Branch.objects.get(pk=spec["branch"])
    owner = User.objects.get(pk=spec["user"])
    path = Path(spec["file"])
    probe = Probe()
    with probe.phase("upload"), path.open("rb") as f:
        job = services.import_job_create(
            shop=shop,
            file=File(f, name=path.name),
            name=path.name,
            branch=branch,
            policy=ImportJob.Policy.SKIP,
            mode=ImportJob.Mode.VALID_ONLY,
            created_by=owner,
            start=False,
        )
    with probe.phase("validate"):
        tasks.validate_import(job.pk)
    job.refresh_from_db()
    preview = _job_counts(job)
    if job.state == ImportJob.State.VALIDATED:
        with probe.phase("commit"):
            services.import_confirm(job=job, user=owner, mode=ImportJob.Mode.VALID_ONLY)
        job.refresh_from_db()
    return {
        "job_id": job.pk,
        "preview": preview,
        "job": _job_counts(job),
        "phases": probe.phases,
        "baseline_rss_mb": probe.baseline_mb,
        "peak_rss_mb": peak_mb(),
    }


def child_export(spec: dict) -> dict:
    """The members list's "Export to Excel" action (no filter), streamed into a file."""
    from django.test import Client
    from django.urls import reverse

    from shops.models import User

    owner = User.objects.get(pk=spec["user"])
    client = Client()
    client.force_login(owner, backend="shops.backends.ShopRoleBackend")
    probe = Probe()
    with probe.phase("export"):
        response = client.get(reverse("admin:members_member_export_xlsx"))
        if response.status_code != 200:
            raise RuntimeError(f"export answered {response.status_code}")
        with Path(spec["target"]).open("wb") as f:
            for chunk in response.streaming_content:
                f.write(chunk)
        response.close()
    client.logout()
    return {
        "phases": probe.phases,
        "baseline_rss_mb": probe.baseline_mb,
        "peak_rss_mb": peak_mb(),
        "size_bytes": Path(spec["target"]).stat().st_size,
    }


def child_main(kind: str, spec_json: str) -> dict:
    import django

    django.setup()
    spec = json.loads(spec_json)
    result = {"import": child_import, "export": child_export}[kind](spec)
    Path(spec["out"]).write_text(json.dumps(result, default=str))
    return result


# --- the limit: the same rows by COPY -------------------------------------------------------------


def _copy_value(value):
    from psycopg.types.json import Jsonb

    return Jsonb(value) if isinstance(value, dict | list) else value


def copy_limit(source_shop_id: int) -> dict:
    """The rows the import wrote for ``source_shop_id`` (members with their final balance and tier,
    tag links, entries, lots), written once each with ``COPY`` into the same tables for a second
    bench shop, in one transaction that is committed, then removed. Returns the seconds (the COPY
    statements and the commit) and that shop's invariants."""
    import psycopg
    from django.db import connection

    from loyalty.idempotency import fingerprint
    from members.ledger.models import LedgerEntry, PointLot
    from members.models import Member
    from shops.models import Branch, Shop, Tag, Tier

    source = Shop.objects.get(pk=source_shop_id)
    shop = common.create_shop(
        "imports-copy",
        expiry_mode=source.expiry_mode,
        expiry_months=source.expiry_months,
        tiers_enabled=True,
    )
    try:
        tiers = {
            t.pk: Tier.objects.create(shop=shop, name=t.name, threshold=t.threshold).pk
            for t in Tier.objects.filter(shop=source)
        }
        tags = {
            t.pk: Tag.objects.create(shop=shop, name=t.name).pk
            for t in Tag.objects.filter(shop=source)
        }
        branches = {
            b.pk: Branch.objects.create(shop=shop, name=b.name, code=b.code).pk
            for b in Branch.objects.filter(shop=source)
        }
        plan, counts = [], {}
        q = connection.ops.quote_name
        with connection.cursor() as cursor:

            def fetch(model, where: str, params: list) -> tuple[list, list]:
                fields = list(model._meta.concrete_fields)
                cols = ", ".join(f"x.{q(f.column)}" for f in fields)
                cursor.execute(
                    f"SELECT {cols} FROM {common.table(model)} x {where} ORDER BY x.id", params
                )
                return [f.attname for f in fields], cursor.fetchall()

            def new_ids(model, n: int) -> list[int]:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [model._meta.db_table, n],
                )
                return [r[0] for r in cursor.fetchall()]

            names, rows = fetch(Member, "WHERE x.shop_id = %s", [source_shop_id])
            ids = new_ids(Member, len(rows))
            member_id = {}
            fix = {
                "shop_id": lambda v: shop.pk,
                "public_id": lambda v: uuid.uuid4(),
                "tier_id": lambda v: tiers.get(v),
                "manual_tier_id": lambda v: tiers.get(v),
                "signup_branch_id": lambda v: branches.get(v),
            }
            out = []
            for row, new in zip(rows, ids, strict=True):
                values = dict(zip(names, row, strict=True))
                member_id[values["id"]] = new
                values["id"] = new
                for name, f in fix.items():
                    if name in values:
                        values[name] = f(values[name])
                out.append([_copy_value(values[n]) for n in names])
            plan.append((Member, names, out))
            counts["members"] = len(out)

            through = Member.tags.through
            cursor.execute(
                f"SELECT x.member_id, x.tag_id FROM {common.table(through)} x "
                f"JOIN {common.table(Member)} m ON m.id = x.member_id WHERE m.shop_id = %s "
                "ORDER BY x.id",
                [source_shop_id],
            )
            links = [[member_id[m], tags[t]] for m, t in cursor.fetchall()]
            plan.append((through, ["member_id", "tag_id"], links))
            counts["tag_links"] = len(links)

            names, rows = fetch(LedgerEntry, "WHERE x.shop_id = %s", [source_shop_id])
            ids = new_ids(LedgerEntry, len(rows))
            entry_id, out = {}, []
            for row, new in zip(rows, ids, strict=True):
                values = dict(zip(names, row, strict=True))
                entry_id[values["id"]] = new
                values.update(
                    id=new,
                    shop_id=shop.pk,
                    public_id=uuid.uuid4(),
                    member_id=member_id[values["member_id"]],
                    branch_id=branches.get(values["branch_id"]),
                )
                values["fingerprint"] = fingerprint(
                    op="credit",
                    kind=values["kind"],
                    member=values["member_id"],
                    points=values["points"],
                )
                out.append([_copy_value(values[n]) for n in names])
            plan.append((LedgerEntry, names, out))
            counts["entries"] = len(out)

            names, rows = fetch(PointLot, "WHERE x.shop_id = %s", [source_shop_id])
            names_no_id = [n for n in names if n != "id"]
            out = []
            for row in rows:
                values = dict(zip(names, row, strict=True))
                values.update(
                    shop_id=shop.pk,
                    member_id=member_id[values["member_id"]],
                    entry_id=entry_id[values["entry_id"]],
                )
                out.append([_copy_value(values[n]) for n in names_no_id])
            plan.append((PointLot, names_no_id, out))
            counts["lots"] = len(out)

        timings = {}
        with psycopg.connect(**common.psycopg_conninfo(), application_name=APP_NAME) as conn:
            start = time.perf_counter()
            with conn.cursor() as cur:
                for model, names, rows in plan:
                    columns = ", ".join(q(model._meta.get_field(n).column) for n in names)
                    step = time.perf_counter()
                    with cur.copy(f"COPY {common.table(model)} ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    timings[model._meta.db_table] = round(time.perf_counter() - step, 3)
            step = time.perf_counter()
            conn.commit()
            timings["commit"] = round(time.perf_counter() - step, 3)
            seconds = time.perf_counter() - start
        # Statistics first: without them the planner takes the new shop for empty and the check
        # runs nested loops over 100,000 members (it did not finish in 4 minutes).
        common.vacuum_analyze(Member, LedgerEntry, PointLot)
        invariants = common.check_invariants(shop.pk)
    finally:
        drop_bench_shop(shop.pk)
    return {
        "seconds": round(seconds, 3),
        "by_table": timings,
        "rows": counts,
        "invariants": invariants,
    }


# --- checks ---------------------------------------------------------------------------------------


def verify_import(shop_id: int, expected: dict, job: dict) -> dict:
    """The members are exactly the valid distinct rows, each credit is one entry and lot, the
    job's counts say so, and the ledger's invariants hold."""
    from members.imports.models import ImportRowError
    from members.ledger.models import LedgerEntry, PointLot
    from members.models import Member

    common.vacuum_analyze(Member, LedgerEntry, PointLot)
    phones = set(Member.objects.filter(shop_id=shop_id).values_list("phone", flat=True))
    error_rows = (
        ImportRowError.objects.filter(shop_id=shop_id, job_id=job["job_id"])
        .values("row")
        .distinct()
        .count()
    )
    invariants = common.check_invariants(shop_id)
    counts = job["job"]
    checks = {
        "job_state": counts["state"],
        "members": len(phones),
        "expected_members": expected["valid_rows"],
        "members_are_the_valid_rows": phones == set(expected["phones"]),
        "job_new": counts["new_count"],
        "job_errors": counts["error_count"],
        "error_rows_recorded": error_rows,
        "expected_error_rows": expected["error_rows"],
        "entries": invariants["entries"],
        "expected_entries": expected["credits"],
        "points": invariants["ledger_total"],
        "expected_points": expected["points"],
        "invariants": invariants,
    }
    checks["ok"] = (
        counts["state"] == "done"
        and checks["members_are_the_valid_rows"]
        and len(phones) == counts["new_count"] == expected["valid_rows"]
        and counts["error_count"] == error_rows == expected["error_rows"]
        and counts["points_total"] == invariants["ledger_total"] == expected["points"]
        and invariants["entries"] == expected["credits"]
        and invariants["ok"]
    )
    return checks


def verify_export(path: Path, shop_id: int, *, keep: list | None = None) -> dict:
    """The file opens; one row per member under the import template's header; the points column
    adds up to the shop's balances. The rows read (header included) are added to ``keep``."""
    from django.db.models import Sum
    from openpyxl import load_workbook

    from members.imports.names import template_header
    from members.models import Member

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = next(rows)
        if keep is not None:
            keep.append(header)
        count = points = 0
        for row in rows:
            count += 1
            points += row[3] or 0
            if keep is not None:
                keep.append(row)
    finally:
        workbook.close()
    members = Member.objects.filter(shop_id=shop_id)
    balances = members.aggregate(s=Sum("balance"))["s"] or 0
    result = {
        "header_ok": header[0] == template_header("phone")
        and header[3] == template_header("points"),
        "rows": count,
        "members": members.count(),
        "points": points,
        "balances": balances,
    }
    result["ok"] = result["header_ok"] and count == result["members"] and points == balances
    return result


# --- the benchmark --------------------------------------------------------------------------------


def _twin_upload(shop, branch, owner, path: Path):
    from django.core.files import File

    from members.imports import services
    from members.imports.models import ImportJob

    with path.open("rb") as f:
        return services.import_job_create(
            shop=shop,
            file=File(f, name=path.name),
            name=path.name,
            branch=branch,
            policy=ImportJob.Policy.ADD_POINTS,
            mode=ImportJob.Mode.VALID_ONLY,
            created_by=owner,
            start=False,
        )


def run(*, rows: int = FULL_ROWS, with_limit: bool = True) -> dict:
    """Generate, import (child process), check, commit the same file again, export (child
    process), check, and the limits. Returns the results (see module doc)."""
    from django.conf import settings
    from django.test.utils import override_settings

    from members.imports import services, tasks
    from members.imports.models import ImportJob

    common.require_postgresql()
    drop_leftovers()
    result = {
        "benchmark": "imports",
        "machine": common.machine(),
        "params": {"rows": rows, "bad_every": BAD_EVERY, "duplicate_every": DUPLICATE_EVERY},
    }
    timings: dict = {}
    work = Path(tempfile.mkdtemp(prefix="bench-imports-"))
    private = work / "private"
    try:
        path = work / "members.xlsx"
        with common.stopwatch(timings, "generate_s"):
            expected = generate(path, rows)
        result["file"] = {k: v for k, v in expected.items() if k != "phones"}
        env, raised = _child_env(private, rows, expected["size_bytes"])
        result["params"]["raised_limits"] = raised
        if with_limit:
            result["read_floor"] = read_floor(path)
        q_sync = {**settings.Q_CLUSTER, "sync": True}
        limits = {name: int(value) for name, value in raised.items()}
        shop, branch, owner = seed()
        try:
            with override_settings(PRIVATE_MEDIA_ROOT=str(private), Q_CLUSTER=q_sync, **limits):
                # The same file uploaded a second time and checked while the shop is still empty:
                # its preview promises every valid row as new, with its points.
                twin = _twin_upload(shop, branch, owner, path)
                with common.stopwatch(timings, "second_validate_s"):
                    tasks.validate_import(twin.pk)
                twin.refresh_from_db()
                second = {"preview": _job_counts(twin)}

                load_before = common.loadavg()
                result["import"] = _run_child(
                    "import",
                    {
                        "shop": shop.pk,
                        "branch": branch.pk,
                        "user": owner.pk,
                        "file": str(path),
                        "out": str(work / "import.json"),
                    },
                    env,
                )
                result["import"]["load"] = [load_before, common.loadavg()]
                phases = result["import"]["phases"]
                result["import"]["seconds"] = round(sum(p["seconds"] for p in phases.values()), 3)
                with common.stopwatch(timings, "verify_s"):
                    result["checks"] = verify_import(shop.pk, expected, result["import"])

                # Then confirmed after the first import: planned again under the locks, every
                # member exists and this file's ledger keys are there, so nothing is added.
                with common.stopwatch(timings, "second_commit_s"):
                    services.import_confirm(job=twin, user=owner, mode=ImportJob.Mode.VALID_ONLY)
                twin.refresh_from_db()
                second["job"] = _job_counts(twin)
                after = common.check_invariants(shop.pk)
                first = result["checks"]["invariants"]
                second["points_added"] = after["ledger_total"] - first["ledger_total"]
                second["entries_added"] = after["entries"] - first["entries"]
                second["members_added"] = after["members"] - first["members"]
                second["invariants"] = after
                second["ok"] = (
                    second["preview"]["new_count"] == expected["valid_rows"]
                    and second["job"]["state"] == "done"
                    and second["job"]["new_count"] == 0
                    and second["job"]["points_total"] == 0
                    and second["points_added"] == second["entries_added"] == 0
                    and second["members_added"] == 0
                    and after["ok"]
                )
                result["second"] = second

            if with_limit:
                # Of the rows the import wrote (before the top-up below adds members).
                load_before = common.loadavg()
                result["limit"] = copy_limit(shop.pk)
                result["limit"]["load"] = [load_before, common.loadavg()]
            timings["top_up_members"] = top_up(shop.pk, rows)
            target = work / "export.xlsx"
            load_before = common.loadavg()
            result["export"] = _run_child(
                "export",
                {"user": owner.pk, "target": str(target), "out": str(work / "export.json")},
                env,
            )
            result["export"]["load"] = [load_before, common.loadavg()]
            result["export"]["seconds"] = result["export"]["phases"]["export"]["seconds"]
            cells: list | None = [] if with_limit else None
            with common.stopwatch(timings, "verify_export_s"):
                result["export"]["checks"] = verify_export(target, shop.pk, keep=cells)
            if with_limit:
                result["export"]["write_floor_s"] = write_floor(cells, work / "floor.xlsx")
                del cells
        finally:
            with common.stopwatch(timings, "cleanup_s"):
                drop_bench_shop(shop.pk)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["checks"]["ok"] = (
        result["checks"]["ok"]
        and result["second"]["ok"]
        and result["export"]["checks"]["ok"]
        and (not with_limit or result["limit"]["invariants"]["ok"])
    )
    scale = rows / FULL_ROWS
    imp, exp = result["import"], result["export"]
    result["targets"] = {
        "import_seconds_max": TARGET_IMPORT_SECONDS * scale,
        "import_seconds_met": imp["seconds"] <= TARGET_IMPORT_SECONDS * scale,
        "import_mb_max": TARGET_IMPORT_MB,
        "import_mb_met": imp["peak_rss_mb"] <= TARGET_IMPORT_MB,
        "export_seconds_max": TARGET_EXPORT_SECONDS * scale,
        "export_seconds_met": exp["seconds"] <= TARGET_EXPORT_SECONDS * scale,
    }
    result["timings"] = timings
    result["machine"]["load_after"] = common.loadavg()
    return result


def report(result: dict) -> str:
    f, imp, exp, t = result["file"], result["import"], result["export"], result["targets"]
    ph, timings = imp["phases"], result["timings"]

    def row(label, seconds, rows, phase=None, peak="-", target="-"):
        return (
            label,
            seconds,
            round(rows / seconds) if seconds else "-",
            phase["cpu_s"] if phase else "-",
            phase["db_cpu_s"] if phase and phase["db_cpu_s"] is not None else "-",
            peak,
            target,
        )

    def target(seconds_max, met):
        return f"≤ {seconds_max:g} s: {'met' if met else 'MISSED'}"

    rows = [
        row("generate the file (not in the target)", timings["generate_s"], f["rows"]),
    ]
    if "read_floor" in result:
        r = result["read_floor"]
        rows += [
            row("read the file, no parsing (stock openpyxl)", r["seconds"], f["rows"]),
            row("  of which opening (sizes the sheet)", r["open_s"], f["rows"]),
        ]
        if "streamed_s" in r:
            rows.append(
                row(
                    "read the file, no parsing (calamine, the import's reader)",
                    r["streamed_s"],
                    f["rows"],
                )
            )
    rows += [
        row("upload: store, check, hash", ph["upload"]["seconds"], f["rows"], ph["upload"]),
        row(
            "validate (task validate_import)", ph["validate"]["seconds"], f["rows"], ph["validate"]
        ),
    ]
    if "commit" in ph:
        rows.append(
            row(
                "commit, valid rows (confirm → commit_import)",
                ph["commit"]["seconds"],
                f["rows"],
                ph["commit"],
            )
        )
    rows.append(
        (
            "import end to end",
            imp["seconds"],
            round(f["rows"] / imp["seconds"]) if imp["seconds"] else "-",
            sum(p["cpu_s"] for p in ph.values()),
            "-",
            imp["peak_rss_mb"],
            target(t["import_seconds_max"], t["import_seconds_met"]),
        )
    )
    if "limit" in result:
        lim = result["limit"]
        rows.append(
            row("raw COPY of the same rows (limit)", lim["seconds"], lim["rows"]["members"])
        )
    s = result["second"]
    rows += [
        row("same file again: validate", timings["second_validate_s"], f["rows"]),
        row("same file again: commit (adds nothing)", timings["second_commit_s"], f["rows"]),
        row(
            "export (admin action, streamed xlsx)",
            exp["seconds"],
            exp["checks"]["rows"],
            exp["phases"]["export"],
            exp["peak_rss_mb"],
            target(t["export_seconds_max"], t["export_seconds_met"]),
        ),
    ]
    if "write_floor_s" in exp:
        rows.append(
            row(
                "stock openpyxl writing the same cells (reference)",
                exp["write_floor_s"],
                exp["checks"]["rows"],
            )
        )
    table = common.format_table(
        f"imports: {f['rows']:,}-row member xlsx ({f['size_bytes'] / 1048576:.1f} MB; "
        f"{f['valid_rows']:,} valid, {f['bad_rows']:,} bad, {f['duplicate_rows']:,} repeated "
        f"phones; {f['points']:,} points)",
        ["", "seconds", "rows/s", "CPU s", "db CPU s", "peak MB", "target"],
        rows,
    )
    m = result["machine"]
    lines = [
        f"import {imp['seconds']:.1f} s (target ≤ {t['import_seconds_max']:g} s: "
        f"{'met' if t['import_seconds_met'] else 'MISSED'}); peak {imp['peak_rss_mb']:.0f} MB "
        f"(VmHWM of the import's own process, {imp['baseline_rss_mb']:.0f} MB before the "
        f"upload; target ≤ {t['import_mb_max']:g} MB: {'met' if t['import_mb_met'] else 'MISSED'})",
    ]
    if "limit" in result:
        lim = result["limit"]
        lines.append(
            f"import / COPY = {imp['seconds'] / lim['seconds']:.0f}× "
            f"(COPY {lim['rows']['members']:,} members, {lim['rows']['entries']:,} entries and "
            f"lots, {lim['rows']['tag_links']:,} tag links in {lim['seconds']:.2f} s)"
        )
    if "write_floor_s" in exp:
        lines.append(f"export / openpyxl writing = {exp['seconds'] / exp['write_floor_s']:.1f}×")
    lines += [
        f"export {exp['seconds']:.1f} s for {exp['checks']['rows']:,} members "
        f"(target ≤ {t['export_seconds_max']:g} s: "
        f"{'met' if t['export_seconds_met'] else 'MISSED'}); peak {exp['peak_rss_mb']:.0f} MB; "
        f"file {exp['size_bytes'] / 1048576:.1f} MB",
        f"second commit of the same file: {s['job']['new_count']} new, "
        f"{s['points_added']} points, {s['entries_added']} entries added",
        f"checks: {'ok' if result['checks']['ok'] else result['checks']}",
        f"load average before {m['load_before']}, after {m['load_after']}",
    ]
    return table + "\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument("--rows", type=int, default=None, help="rows in the file (100,000 × scale)")
    parser.add_argument(
        "--no-limit", action="store_true", help="skip the limits (COPY, file read, export write)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.child, args.spec)
    common.bootstrap(args.database_url)
    result = run(
        rows=args.rows or common.scaled(FULL_ROWS, args.scale, minimum=300),
        with_limit=not args.no_limit,
    )
    print(report(result))
    common.write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
