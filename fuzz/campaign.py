#!/usr/bin/env python3
"""Fuzzing campaign for `mask`: planted personal data, structural mutations, real binary, oracles.

Python 3 standard library only. See fuzz/README.md for the oracles and how to reproduce a case.

    python3 fuzz/campaign.py --budget 60 --seed 1 --cases 400      # short, reproducible (CI)
    python3 fuzz/campaign.py --budget 1800                           # long campaign
    python3 fuzz/campaign.py --seed 1 --case 17                      # regenerate and rerun one case
    python3 fuzz/campaign.py --replay fuzz-out/0017-csv-stray-quote  # rerun a saved case
"""

import argparse
import base64
import concurrent.futures
import gzip
import itertools
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_KEY = "fuzz-campaign-key-0123456789abcdef"
BOM = b"\xef\xbb\xbf"

# --------------------------------------------------------------------------------------------
# Planted values
# --------------------------------------------------------------------------------------------

FIRST = ["ann", "bob", "carla", "dmitri", "eve", "farid", "gina", "hiro", "ines", "jon", "kemal", "lena",
         "moana", "nadia", "oscar", "priya", "quinn", "ravi", "sara", "tomas", "uma", "viktor", "wen", "yuki", "zoe"]
LAST = ["lee", "smith", "okafor", "tanaka", "muller", "garcia", "rossi", "novak", "silva", "kowalski", "chen"]
DOMAINS = ["example", "mailhost", "corp-mail", "acme", "umbrella-labs", "tyrelltech", "initech", "globex"]
SUBDOMAINS = ["mail", "eu", "hq", "sub.mx", "dept.int"]
TLDS = ["com", "org", "net", "io", "de", "co.uk", "co.jp", "ne.jp", "museum", "dev"]
PLUS_TAGS = ["news", "x", "shop-2", "a.b", "spam_filter"]
AREAS = [415, 212, 646, 312, 617, 206, 503, 737, 408, 650, 919, 720]
FILLER = ["thanks", "vip customer", "re: order", "see ticket", "n/a", "café au lait", "日本語のメモ", "follow up",
          "prefers email", "left voicemail", "moved", "ok", "tbd", "résumé attached", "Ünïcödé"]
EMAIL_LABELS = ["mail", "contact", "cc", "from", "write to", "email:"]
PHONE_LABELS = ["call", "tel", "or", "ring", "phone:", "reach me at"]


def gen_email(r):
    local = r.choice(FIRST)
    style = r.randrange(5)
    if style == 0:
        local += "." + r.choice(LAST)
    elif style == 1:
        local += "+" + r.choice(PLUS_TAGS)
    elif style == 2:
        local += "_" + r.choice(LAST)
    elif style == 3:
        local += "." + r.choice(LAST) + "+" + r.choice(PLUS_TAGS)
    local += str(r.randrange(10, 99999))          # unique per case, so a leak names its origin
    domain = r.choice(DOMAINS)
    if r.random() < 0.4:
        domain = r.choice(SUBDOMAINS) + "." + domain
    email = f"{local}@{domain}.{r.choice(TLDS)}"
    if r.random() < 0.2:
        email = "".join(c.upper() if r.random() < 0.4 else c for c in email)
    return email


def _nanp(r):
    area = r.choice(AREAS)
    while True:
        exchange = r.randrange(200, 1000)
        if exchange % 100 != 11 and exchange != 555:
            break
    line = r.randrange(0, 10000)
    digits = f"{area}{exchange}{line:04d}"
    if len(set(digits[3:])) < 3:                  # no placeholder runs
        return _nanp(r)
    return str(area), str(exchange), f"{line:04d}"


def gen_phone_formatted(r):
    """A phone number in a format the shipped `phone` detector finds inside free text."""
    k = r.randrange(9)
    if k <= 4:
        a, e, l = _nanp(r)
        return [f"+1 {a} {e} {l}", f"({a}) {e}-{l}", f"+1 ({a}) {e}-{l}", f"{a}-{e}-{l}", f"{a}.{e}.{l}"][k]
    if k == 5:
        return f"+44 20 7{r.randrange(100, 1000)} {r.randrange(1000, 10000)}"
    if k == 6:
        return f"+49 30 {r.randrange(10000000, 100000000)}"
    if k == 7:
        return "+33 6 " + " ".join(f"{r.randrange(10, 100)}" for _ in range(4))
    return f"+81 90-{r.randrange(1000, 10000)}-{r.randrange(1000, 10000)}"


def gen_phone_bare(r):
    """Ten bare digits (`4155550001`): only the hashed `phone` column policy masks it."""
    a, e, l = _nanp(r)
    return a + e + l


class Plant:
    """A planted value. `detectable`: the shipped detectors find it in free text (scan, rejects);
    otherwise only its column policy masks it. `strict_rejects`: it must be masked in the rejects
    file too (detectable values always; column-only values only where the column is still known)."""

    def __init__(self, value, kind, detectable=True, strict_rejects=True):
        self.value, self.kind, self.detectable, self.strict_rejects = value, kind, detectable, strict_rejects

    def to_json(self):
        return [self.value, self.kind, self.detectable, self.strict_rejects]

    @staticmethod
    def from_json(j):
        return Plant(*j)

    def forms(self):
        v = self.value.lower().encode()
        forms = [v]
        if self.kind.startswith("phone"):
            digits = re.sub(r"\D", "", self.value).encode()
            forms += [digits, b"+" + digits]
        return list(dict.fromkeys(forms))


# --------------------------------------------------------------------------------------------
# Cases: a list of units (header, records, blank lines) plus a transform (plain, gzip, ...)
# --------------------------------------------------------------------------------------------

class Unit:
    # kinds: header, record (well-formed), malformed (one record the reader must reject),
    # tail (a record whose fate is unknown, e.g. truncated), ambiguous (framing after it is
    # unknowable), blank (not a record)
    def __init__(self, data, kind, plants=()):
        self.data, self.kind, self.plants = data, kind, list(plants)


class Case:
    def __init__(self, index, fmt, cls, seed):
        self.index, self.fmt, self.cls, self.seed = index, fmt, cls, seed
        self.units = []
        self.transform = "plain"
        self.rules = "exact" if fmt == "csv" else "jsonl"
        self.countable = True           # records_in must equal the number of record-like units
        self.exact_rejected = None      # True: every `malformed` unit must be rejected, at most `tail` units more
        self.must_succeed = False       # every run must exit 0
        self.allowed_exits = {0, 1}
        self.chunks = ["2M", "1K", "2K", "4K"]
        self.threads = [1, 2]
        self.rejects_gz = False
        self.max_record = None
        self.name = f"{index:05d}-{fmt}-{cls}"
        self.stack = [cls]

    # ---- derived expectations (recomputed after reduction) ----
    def plain(self):
        return b"".join(u.data for u in self.units)

    def file_bytes(self):
        plain = self.plain()
        t = self.transform
        if t == "plain":
            return plain
        if t == "gzip":
            return gzip.compress(plain, 6, mtime=0)
        if t == "gzip-multi":
            cut = [0, len(plain) // 3, 2 * len(plain) // 3, len(plain)]
            return b"".join(gzip.compress(plain[a:b], 6, mtime=0) for a, b in zip(cut, cut[1:]))
        if t == "gzip-garbage":
            return gzip.compress(plain, 6, mtime=0) + b"GARBAGE\x00not gzip\n"
        if t == "gzip-truncated":
            z = gzip.compress(plain, 6, mtime=0)
            return z[: max(11, len(z) * 2 // 3)]
        raise ValueError(t)

    def expected_in(self):
        if not self.countable or any(u.kind == "ambiguous" for u in self.units):
            return None
        return sum(1 for u in self.units if u.kind in ("record", "malformed", "tail"))

    def min_out(self):
        n = 0
        for u in self.units:
            if u.kind == "ambiguous":
                break
            if u.kind == "record":
                n += 1
        return None if self.cls == "first-row-data" or (self.fmt, self.cls) == ("jsonl", "cr-only") else n

    def n_malformed(self):
        return sum(1 for u in self.units if u.kind == "malformed")

    def rejected_range(self):
        """How many records a correct reader rejects (None: unknown)."""
        if not self.exact_rejected:
            return None
        low = self.n_malformed()
        return low, low + sum(1 for u in self.units if u.kind == "tail")

    def plants(self):
        """Planted values that are really in the input (mutations and reduction may remove some)."""
        views = text_views(self.plain())
        out, seen = [], set()
        for u in self.units:
            for p in u.plants:
                if p.value in seen:
                    continue
                if any(p.value.lower().encode() in v for v in views):
                    seen.add(p.value)
                    out.append(p)
        return out

    def to_json(self):
        return {
            "index": self.index, "fmt": self.fmt, "cls": self.cls, "seed": self.seed,
            "transform": self.transform, "rules": self.rules, "countable": self.countable,
            "exact_rejected": self.exact_rejected, "must_succeed": self.must_succeed,
            "allowed_exits": sorted(self.allowed_exits), "chunks": self.chunks, "threads": self.threads,
            "rejects_gz": self.rejects_gz, "max_record": self.max_record, "name": self.name, "stack": self.stack,
            "units": [{"data": base64.b64encode(u.data).decode(), "kind": u.kind,
                       "plants": [p.to_json() for p in u.plants]} for u in self.units],
        }

    @staticmethod
    def from_json(j):
        c = Case(j["index"], j["fmt"], j["cls"], j["seed"])
        for k in ("transform", "rules", "countable", "exact_rejected", "must_succeed", "chunks", "threads",
                  "rejects_gz", "max_record", "name", "stack"):
            setattr(c, k, j[k])
        c.allowed_exits = set(j["allowed_exits"])
        c.units = [Unit(base64.b64decode(u["data"]), u["kind"], [Plant.from_json(p) for p in u["plants"]])
                   for u in j["units"]]
        return c


def text_views(data):
    """The forms in which a planted value may be in clear: raw, and with JSON escapes decoded."""
    low = data.lower()
    views = [low]
    if b"\\" in data:
        def dec(m):
            cp = int(m.group(1), 16)
            return bytes([cp]) if cp < 0x80 else m.group(0)
        views.append(re.sub(rb"\\u([0-9a-f]{4})", dec, low).replace(b"\\/", b"/"))
    return views


# ---- CSV ----

CSV_CLASSES = [
    "clean", "crlf", "cr-only", "mixed-eol", "bom", "blank-lines", "no-final-newline", "quoted-multiline",
    "stray-quote", "after-close-quote", "unterminated-quote-last", "unterminated-quote-mid",
    "extra-field", "missing-field", "huge-field", "oversized-record", "nul-bytes", "invalid-utf8",
    "truncated", "empty", "header-only", "first-row-data", "gzip", "gzip-multi", "gzip-garbage",
    "gzip-truncated", "combo",
]

JSONL_CLASSES = [
    "clean", "crlf", "cr-only", "bom", "blank-lines", "no-final-newline", "json-escape", "email-key",
    "deep-valid", "deep-invalid", "trailing-garbage", "escaped-reject", "truncated-line", "invalid-escape",
    "raw-control", "invalid-utf8", "top-level-array", "top-level-scalar", "huge-string", "empty",
    "gzip", "gzip-multi", "gzip-garbage", "gzip-truncated", "combo",
]

# Mutations that can be stacked by "combo" (each applies to single records)
CSV_COMBOABLE = ["stray-quote", "after-close-quote", "extra-field", "missing-field", "nul-bytes", "invalid-utf8",
                 "huge-field", "blank-lines", "crlf", "bom"]
JSONL_COMBOABLE = ["json-escape", "email-key", "trailing-garbage", "escaped-reject", "truncated-line",
                   "invalid-escape", "invalid-utf8", "blank-lines", "crlf", "bom", "deep-invalid"]


def csv_quote(text):
    return b'"' + text.replace(b'"', b'""') + b'"'


class CSVRecord:
    """One CSV record as fields of byte tokens, so mutations insert whole tokens (never inside a
    planted value, never gluing a character onto one)."""

    def __init__(self, r, rid, quoting=1.0):
        self.r = r
        self.plants = []
        self.id = str(rid).encode()
        self.email = b""
        if r.random() < 0.9:
            e = gen_email(r)
            self.plants.append(Plant(e, "email"))
            self.email = e.encode()
        if r.random() < 0.6:
            p = gen_phone_bare(r)
            self.plants.append(Plant(p, "phone-bare", detectable=False))
        else:
            p = gen_phone_formatted(r)
            self.plants.append(Plant(p, "phone"))
        self.phone = p.encode() if r.random() < 0.95 else b""
        if not self.phone:
            self.plants.pop()
        self.notes = [r.choice(FILLER).encode()]
        for _ in range(r.randrange(0, 3)):
            if r.random() < 0.5:
                v = gen_email(r)
                self.notes += [r.choice(EMAIL_LABELS).encode(), v.encode()]
                self.plants.append(Plant(v, "email"))
            else:
                v = gen_phone_formatted(r)
                self.notes += [r.choice(PHONE_LABELS).encode(), v.encode()]
                self.plants.append(Plant(v, "phone"))
            self.notes.append(r.choice(FILLER).encode())
        self.quote = [r.random() < 0.15 * quoting, r.random() < 0.2 * quoting, r.random() < 0.2 * quoting,
                      r.random() < 0.4 * quoting]
        self.multiline = False
        self.extra = []
        self.drop_last = False
        self.raw_notes = None     # notes already serialised (mutations that break quoting)

    def notes_bytes(self):
        sep = b"\n" if self.multiline else b" "
        toks = self.notes
        if self.multiline and len(toks) > 1:
            k = self.r.randrange(1, len(toks))
            return b" ".join(toks[:k]) + sep + b" ".join(toks[k:])
        return b" ".join(toks)

    def serialise(self):
        fields = []
        for i, value in enumerate([self.id, self.email, self.phone]):
            fields.append(csv_quote(value) if self.quote[i] else value)
        if self.raw_notes is not None:
            fields.append(self.raw_notes)
        else:
            n = self.notes_bytes()
            if self.quote[3] or self.multiline or any(c in n for c in b',"\r\n'):
                n = csv_quote(n)
            fields.append(n)
        if self.drop_last:
            fields.pop()
        fields += self.extra
        return b",".join(fields)


def terminator(data):
    for t in (b"\r\n", b"\n", b"\r"):
        if data.endswith(t):
            return t
    return b""


def set_eol(case, eols):
    """Give every unit its line end; `eols` is a function from the unit index to the terminator."""
    for i, u in enumerate(case.units):
        if u.data.endswith(b"\r\n"):
            u.data = u.data[:-2]
        elif u.data.endswith(b"\n") or u.data.endswith(b"\r"):
            u.data = u.data[:-1]
        u.data += eols(i)


def csv_mutate(case, r, cls, recs):
    """Apply one mutation class to the CSV records `recs` (before serialisation where it needs the fields)."""
    body = [i for i in range(len(recs))]
    pick = lambda k=1: r.sample(body, min(k, len(body))) if body else []
    if cls == "stray-quote":
        for i in pick(r.randrange(1, 3)):
            rec = recs[i]
            rec.quote[3] = False
            rec.notes = [t.replace(b",", b" ") for t in rec.notes]
            tok = r.choice([b'5"', b'a"b', b'12" screen', b'x""y', b'"'])
            rec.notes.insert(r.randrange(1, len(rec.notes) + 1), tok)
            rec.raw_notes = b" ".join(rec.notes).replace(b"\n", b" ")      # unquoted: the quote is mid-field
            rec.kind = "malformed-or-data"
    elif cls == "after-close-quote":
        for i in pick(r.randrange(1, 3)):
            rec = recs[i]
            n = b" ".join(t.replace(b'"', b"") for t in rec.notes)
            rec.raw_notes = csv_quote(n) + r.choice([b"x", b" tail", b"a b"])   # not '"': that is an escape
            rec.kind = "malformed-or-data"
    elif cls in ("extra-field", "missing-field"):
        for i in pick(r.randrange(1, 3)):
            rec = recs[i]
            if rec.drop_last or rec.extra:
                continue              # both on one record would give it the right number of fields
            if cls == "extra-field":
                v = gen_email(r)
                rec.extra = [v.encode()] + ([b"x"] if r.random() < 0.3 else [])
                rec.plants.append(Plant(v, "email"))
            else:
                rec.drop_last = True
            rec.kind = "malformed"
            for p in rec.plants:      # the columns cannot be told apart any more
                if not p.detectable:
                    p.strict_rejects = False
    elif cls == "huge-field":
        for i in pick(r.randrange(1, 3)):
            rec = recs[i]
            size = r.randrange(2000, 40000)
            words = []
            while sum(len(w) + 1 for w in words) < size:
                words.append(r.choice(FILLER).encode())
                if r.random() < 0.01:
                    v = gen_email(r)
                    words += [b"mail", v.encode()]
                    rec.plants.append(Plant(v, "email"))
            rec.notes += words
            rec.multiline = r.random() < 0.3
    elif cls == "nul-bytes":
        for i in pick(r.randrange(1, 4)):
            rec = recs[i]
            rec.notes.insert(r.randrange(0, len(rec.notes) + 1), r.choice([b"\x00", b"a\x00b", b"\x00\x00"]))
    elif cls == "invalid-utf8":
        for i in pick(r.randrange(1, 4)):
            rec = recs[i]
            rec.notes.insert(r.randrange(0, len(rec.notes) + 1),
                             r.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf", b"\xe2\x82"]))
    elif cls == "quoted-multiline":
        for i in pick(r.randrange(1, 4)):
            recs[i].multiline = True
            if r.random() < 0.5:
                recs[i].notes.insert(1, b'she said ""hi""'.replace(b'""', b'"'))


def gen_csv(case, r):
    n = r.randrange(3, 40)
    quoting = r.choice([0.0, 0.3, 1.0])        # how often fields are quoted when they need not be
    recs = [CSVRecord(r, i + 1, quoting) for i in range(n)]
    for rec in recs:
        rec.kind = "record"
    cls = case.cls
    stack = [cls]
    if cls == "combo":
        stack = r.sample(CSV_COMBOABLE, r.randrange(2, 4))
        case.stack = stack
    for m in stack:
        csv_mutate(case, r, m, recs)
    header = Unit(b"id,email,phone,notes", "header")
    case.units = [header]
    for rec in recs:
        kind = {"malformed-or-data": "record-or-malformed"}.get(rec.kind, rec.kind)
        case.units.append(Unit(rec.serialise(), kind, rec.plants))
    eol = lambda i: b"\n"
    if "crlf" in stack:
        eol = lambda i: b"\r\n"
    elif cls == "cr-only":
        eol = lambda i: b"\r"
    elif cls == "mixed-eol":
        eols = [r.choice([b"\n", b"\r\n"]) for _ in case.units]
        eol = lambda i: eols[i]
    set_eol(case, eol)
    # after framing: mutations on units
    records = [u for u in case.units if u.kind != "header"]
    if "bom" in stack:
        header.data = BOM + header.data
    if "blank-lines" in stack:
        out = []
        for u in case.units:
            out.append(u)
            if r.random() < 0.3:
                out.append(Unit(eol(0), "blank"))
        case.units = out
        case.countable = False        # a blank CSV line may or may not count as a record
    if cls == "no-final-newline" and records:
        records[-1].data = records[-1].data.rstrip(b"\r\n")
    if cls == "unterminated-quote-last" and records:
        u = records[-1]
        rec = recs[-1]
        notes = b" ".join(t.replace(b'"', b"") for t in rec.notes)
        rec.raw_notes = b'"' + notes
        u.data = rec.serialise() + terminator(u.data)
        u.kind = "malformed"
        for p in u.plants:
            if not p.detectable:
                p.strict_rejects = False
    if cls == "unterminated-quote-mid" and len(records) > 2:
        k = r.randrange(0, len(records) - 1)
        rec = recs[k]
        notes = b" ".join(t.replace(b'"', b"") for t in rec.notes)
        rec.raw_notes = b'"' + notes
        records[k].data = rec.serialise() + terminator(records[k].data)
        records[k].kind = "ambiguous"
        for u in records[k:]:
            for p in u.plants:
                if not p.detectable:
                    p.strict_rejects = False
        case.countable = False
    if cls == "oversized-record" and records:
        case.max_record = "4K"
        k = r.randrange(0, len(records))
        rec = recs[k]
        filler = b" ".join(r.choice(FILLER).encode() for _ in range(900))
        rec.notes += [filler]
        records[k].data = rec.serialise() + terminator(records[k].data)
        records[k].kind = "malformed"
        for p in records[k].plants:
            if not p.detectable:
                p.strict_rejects = False
    if cls == "truncated" and records:
        u = records[-1]
        data = u.data.rstrip(b"\r\n")
        u.data = data[: r.randrange(1, max(2, len(data)))]
        u.kind = "tail"
        for p in u.plants:
            if not p.detectable:
                p.strict_rejects = False
    if cls == "empty":
        case.units = []
        case.allowed_exits = {0, 1, 2}
    if cls == "header-only":
        case.units = [header]
        case.must_succeed = True
    if cls == "first-row-data":
        case.units = case.units[1:]
        case.countable = False
        case.rules = r.choice(["exact", "glob"])
        case.allowed_exits = {0, 1, 2}
    # record-or-malformed: a quote inside a field is data to PostgreSQL and Python's csv, an error
    # to a strict RFC 4180 reader; either way it is one record, and it must take no other with it
    for u in case.units:
        if u.kind == "record-or-malformed":
            u.kind = "tail"
    if cls in ("clean", "crlf", "mixed-eol", "bom", "no-final-newline", "quoted-multiline",
               "huge-field", "header-only", "gzip", "gzip-multi"):
        case.must_succeed = True
    if cls in ("extra-field", "missing-field", "unterminated-quote-last", "oversized-record") or \
            (cls == "combo" and case.n_malformed()):
        case.exact_rejected = True
    if cls == "combo" and case.n_malformed() == 0 and all(m in ("huge-field", "crlf", "bom") for m in stack):
        case.must_succeed = True
    if cls in ("gzip", "gzip-multi", "gzip-garbage", "gzip-truncated"):
        case.transform = cls
    elif r.random() < 0.2 and cls not in ("empty",):
        case.transform = "gzip"
    if cls in ("gzip-garbage", "gzip-truncated"):
        case.allowed_exits = {0, 1, 3}
    if case.rules == "exact" and cls not in ("first-row-data",) and r.random() < 0.3:
        case.rules = "glob"


# ---- JSONL ----

def jstr(r, value, escape=False):
    ascii_only = r.random() < 0.3
    s = json.dumps(value, ensure_ascii=ascii_only)
    if escape:
        s = s.replace("@", "\\u0040")
        if not ascii_only and r.random() < 0.5:
            s = s.replace("a", "\\u0061", 1)
    return s


def jobj(r, members):
    colon = r.choice([":", ": "])
    comma = r.choice([",", ", "])
    return "{" + comma.join(f"{json.dumps(k)}{colon}{v}" for k, v in members) + "}"


class JSONRecord:
    def __init__(self, r, rid):
        self.r, self.rid = r, rid
        self.plants = []
        self.escape = False
        self.key_email = False
        self.depth = 0
        self.array = False
        self.extras = []

    def build(self):
        r = self.r
        self.plants = []
        m = [("id", str(self.rid))]
        if r.random() < 0.9:
            e = gen_email(r)
            self.plants.append(Plant(e, "email"))
            m.append(("email", jstr(r, e, self.escape)))
        if r.random() < 0.6:
            p = gen_phone_bare(r)
            self.plants.append(Plant(p, "phone-bare", detectable=False))
        else:
            p = gen_phone_formatted(r)
            self.plants.append(Plant(p, "phone"))
        m.append(("phone", jstr(r, p)))
        notes = [r.choice(FILLER)]
        for _ in range(r.randrange(0, 3)):
            if r.random() < 0.5:
                v = gen_email(r)
                notes += [r.choice(EMAIL_LABELS), v]
                self.plants.append(Plant(v, "email"))
            else:
                v = gen_phone_formatted(r)
                notes += [r.choice(PHONE_LABELS), v]
                self.plants.append(Plant(v, "phone"))
            notes.append(r.choice(FILLER))
        m.append(("notes", jstr(r, " ".join(notes), self.escape)))
        if r.random() < 0.5:
            v = gen_email(r)
            self.plants.append(Plant(v, "email"))
            m.append(("contact", jobj(r, [("email", jstr(r, v, self.escape)), ("verified", "true")])))
        if r.random() < 0.4:
            v = gen_phone_formatted(r)
            self.plants.append(Plant(v, "phone"))
            m.append(("tags", "[" + ",".join([jstr(r, "vip"), jstr(r, "tel " + v), "1.0E+2", "null"]) + "]"))
        if self.key_email:
            v = gen_email(r)
            self.plants.append(Plant(v, "email"))
            m.append(("scores", jobj(r, [(v, str(r.randrange(1, 9)))]).replace(json.dumps(v), jstr(r, v, self.escape))))
        if self.depth:
            v = gen_email(r)
            self.plants.append(Plant(v, "email"))
            inner = jstr(r, "deep " + v)
            for d in range(self.depth - 1):
                inner = ("[" + inner + "]") if d % 2 else jobj(r, [("n", inner)])
            m.append(("deep", inner))
        m += self.extras
        r.shuffle(m)
        line = jobj(r, m)
        if self.array:
            line = "[" + line + "]"
        return line.encode()


def gen_jsonl(case, r):
    n = r.randrange(3, 30)
    recs = [JSONRecord(r, i + 1) for i in range(n)]
    cls = case.cls
    stack = [cls]
    if cls == "combo":
        stack = r.sample(JSONL_COMBOABLE, r.randrange(2, 4))
        case.stack = stack
    kinds = ["record"] * n
    post = {}     # index -> function(bytes) -> bytes, applied after build
    idx = list(range(n))
    pick = lambda k=1: r.sample(idx, min(k, n))

    for m in stack:
        if m == "json-escape":
            for i in pick(r.randrange(1, n + 1)):
                recs[i].escape = True
        elif m == "email-key":
            for i in pick(r.randrange(1, 4)):
                recs[i].key_email = True
        elif m == "deep-valid":
            for i in pick(r.randrange(1, 3)):
                recs[i].depth = r.randrange(10, 60)
        elif m == "deep-invalid":
            for i in pick(r.randrange(1, 3)):
                recs[i].depth = r.randrange(70, 120)
                kinds[i] = "malformed-deep"
        elif m in ("trailing-garbage", "escaped-reject"):
            for i in pick(r.randrange(1, 3)):
                if m == "escaped-reject":
                    recs[i].escape = True
                kinds[i] = "malformed-complete"
                post.setdefault(i, []).append(lambda b: b + r.choice([b" x", b"}", b",", b" {}", b"]"]))
        elif m == "truncated-line":
            for i in pick(r.randrange(1, 3)):
                kinds[i] = "malformed"
                post.setdefault(i, []).append(lambda b: b[: r.randrange(1, max(2, len(b) - 1))])
        elif m == "invalid-escape":
            for i in pick(r.randrange(1, 3)):
                kinds[i] = "malformed-complete"
                recs[i].extras.append(("bad", '"a\\qb"'))
        elif m == "raw-control":
            for i in pick(r.randrange(1, 3)):
                kinds[i] = "malformed-complete"
                recs[i].extras.append(("bad", '"a\x00b\x01"'))
        elif m == "invalid-utf8":
            for i in pick(r.randrange(1, 4)):
                post.setdefault(i, []).insert(0,
                    lambda b: b[:-1] + b', "raw": "' + r.choice([b"\xff", b"\xc3(", b"\xed\xa0\x80"]) + b' x"}')
        elif m == "top-level-array":
            for i in pick(r.randrange(1, n + 1)):
                recs[i].array = True
        elif m == "top-level-scalar":
            for i in pick(r.randrange(1, 3)):
                kinds[i] = "malformed-scalar"
        elif m == "huge-string":
            for i in pick(r.randrange(1, 3)):
                v = gen_email(r)
                filler = " ".join(r.choice(FILLER) for _ in range(r.randrange(200, 3000)))
                recs[i].extras.append(("blob", json.dumps(filler + " mail " + v + " " + filler, ensure_ascii=False)))
                recs[i].blob_plant = Plant(v, "email")
    case.units = []
    for i, rec in enumerate(recs):
        data = rec.build()
        plants = rec.plants + ([rec.blob_plant] if hasattr(rec, "blob_plant") else [])
        kind = kinds[i]
        if kind == "malformed-scalar":
            v = gen_email(r)
            data = json.dumps("mail " + v).encode()
            plants = [Plant(v, "email")]
            kind = "malformed"
        for f in post.get(i, []):
            data = f(data)
        if kind == "malformed-complete":
            kind = "malformed"          # the object is whole: paths, hence column policies, are still known
        elif kind in ("malformed", "malformed-deep"):
            kind = "malformed"
            for p in plants:
                if not p.detectable:
                    p.strict_rejects = False
        case.units.append(Unit(data + b"\n", kind, plants))
    if "crlf" in stack:
        set_eol(case, lambda i: b"\r\n")
    if cls == "cr-only":
        # JSON reads a lone CR as whitespace: the file is one line with many values. Refusing it is
        # fine; it must not publish anything in clear, nor count it as records it did not write.
        set_eol(case, lambda i: b"\r")
        case.countable = False
        for u in case.units:
            for p in u.plants:
                if not p.detectable:
                    p.strict_rejects = False
    if "bom" in stack and case.units:
        case.units[0].data = BOM + case.units[0].data
    if "blank-lines" in stack:
        out = []
        for u in case.units:
            out.append(u)
            if r.random() < 0.3:
                out.append(Unit(r.choice([b"\n", b"  \n", b"\t\n", b" \r\n"]), "blank"))
        case.units = out
    if cls == "no-final-newline" and case.units:
        case.units[-1].data = case.units[-1].data.rstrip(b"\r\n")
    if cls == "empty":
        case.units = []
    if cls in ("clean", "crlf", "bom", "blank-lines", "no-final-newline", "json-escape", "email-key",
               "deep-valid", "invalid-utf8", "top-level-array", "huge-string", "empty", "gzip", "gzip-multi"):
        case.must_succeed = True
    if case.n_malformed():
        case.exact_rejected = True
    if cls == "combo" and case.n_malformed() == 0:
        case.must_succeed = True
    if cls in ("gzip", "gzip-multi", "gzip-garbage", "gzip-truncated"):
        case.transform = cls
    elif r.random() < 0.2 and cls != "empty":
        case.transform = "gzip"
    if cls in ("gzip-garbage", "gzip-truncated"):
        case.allowed_exits = {0, 1, 3}


def generate(seed, index, only=None):
    r = random.Random(f"mask-fuzz:{seed}:{index}")
    fmt = "csv" if r.random() < 0.55 else "jsonl"
    classes = CSV_CLASSES if fmt == "csv" else JSONL_CLASSES
    if only:
        choices = [c for c in classes if c in only]
        if not choices:
            fmt = "jsonl" if fmt == "csv" else "csv"
            classes = CSV_CLASSES if fmt == "csv" else JSONL_CLASSES
            choices = [c for c in classes if c in only]
        classes = choices
    cls = r.choice(classes)
    case = Case(index, fmt, cls, seed)
    (gen_csv if fmt == "csv" else gen_jsonl)(case, r)
    sizes = ["1K", "1K", "1536", "2K", "3K", "4K", "16K"]
    case.chunks = ["2M"] + r.sample(sizes, 3)
    case.rejects_gz = r.random() < 0.3
    return case


# --------------------------------------------------------------------------------------------
# Running the binary
# --------------------------------------------------------------------------------------------

class Run:
    def __init__(self, name, argv, stdin=None, outdir=None, report=None, rejects=None, compress=False, note=""):
        self.name, self.argv, self.stdin, self.outdir = name, argv, stdin, outdir
        self.report, self.rejects, self.compress, self.note = report, rejects, compress, note
        self.rc = None
        self.stdout = b""
        self.stderr = b""
        self.timeout = False
        self.seconds = 0.0

    def shell(self, mask="$MASK"):
        cmd = " ".join([mask] + [shlex.quote(a) for a in self.argv[1:]])
        if self.stdin:
            cmd += f" < {shlex.quote(self.stdin)}"
        cmd += f" > {self.name}.stdout"
        return cmd + f" 2> {self.name}.stderr"


def execute(run, cwd, env, timeout):
    stdin = open(os.path.join(cwd, run.stdin), "rb") if run.stdin else subprocess.DEVNULL
    started = time.monotonic()
    try:
        p = subprocess.Popen(run.argv, cwd=cwd, env=env, stdin=stdin, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        try:
            run.stdout, run.stderr = p.communicate(timeout=timeout)
            run.rc = p.returncode
        except subprocess.TimeoutExpired:
            run.timeout = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            run.stdout, run.stderr = p.communicate()
            run.rc = p.returncode
    finally:
        if run.stdin:
            stdin.close()
    run.seconds = time.monotonic() - started
    return run


def gunzip_all(data):
    """Decompress concatenated gzip members; keep whatever can be read (damaged data included)."""
    out = bytearray()
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += d.decompress(data)
        except zlib.error:
            break
        if not d.eof:
            break
        data = d.unused_data
        if data[:2] != b"\x1f\x8b":
            break
    return bytes(out)


def maybe_gunzip(data):
    return gunzip_all(data) if data[:2] == b"\x1f\x8b" else data


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def error_line(stderr):
    """The first error message, the input named the same way whether it came by stdin or --input."""
    for line in stderr.decode("utf-8", "replace").splitlines():
        if "error:" in line:
            return re.sub(r"(<stdin>|input\.(csv|jsonl)(\.gz)?)", "INPUT", line.strip())
    return ""


# --------------------------------------------------------------------------------------------
# Checking one case
# --------------------------------------------------------------------------------------------

class Checker:
    def __init__(self, mask, rules_files, env, timeout):
        self.mask, self.rules_files, self.env, self.timeout = mask, rules_files, env, timeout

    def plan(self, case, inp):
        ext = "csv" if case.fmt == "csv" else "jsonl"
        base = [self.mask, "--rules", "rules.yaml", "--format", case.fmt]
        if case.max_record:
            base += ["--max-record-size", case.max_record]
        rej = lambda n: f"{n}.rejects.{ext}" + (".gz" if case.rejects_gz else "")
        c = case.chunks
        t = case.threads
        runs = [
            Run("R0", base + ["--threads", str(t[0]), "--compress", "none", "--report", "R0.report.json"],
                stdin=inp, report="R0.report.json", note="pipe, stdin, 1 thread, no rejects"),
            Run("R1", base + ["--input", inp, "--threads", "1", "--compress", "none", "--rejects", rej("R1"),
                              "--report", "R1.report.json"],
                report="R1.report.json", rejects=rej("R1"), note="pipe, --rejects, 1 thread"),
            Run("R2", base + ["--input", inp, "--threads", str(t[1]), "--chunk-size", c[1], "--compress", "gzip",
                              "--rejects", rej("R2"), "--report", "R2.report.json"],
                report="R2.report.json", rejects=rej("R2"), compress=True, note="pipe gzip, --rejects, small chunks"),
            Run("R3", base + ["--input", inp, "--threads", str(t[1]), "--chunk-size", c[2], "--output", "R3.out",
                              "--rejects", rej("R3"), "--report", "R3.report.json"],
                outdir="R3.out", report="R3.report.json", rejects=rej("R3"), compress=True,
                note="--output DIR, --rejects, small chunks"),
            Run("R4", base + ["--input", inp, "--threads", str(t[1]), "--chunk-size", c[3], "--compress", "none",
                              "--report", "R4.report.json"],
                report="R4.report.json", note="pipe, no rejects, small chunks"),
        ]
        return runs

    def check(self, case, workdir):
        """Runs every configuration of the case in `workdir`; returns (failures, runs)."""
        os.makedirs(workdir, exist_ok=True)
        ext = {"csv": "csv", "jsonl": "jsonl"}[case.fmt]
        inp = "input." + ext + (".gz" if case.transform != "plain" else "")
        data = case.file_bytes()
        with open(os.path.join(workdir, inp), "wb") as f:
            f.write(data)
        rules_link = os.path.join(workdir, "rules.yaml")
        if not os.path.exists(rules_link):
            shutil.copyfile(self.rules_files[case.rules], rules_link)
        runs = self.plan(case, inp)
        for run in runs:
            execute(run, workdir, self.env, self.timeout)
            with open(os.path.join(workdir, run.name + ".stdout"), "wb") as f:
                f.write(run.stdout)
            with open(os.path.join(workdir, run.name + ".stderr"), "wb") as f:
                f.write(run.stderr)
        failures = []
        fail = lambda oracle, run, detail: failures.append({"oracle": oracle, "run": run, "detail": detail})
        plants = case.plants()
        expected_in = case.expected_in()
        min_out = case.min_out()
        plain = case.plain()
        reports = {}
        outputs = {}

        for run in runs:
            # (a) crash, hang, exit code
            if run.timeout:
                fail("hang", run.name, f"no exit within {self.timeout:.0f} s")
                continue
            if run.rc < 0:
                fail("crash", run.name, f"killed by signal {-run.rc} ({signal.Signals(-run.rc).name})")
                continue
            if run.rc not in (0, 1, 2, 3):
                fail("exit-code", run.name, f"exit code {run.rc} outside 0-3")
                continue
            if run.rc not in case.allowed_exits:
                fail("exit-code", run.name, f"exit code {run.rc} unexpected for this input (allowed "
                     f"{sorted(case.allowed_exits)}): {error_line(run.stderr)}")
            if case.must_succeed and run.rc != 0:
                fail("false-data-error", run.name, f"well-formed input refused (exit {run.rc}): {error_line(run.stderr)}")
            if case.cls == "gzip-truncated" and run.rc == 0:
                fail("silent-truncation", run.name, "a truncated gzip input was accepted with exit 0")
            if case.cls == "gzip-garbage" and run.rc == 0 and b"warning" not in run.stderr:
                fail("silent-truncation", run.name, "bytes after the gzip stream were ignored: exit 0, no warning")

            # everything the run wrote
            written = {"stdout": maybe_gunzip(run.stdout), "stderr": run.stderr}
            if run.report:
                rep = read_file(os.path.join(workdir, run.report))
                if rep is not None:
                    written["report"] = rep
                    try:
                        reports[run.name] = json.loads(rep)
                    except ValueError:
                        fail("report", run.name, "report is not JSON")
            if run.rejects:
                rj = read_file(os.path.join(workdir, run.rejects))
                if rj is not None:
                    written["rejects"] = maybe_gunzip(rj)
            part_bytes = b""
            if run.outdir:
                d = os.path.join(workdir, run.outdir)
                names = sorted(os.listdir(d)) if os.path.isdir(d) else []
                for name in names:
                    b = read_file(os.path.join(d, name))
                    if b is not None:
                        written["output/" + name] = maybe_gunzip(b)
                parts = [n for n in names if n.startswith("part-")]
                for n in parts:
                    part_bytes += written["output/" + n]
                # (e) commit protocol
                if run.rc == 0:
                    if "_SUCCESS" not in names:
                        fail("commit", run.name, "exit 0 but no _SUCCESS")
                    if "_manifest.json" not in names:
                        fail("commit", run.name, "exit 0 but no _manifest.json")
                    if not parts:
                        fail("commit", run.name, "exit 0 but no part")
                    left = [n for n in names if n.endswith(".tmp") or ".tmp" in n]
                    if left:
                        fail("commit", run.name, f"exit 0 but temporary files left: {left}")
                else:
                    visible = [n for n in names if not n.startswith(".")]
                    if visible:
                        fail("commit", run.name, f"exit {run.rc} but visible in the output folder: {visible}")
                    left = [n for n in names if ".tmp" in n]
                    if left:
                        fail("commit", run.name, f"exit {run.rc} but temporary files left: {left}")
            outputs[run.name] = part_bytes if run.outdir else written["stdout"]
            if run.rejects and "rejects" in written:
                outputs[run.name + ".rejects"] = written["rejects"]

            # (b) no planted value in clear anywhere the run wrote
            for where, content in written.items():
                views = text_views(content)
                for p in plants:
                    if where == "rejects" and not p.strict_rejects:
                        continue
                    for form in p.forms():
                        if any(form in v for v in views):
                            fail("leak", run.name, f"{p.kind} {p.value!r} in clear in {where}"
                                 + ("" if form == p.value.lower().encode() else f" (as {form.decode()!r})"))
                            break

            # (c) count conservation
            if run.rc == 0:
                rep = reports.get(run.name)
                if rep is None:
                    fail("report", run.name, "exit 0 but no report written")
                    continue
                try:
                    rin, rout, rrej = rep["records_in"], rep["records_out"], rep["records_rejected"]
                except KeyError as e:
                    fail("report", run.name, f"report lacks {e}")
                    continue
                if rin != rout + rrej:
                    fail("count", run.name, f"records_in {rin} != records_out {rout} + records_rejected {rrej}")
                if not run.rejects and rrej:
                    fail("count", run.name, f"{rrej} records rejected without --rejects, exit 0")
                if expected_in is not None and rin != expected_in:
                    fail("count", run.name, f"records_in {rin}, the input has {expected_in} records")
                if min_out is not None and rout < min_out:
                    fail("collateral-loss", run.name, f"records_out {rout}: at least {min_out} well-formed records "
                         f"must come out ({rrej} rejected)")
                rng = case.rejected_range()
                if rng is not None:
                    if run.rejects and not rng[0] <= rrej <= rng[1]:
                        fail("count", run.name, f"records_rejected {rrej}, the input has {rng[0]} malformed records"
                             + (f" and {rng[1] - rng[0]} doubtful ones" if rng[1] > rng[0] else ""))
                    if not run.rejects and rng[0]:
                        fail("malformed-accepted", run.name, f"{rng[0]} malformed records, no --rejects, "
                             f"but exit 0")
                if case.transform == "plain" and rep.get("input_bytes") != len(plain):
                    fail("count", run.name, f"input_bytes {rep.get('input_bytes')}, the input has {len(plain)} bytes")
                if case.transform != "plain" and rep.get("input_compressed_bytes") != len(data):
                    fail("count", run.name, f"input_compressed_bytes {rep.get('input_compressed_bytes')}, the file has "
                         f"{len(data)} bytes (input not read to its end)")

        # (d) determinism: same decompressed bytes whatever threads, chunk size, compression, sink
        by = {r.name: r for r in runs}

        def same(group, label):
            done = [by[n] for n in group if not by[n].timeout and by[n].rc is not None and by[n].rc >= 0]
            if len(done) < 2:
                return
            rcs = {r.name: r.rc for r in done}
            if len(set(rcs.values())) > 1:
                fail("determinism", ",".join(group), f"{label}: exit codes differ {rcs}")
                return
            if done[0].rc != 0:
                errs = {r.name: error_line(r.stderr) for r in done}
                if len(set(errs.values())) > 1:
                    fail("determinism", ",".join(group), f"{label}: different errors: {errs}")
                return
            ref = done[0]
            for r in done[1:]:
                if outputs.get(r.name) != outputs.get(ref.name):
                    fail("determinism", f"{ref.name},{r.name}", f"{label}: output bytes differ "
                         f"({len(outputs.get(ref.name) or b'')} vs {len(outputs.get(r.name) or b'')} bytes)")
                if ref.rejects and r.rejects and outputs.get(r.name + ".rejects") != outputs.get(ref.name + ".rejects"):
                    fail("determinism", f"{ref.name},{r.name}", f"{label}: rejects differ")
                a, b = reports.get(ref.name, {}), reports.get(r.name, {})
                ka = [a.get(k) for k in ("records_in", "records_out", "records_rejected", "input_bytes")]
                kb = [b.get(k) for k in ("records_in", "records_out", "records_rejected", "input_bytes")]
                if ka != kb:
                    fail("determinism", f"{ref.name},{r.name}", f"{label}: counts differ {ka} vs {kb}")

        same(["R1", "R2", "R3"], "with --rejects: 1 thread vs 2 threads and chunk sizes, stdout vs --output")
        same(["R0", "R4"], f"without --rejects: threads {case.threads[0]}/{case.threads[1]}, chunk 2M vs {case.chunks[3]}")
        r0, r1 = by["R0"], by["R1"]
        if not r0.timeout and not r1.timeout and r0.rc == 0:
            rej = reports.get("R1", {}).get("records_rejected")
            if r1.rc != 0 or rej:
                fail("determinism", "R0,R1", f"--rejects changes a clean run: exit {r1.rc}, {rej} rejected")
            elif outputs.get("R0") != outputs.get("R1"):
                fail("determinism", "R0,R1", "--rejects changes the output of a clean run")

        # (f) mask verify with the campaign's rules finds nothing in a successful output
        ext = "csv" if case.fmt == "csv" else "jsonl"
        targets = []
        if r1.rc == 0 and not r1.timeout:
            targets.append(("V1", "R1.stdout", "R1"))
        r3 = by["R3"]
        if r3.rc == 0 and not r3.timeout and os.path.isdir(os.path.join(workdir, "R3.out")):
            ps = sorted(n for n in os.listdir(os.path.join(workdir, "R3.out")) if n.startswith("part-"))
            if ps:
                targets.append(("V3", " ".join("R3.out/" + p for p in ps), "R3"))
        for name, files, src in targets:
            v = Run(name, [self.mask, "verify", "--rules", "rules.yaml", "--format", case.fmt] + files.split(),
                    note=f"mask verify on the output of {src}")
            execute(v, workdir, self.env, self.timeout)
            runs.append(v)
            with open(os.path.join(workdir, name + ".stdout"), "wb") as f:
                f.write(v.stdout)
            with open(os.path.join(workdir, name + ".stderr"), "wb") as f:
                f.write(v.stderr)
            text = v.stdout.decode("utf-8", "replace")
            if v.timeout:
                fail("hang", name, "mask verify did not exit")
            elif v.rc < 0 or v.rc not in (0, 1, 2, 3):
                fail("crash", name, f"mask verify: exit {v.rc}")
            elif v.rc != 0:
                fail("verify", name, f"mask verify exit {v.rc} on a successful output: "
                     + "; ".join(l for l in (text + v.stderr.decode("utf-8", "replace")).splitlines()[:3]))
            else:
                m = re.search(r"(\d+) records checked", text)
                out_n = reports.get(src, {}).get("records_out")
                if m and out_n is not None and int(m.group(1)) != out_n:
                    fail("verify", name, f"mask verify checked {m.group(1)} records, the run wrote {out_n}")
                views = text_views(outputs.get(src) or b"")
                blind = [p for p in plants if p.detectable and any(f in vw for f in p.forms() for vw in views)]
                if blind:
                    fail("verify", name, f"mask verify passed an output with {len(blind)} detectable value(s) in "
                         f"clear, e.g. {blind[0].kind} {blind[0].value!r}")
            for p in plants:
                if any(f in vw for f in p.forms() for vw in text_views(v.stdout + v.stderr)):
                    fail("leak", name, f"{p.kind} {p.value!r} in clear in mask verify's output")
        return failures, runs


# --------------------------------------------------------------------------------------------
# Saving and reducing failing cases
# --------------------------------------------------------------------------------------------

def signature(f):
    return f["oracle"]


def reduce_case(checker, case, oracle, scratch, max_trials=60, deadline=None):
    """Greedy delta debugging over units: drop units while the same oracle still fails."""
    trials = 0

    def still_fails(units):
        nonlocal trials
        trials += 1
        c = Case.from_json(case.to_json())
        c.units = units
        d = tempfile.mkdtemp(dir=scratch)
        try:
            fs, _ = checker.check(c, d)
            return any(f["oracle"] == oracle for f in fs)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    units = list(case.units)
    n = 2
    while len(units) >= 2 and trials < max_trials and (deadline is None or time.monotonic() < deadline):
        size = max(1, len(units) // n)
        removed = False
        for start in range(0, len(units), size):
            if trials >= max_trials or (deadline is not None and time.monotonic() >= deadline):
                break
            keep = units[:start] + units[start + size:]
            if keep and any(u.kind == "header" for u in units) and not any(u.kind == "header" for u in keep):
                continue            # keep the header: without it the case is another class
            if keep and still_fails(keep):
                units = keep
                n = max(n - 1, 2)
                removed = True
                break
        if not removed:
            if size == 1:
                break
            n = min(len(units), n * 2)
    reduced = Case.from_json(case.to_json())
    reduced.units = units
    return reduced


def save_case(out, case, failures, runs, workdir, mask, key, reduced_from=None):
    d = os.path.join(out, case.name + ("-" + failures[0]["oracle"] if failures else ""))
    if os.path.exists(d):
        shutil.rmtree(d)
    shutil.copytree(workdir, d, symlinks=False)
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(case.to_json(), f, indent=1)
    failing = {f["run"].split(",")[0] for f in failures} | {x for f in failures for x in f["run"].split(",")}
    lines = ["#!/bin/sh", "# Reproduces " + case.name + ": " + "; ".join(sorted({f['oracle'] for f in failures})),
             'cd "$(dirname "$0")"', f"MASK=${{MASK:-{mask}}}", f"export MASK_HMAC_KEY=${{MASK_HMAC_KEY:-{key}}}",
             "rm -rf R3.out"]
    for run in runs:
        mark = "   # failing" if run.name in failing else ""
        lines.append(f"# {run.name}: {run.note}{mark}")
        lines.append(run.shell() + f"; echo \"{run.name} exit $?\"")
    with open(os.path.join(d, "repro.sh"), "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(os.path.join(d, "repro.sh"), 0o755)
    with open(os.path.join(d, "failure.txt"), "w") as f:
        f.write(f"case {case.name} (seed {case.seed}, case {case.index}, class {case.cls}, format {case.fmt}, "
                f"transform {case.transform}, rules {case.rules}, mutations {'+'.join(case.stack)})\n")
        if reduced_from is not None:
            f.write(f"reduced from {reduced_from} to {len(case.units)} units (lines)\n")
        f.write(f"expected: records_in {case.expected_in()}, records_out >= {case.min_out()}, "
                f"rejected {case.rejected_range()}, must succeed {case.must_succeed}\n")
        f.write(f"planted: {[p.value for p in case.plants()]}\n\n")
        for x in failures:
            f.write(f"{x['oracle']} [{x['run']}]: {x['detail']}\n")
        f.write("\nruns:\n")
        for run in runs:
            f.write(f"  {run.name} exit {run.rc}{' TIMEOUT' if run.timeout else ''} ({run.seconds:.2f} s): "
                    f"{run.shell(mask)}\n")
    return d


# --------------------------------------------------------------------------------------------
# Campaign
# --------------------------------------------------------------------------------------------

def campaign_rules(detectors_from):
    with open(detectors_from, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^detectors:\n(.*?)^fields:", text, re.S | re.M)
    if not m:
        sys.exit(f"fuzz: cannot find the detectors section in {detectors_from}")
    detectors = "detectors:\n" + m.group(1)
    tail = ("default: scan\n\nhash:\n  algorithm: hmac-sha256\n  key: env:MASK_HMAC_KEY\n"
            "  encoding: base64url\n  length: 16\n")
    head = f"# Written by fuzz/campaign.py: the detectors of {os.path.relpath(detectors_from, REPO)}, the campaign's fields.\nversion: 1\n\n"
    exact = ("fields:\n  id: keep\n  email: hash\n  phone: { hash: { detector: phone } }\n  notes: scan\n")
    glob = ('fields:\n  "*email*": hash\n  "*phone*": { hash: { detector: phone } }\n  "*notes*": scan\n')
    jsonl = ('fields:\n  id: keep\n  email: hash\n  phone: { hash: { detector: phone } }\n  notes: scan\n'
             '  "*email*": hash\n  "*phone*": { hash: { detector: phone } }\n')
    return {name: head + detectors + body + "\n" + tail for name, body in
            (("exact", exact), ("glob", glob), ("jsonl", jsonl))}


def find_mask(path):
    if path:
        return os.path.abspath(path)
    for p in (".build/release/mask", ".build/debug/mask"):
        full = os.path.join(REPO, p)
        if os.path.exists(full):
            return full
    sys.exit("fuzz: no mask binary (build it: swift build -c release --product mask), or pass --mask PATH")


def calibration_case(seed):
    """Every planted format, once, in a clean input: if any leaks, the generator plants values the
    shipped detectors do not find (or a detector regressed) and no other finding means anything."""
    r = random.Random(f"mask-fuzz-calibration:{seed}")
    cases = []
    for fmt in ("csv", "jsonl"):
        c = Case(0, fmt, "calibration", seed)
        c.name = f"calibration-{fmt}"
        c.must_succeed = True
        units = [Unit(b"id,email,phone,notes\n", "header")] if fmt == "csv" else []
        for i in range(40):
            e, p = gen_email(r), gen_phone_formatted(r)
            b = gen_phone_bare(r)
            plants = [Plant(e, "email"), Plant(p, "phone"), Plant(b, "phone-bare", detectable=False)]
            e2 = gen_email(r)
            plants.append(Plant(e2, "email"))
            if fmt == "csv":
                data = f'{i},{e2},{b},"{r.choice(PHONE_LABELS)} {p}, {r.choice(EMAIL_LABELS)} {e} ok"\n'.encode()
            else:
                data = json.dumps({"id": i, "email": e2, "phone": b,
                                   "notes": f"{r.choice(PHONE_LABELS)} {p} {r.choice(EMAIL_LABELS)} {e}"}).encode() + b"\n"
            units.append(Unit(data, "record", plants))
        c.units = units
        cases.append(c)
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mask", help="the binary (default .build/release/mask, then .build/debug/mask)")
    ap.add_argument("--budget", type=float, default=60, help="stop starting cases after this many seconds")
    ap.add_argument("--cases", type=int, default=0, help="at most this many cases (0: until the budget)")
    ap.add_argument("--seed", type=int, default=None, help="campaign seed (default: random, printed)")
    ap.add_argument("--case", type=int, action="append", help="run only this case index (repeatable)")
    ap.add_argument("--class", dest="classes", action="append", help="only these mutation classes (repeatable)")
    ap.add_argument("--out", default=os.path.join(REPO, "fuzz-out"), help="where failing cases are saved")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=float, default=20, help="per-run timeout in seconds (hang detection)")
    ap.add_argument("--save", type=int, default=3, help="failing cases saved per oracle and class (others counted)")
    ap.add_argument("--no-reduce", action="store_true", help="save failing cases as generated")
    ap.add_argument("--replay", help="rerun a saved case folder (its case.json)")
    ap.add_argument("--rules-from", default=os.path.join(REPO, "rules", "pii.yaml"),
                    help="take the detectors from this rules file")
    ap.add_argument("--summary-json", help="write failures per oracle and class to this file")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    mask = find_mask(args.mask)
    key = os.environ.get("MASK_HMAC_KEY") or DEFAULT_KEY
    env = dict(os.environ, MASK_HMAC_KEY=key, LC_ALL="C")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    scratch = tempfile.mkdtemp(prefix="mask-fuzz-")
    rules_files = {}
    for name, text in campaign_rules(args.rules_from).items():
        path = os.path.join(scratch, f"rules-{name}.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        rules_files[name] = path
    checker = Checker(mask, rules_files, env, args.timeout)
    lock = threading.Lock()
    stats = {"passed": 0, "failed": 0}
    by_sig = {}          # (oracle, fmt/class) -> count of failing cases
    examples = {}        # (oracle, fmt/class) -> [saved dirs / first detail]
    saved = {}
    started = time.monotonic()
    deadline = started + args.budget
    os.makedirs(args.out, exist_ok=True)

    def handle(case):
        workdir = os.path.join(scratch, case.name)
        try:
            failures, runs = checker.check(case, workdir)
        except Exception as e:           # a harness bug must not pass silently
            failures, runs = [{"oracle": "harness", "run": "-", "detail": f"{type(e).__name__}: {e}"}], []
        if not failures:
            with lock:
                stats["passed"] += 1
            shutil.rmtree(workdir, ignore_errors=True)
            return
        oracles = sorted({f["oracle"] for f in failures})
        keys = [(o, f"{case.fmt}/{case.cls}") for o in oracles]
        with lock:
            stats["failed"] += 1
            for k in keys:
                by_sig[k] = by_sig.get(k, 0) + 1
            want = [k for k in keys if saved.get(k, 0) < args.save]
            for k in want:
                saved[k] = saved.get(k, 0) + 1
        path = None
        if want:
            save_c, save_f, save_r, save_w, orig = case, failures, runs, workdir, None
            first_of_kind = any(saved[k] == 1 for k in want)
            if not args.no_reduce and first_of_kind and len(case.units) > 2 and oracles[0] != "harness" \
                    and time.monotonic() < deadline:
                reduced = reduce_case(checker, case, want[0][0], scratch, max_trials=40,
                                      deadline=min(time.monotonic() + 20, deadline + 10))
                rw = os.path.join(scratch, case.name + "-reduced")
                rf, rr = checker.check(reduced, rw)
                if any(f["oracle"] == want[0][0] for f in rf):
                    save_c, save_f, save_r, save_w, orig = reduced, rf, rr, rw, len(case.units)
            path = save_case(args.out, save_c, save_f, save_r, save_w, mask, key, orig)
            if save_w != workdir:
                shutil.rmtree(save_w, ignore_errors=True)
        with lock:
            for k in keys:
                ex = examples.setdefault(k, [])
                if len(ex) < 3:
                    detail = next(f for f in failures if f["oracle"] == k[0])
                    ex.append({"case": case.name, "mutations": "+".join(case.stack), "saved": path, "run": detail["run"], "detail": detail["detail"]})
            first = failures[0]
            print(f"FAIL {case.name} {first['oracle']} [{first['run']}]: {first['detail'][:200]}"
                  + (f" (+{len(failures) - 1} more)" if len(failures) > 1 else "")
                  + (f" -> {os.path.relpath(path)}" if path else ""), flush=True)
        shutil.rmtree(workdir, ignore_errors=True)

    if args.replay:
        with open(os.path.join(args.replay, "case.json")) as f:
            case = Case.from_json(json.load(f))
        workdir = os.path.join(scratch, case.name)
        failures, runs = checker.check(case, workdir)
        for x in failures:
            print(f"FAIL {case.name} {x['oracle']} [{x['run']}]: {x['detail']}")
        print(f"fuzz: {0 if failures else 1} passed, {1 if failures else 0} failed")
        shutil.rmtree(scratch, ignore_errors=True)
        sys.exit(1 if failures else 0)

    print(f"fuzz: mask {mask}, seed {seed}, budget {args.budget:.0f} s, "
          f"{'cases ' + str(args.cases) if args.cases else 'cases unbounded'}, jobs {args.jobs}, out {args.out}", flush=True)
    only = set(args.classes) if args.classes else None
    for c in calibration_case(seed):
        handle(c)
    if args.case:
        indices = iter(args.case)
    elif args.cases:
        indices = iter(range(1, args.cases + 1))
    else:
        indices = itertools.count(1)
    ran = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        pending = set()
        for i in indices:
            if time.monotonic() >= deadline and not args.case:
                break
            pending.add(pool.submit(handle, generate(seed, i, only)))
            ran += 1
            if len(pending) >= args.jobs * 2:
                done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
                for d in done:
                    d.result()
        for d in concurrent.futures.as_completed(pending):
            d.result()
    elapsed = time.monotonic() - started
    if by_sig:
        print("fuzz: failing cases by oracle and class:")
        for (oracle, cls), n in sorted(by_sig.items()):
            print(f"  {oracle:18s} {cls:30s} {n}")
    print(f"fuzz: seed {seed}, {ran} cases + calibration in {elapsed:.0f} s "
          f"({(ran + 2) / max(elapsed, 1e-9) * 60:.0f} cases/min)")
    if args.summary_json:
        with open(args.summary_json, "w") as f:
            json.dump({"seed": seed, "cases": ran, "elapsed": elapsed, "passed": stats["passed"],
                       "failed": stats["failed"],
                       "by": [{"oracle": o, "class": c, "cases": n, "examples": examples.get((o, c), [])}
                              for (o, c), n in sorted(by_sig.items())]}, f, indent=1)
    print(f"fuzz: {stats['passed']} passed, {stats['failed']} failed")
    shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(1 if stats["failed"] else 0)


if __name__ == "__main__":
    main()
