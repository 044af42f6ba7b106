#!/usr/bin/env python3
"""Evaluation sets built only from public material nobody on this project wrote (issue 15, item 5).

    python3 public_sets.py OUTDIR [--regions US,CA,...] [--rules rules/pii.yaml] [--sources DIR]

Needs the `phonenumbers` package (a virtualenv outside the repository; run_public.sh makes one).
Writes, in the dev.jsonl format that /work/shared/accuracy/evaluate.py reads
({"id","text","spans":[{"start","end","type"}]}, Python str offsets, end exclusive), each with a
`NAME.meta.jsonl` beside it (same spans plus a sub-class; evaluate.py prints failure breakdowns
from it; extra line-level keys are read by run_public.py):

  libphonenumber_examples.jsonl  every example number of every type of every region and
        non-geographic entity in libphonenumber's metadata (as carried by `phonenumbers`),
        formatted E.164, INTERNATIONAL and NATIONAL (national only for geographic regions),
        each in four neutral sentences. Ids: lpn-REGION-TYPE-FORMAT-TEMPLATE.
  matcher_suite.jsonl  the strings of libphonenumber's PhoneNumberMatcherTest, read from the
        Python port's sdist (tests/phonenumbermatchertest.py): every number the tests expect to
        be found, in every context the tests put it in, kept when it is a valid number with the
        real metadata for the region the test gives; and the documented non-matches that are
        clearly not phone numbers, as negatives. Ids: pnm-....
  email_suite.jsonl  valid addresses from the tests of Python `email-validator` (sdist,
        tests/test_syntax.py, which also carries Dominic Sayers' isemail tests.xml cases) and,
        when the Debian package golang-*-src is installed, Go's net/mail tests; each in four
        neutral sentences. Ids: em-ascii-..., em-idn-... (ASCII local part, IDN domain in
        U-label or xn-- form), em-utf8-... (non-ASCII local part, RFC 6531). What was left out
        and why: email_suite.excluded.jsonl.
  debian_changelogs.jsonl  lines of /usr/share/doc/*/changelog.Debian.gz and changelog.gz on
        this machine (files deduplicated by content, at most --changelog-lines per file, lines
        deduplicated), emails labelled by REFERENCE_EMAIL below; no PHONE spans: a phone finding
        there is a false positive.
  numeric_negatives.jsonl  numeric-heavy real text with no phone numbers: package versions
        and sizes (dpkg-query), /var/log/dpkg.log and apt history, zone1970.tab coordinates,
        tzdata rules, /etc/services and /etc/protocols, md5sums of installed files.

and manifest.json (sources, versions, counts, the national regions used).

The sets are generated, never committed: their strings must not become rule examples.
"""
import argparse
import ast
import glob
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import unicodedata

import phonenumbers as pn
from phonenumbers import Leniency, PhoneMetadata, PhoneNumberFormat, PhoneNumberMatcher
from phonenumbers import PhoneNumberType as T
from phonenumbers.phonenumberutil import _number_desc_by_type

DEFAULT_REGIONS = ["US", "CA", "GB", "JP", "DE", "FR", "IN", "AU", "BR"]
EMAIL_VALIDATOR_VERSION = os.environ.get("EMAIL_VALIDATOR_VERSION", "2.4.0")

# ----------------------------------------------------------------------------- helpers

def span_to_last_digit(s, start=0):
    """End offset of a PHONE span: its last digit (ASCII or full-width), per the corpus conventions."""
    e = len(s)
    while e > start and not s[e - 1].isdigit():
        e -= 1
    return e


def write_set(outdir, name, rows, meta):
    with open(os.path.join(outdir, name + ".jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(outdir, name + ".meta.jsonl"), "w", encoding="utf-8") as f:
        for m in meta:
            f.write(json.dumps(m, ensure_ascii=False) + "\n")


def check_rows(rows):
    """Every span must lie inside its text and spans of a line must not overlap."""
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for r in rows:
        last = 0
        for s in sorted(r["spans"], key=lambda s: s["start"]):
            assert 0 <= s["start"] < s["end"] <= len(r["text"]), r
            assert s["start"] >= last, r
            last = s["end"]


def fetch_sdist(name, version, sources):
    """Unpacked source distribution of NAME==VERSION from PyPI (pip download), cached in SOURCES."""
    os.makedirs(sources, exist_ok=True)
    norm = name.replace("-", "_")
    pat = os.path.join(sources, f"{norm}-{version}.tar.gz")
    if not os.path.exists(pat):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:",
                        "--no-deps", f"{name}=={version}", "-d", sources],
                       check=True)
    root = os.path.join(sources, f"{norm}-{version}")
    if not os.path.isdir(root):
        with tarfile.open(pat) as t:
            t.extractall(sources, filter="data")
    return root


def regions_from_rules(path):
    """`regions:` of the phone detector in a rules file, if it names any."""
    if not path or not os.path.exists(path):
        return None
    try:
        import yaml
        doc = yaml.safe_load(open(path, encoding="utf-8"))
        ph = (doc.get("detectors") or {}).get("phone") or {}
        regs = ph.get("regions")
        if regs:
            return [str(r).upper() for r in regs]
    except ImportError:  # no PyYAML: a plain scan of the phone block
        text = open(path, encoding="utf-8").read()
        m = re.search(r"^  phone:\n((?:    .*\n|\s*\n)*)", text, re.M)
        if m:
            r = re.search(r"^    regions:\s*\[([^\]]*)\]", m.group(1), re.M)
            if r:
                return [x.strip().strip("'\"").upper() for x in r.group(1).split(",") if x.strip()]
    return None

# ----------------------------------------------------------------------------- a. libphonenumber examples

TYPES = [(T.FIXED_LINE, "fixedline"), (T.MOBILE, "mobile"), (T.TOLL_FREE, "tollfree"),
         (T.PREMIUM_RATE, "premium"), (T.SHARED_COST, "sharedcost"), (T.VOIP, "voip"),
         (T.PERSONAL_NUMBER, "personal"), (T.UAN, "uan"), (T.PAGER, "pager"),
         (T.VOICEMAIL, "voicemail")]
FORMATS = [(PhoneNumberFormat.E164, "e164"), (PhoneNumberFormat.INTERNATIONAL, "intl"),
           (PhoneNumberFormat.NATIONAL, "national")]
PHONE_TEMPLATES = ["Call {} today.", "Tel: {}", "{}", "Contact: {} (office)"]


def libphonenumber_examples(regions):
    rows, meta, stats = [], [], {"numbers": 0, "invalid_examples_skipped": 0}
    entities = [(r, PhoneMetadata.metadata_for_region(r)) for r in sorted(pn.SUPPORTED_REGIONS)]
    entities += [(str(cc), PhoneMetadata.metadata_for_nongeo_region(cc))
                 for cc in sorted(pn.COUNTRY_CODES_FOR_NON_GEO_REGIONS)]
    for ent, md in entities:
        geo = not ent.isdigit()
        seen = {}
        for t, tname in TYPES:
            desc = _number_desc_by_type(md, t)
            ex = desc.example_number if desc else None
            if not ex:
                continue
            num = pn.parse(ex, ent) if geo else pn.parse("+" + ent + ex, None)
            if not pn.is_valid_number(num):
                stats["invalid_examples_skipped"] += 1
                continue
            e164 = pn.format_number(num, PhoneNumberFormat.E164)
            if e164 in seen:  # the same example serves several types (NANP fixed = mobile)
                continue
            seen[e164] = tname
            stats["numbers"] += 1
            for fmt, fname in FORMATS:
                if fname == "national" and not geo:
                    continue  # a non-geographic number has no national form to dial
                s = pn.format_number(num, fmt)
                for k, tpl in enumerate(PHONE_TEMPLATES):
                    pre = tpl.index("{}")
                    text = tpl.format(s)
                    end = pre + span_to_last_digit(s)
                    rid = f"lpn-{ent}-{tname}-{fname}-{k}"
                    rows.append({"id": rid, "text": text,
                                 "spans": [{"start": pre, "end": end, "type": "PHONE"}]})
                    meta.append({"id": rid, "region": ent, "type": tname, "format": fname,
                                 "in_regions": ent in regions,
                                 "spans": [{"start": pre, "end": end, "type": "PHONE",
                                            "sub": f"{ent} {fname} {tname}"}]})
    return rows, meta, stats

# ----------------------------------------------------------------------------- b. matcher suite

class _Eval:
    """Evaluates the literal expressions of the test module: strings, u(...), +, *, lists,
    NumberContext(...)/NumberTest(...) and names bound earlier in the same scope."""

    def __init__(self, env):
        self.env = env

    def __call__(self, n):
        if isinstance(n, ast.Constant):
            return n.value
        if isinstance(n, ast.Name):
            if n.id in self.env:
                return self.env[n.id]
            raise KeyError(n.id)
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Mult)):
            a, b = self(n.left), self(n.right)
            return a + b if isinstance(n.op, ast.Add) else a * b
        if isinstance(n, ast.List):
            return [self(x) for x in n.elts]
        if isinstance(n, ast.Call):
            f = n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", None)
            args = [self(a) for a in n.args]
            if f == "u":
                return args[0]
            if f in ("NumberContext", "NumberTest"):
                return (f, *args)
        raise ValueError(ast.dump(n)[:80])


def _try(ev, n):
    try:
        return ev(n)
    except (KeyError, ValueError, TypeError, IndexError):
        return None


def _strip_extension(number, region):
    """The part of NUMBER the corpus labels: without an extension (x123, ext. 45, #3456, ~1234)."""
    num = pn.parse(number, region)
    if num.extension:
        m = re.search(r"[\s,]*(?:ext(?:ension)?\.?|int\.?|[xX#~])[\s:.]*" + re.escape(num.extension)
                      + r"\s*$", number)
        if m:
            number = number[:m.start()]
    return number[:span_to_last_digit(number)]


def _valid(number, region):
    try:
        return pn.is_valid_number(pn.parse(number, region))
    except pn.NumberParseException:
        return False


def _other_numbers(text, region, skip):
    """Valid numbers in the test's context text itself (say ' or +1800-123-4567!'), as gold."""
    out = []
    for m in PhoneNumberMatcher(text, region, Leniency.VALID):
        if m.end <= skip[0] or m.start >= skip[1]:
            raw = _strip_extension(m.raw_string, region)
            out.append((m.start, m.start + len(raw)))
    return out


def matcher_suite(sources):
    root = fetch_sdist("phonenumbers", pn.__version__, sources)
    path = os.path.join(root, "tests", "phonenumbermatchertest.py")
    tree = ast.parse(open(path, encoding="utf-8").read())
    env = {}
    for node in tree.body:  # module-level case lists
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            v = _try(_Eval(env), node.value)
            if v is not None:
                env[node.targets[0].id] = v
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "PhoneNumberMatcherTest")
    funcs = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}

    def contexts_of(fname):
        fenv = {}
        for node in ast.walk(funcs[fname]):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                v = _try(_Eval(fenv), node.value)
                if v is not None:
                    fenv[node.targets[0].id] = v
        return [(c[1], c[2]) for c in fenv.get("contextPairs", [])]

    possible_ctx = contexts_of("findPossibleInContext")
    valid_ctx = contexts_of("findValidInContext")

    rows, meta = [], []
    stats = {"find_numbers": 0, "find_numbers_invalid_real_metadata": 0, "excluded": []}

    def add(rid, text, region, golds, kind):
        spans = [{"start": s, "end": e, "type": "PHONE"} for s, e in sorted(set(golds))]
        rows.append({"id": rid, "text": text, "spans": spans})
        meta.append({"id": rid, "region": region, "kind": kind,
                     "spans": [dict(s, sub=f"{region or 'none'} {kind}") for s in spans]})

    def add_in_context(tag, number, region, ctxs, kind):
        core = _strip_extension(number, region)
        for j, (lead, trail) in enumerate(ctxs):
            text = lead + number + trail
            g = (len(lead), len(lead) + len(core))
            golds = [g] + _other_numbers(text, region, (len(lead), len(lead) + len(number)))
            add(f"pnm-{tag}-c{j}", text, region, golds, kind)

    # 1) doTestFindInContext(number, region): every number in every context the tests use
    i = 0
    for fname, f in funcs.items():
        for node in ast.walk(f):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "doTestFindInContext"):
                number, region = _try(_Eval({}), node.args[0]), _try(_Eval({}), node.args[1])
                if number is None:
                    continue
                stats["find_numbers"] += 1
                if not _valid(number, region):
                    stats["find_numbers_invalid_real_metadata"] += 1
                    stats["excluded"].append({"case": number, "region": region,
                                              "reason": "not a valid number with the real metadata"})
                    continue
                add_in_context(f"find{i}", number, region, possible_ctx + valid_ctx, "find-in-context")
                i += 1

    # 2) numbers the grouping leniencies find, alone; IMPOSSIBLE_CASES as negatives
    for lst in ("EXACT_GROUPING_CASES", "STRICT_GROUPING_CASES"):
        for k, (_, raw, region) in enumerate(env[lst]):
            if _valid(raw, region):
                core = _strip_extension(raw, region)
                add(f"pnm-{lst.split('_')[0].lower()}{k}", raw, region, [(0, len(core))], lst.lower())
            else:
                stats["excluded"].append({"case": raw, "region": region,
                                          "reason": "not a valid number with the real metadata"})
    for k, (_, raw, region) in enumerate(env["IMPOSSIBLE_CASES"]):
        # "650+253+1234", "650x2531234": their digits are a valid number, only the punctuation
        # makes them "impossible"; a detector taking them is not clearly wrong, so they are left out.
        if re.fullmatch(r"[0-9+xX]+", raw) and _valid(re.sub(r"\D", "", raw), region):
            stats["excluded"].append({"case": raw, "region": region,
                                      "reason": "impossible case whose digits are a valid number"})
            continue
        add(f"pnm-impossible{k}", raw, region, [], "impossible")
    stats["excluded"].append({"case": "VALID_CASES, POSSIBLE_ONLY_CASES", "region": None,
                              "reason": "found only at lax leniencies: neither clearly a number nor clearly not"})

    # 3) findMatchesInContexts(contexts, isValid=True, ...): contexts the tests call valid
    n_ctx = 0
    for fname, f in funcs.items():
        fenv = {}
        for node in f.body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                v = _try(_Eval(fenv), node.value)
                if v is not None:
                    fenv[node.targets[0].id] = v
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                c = node.value
                name = getattr(c.func, "attr", None)
                if name == "append" and isinstance(c.func.value, ast.Name):
                    v = _try(_Eval(fenv), c.args[0])
                    if v is not None and c.func.value.id in fenv:
                        fenv[c.func.value.id].append(v)
                elif name == "findMatchesInContexts":
                    args = [_try(_Eval(fenv), a) for a in c.args]
                    if not args[1]:
                        continue  # contexts in which the tests expect no valid match
                    region = args[3] if len(args) > 3 else "US"
                    number = args[4] if len(args) > 4 else "415-666-7777"
                    add_in_context(f"{fname[4:]}-{n_ctx}", number, region,
                                   [(x[1], x[2]) for x in args[0]], "surrounding")
                    n_ctx += 1

    # 4) several numbers in one text: assertMatchProperties(match, text, number, region) and
    #    PhoneNumberMatch(start, raw, ...) expected from PhoneNumberMatcher(text, region)
    multi = ("testFourMatchesInARow", "testMatchesFoundWithMultipleSpaces",
             "testMatchWithSurroundingZipcodes", "testMatchesMultiplePhoneNumbersSeparatedByPhoneNumberPunctuation",
             "testSequences")  # testIntermediateParsePositions reuses the testSequences text
    for fname in multi:
        fenv, found = {}, {}
        region = None
        for stmt in funcs[fname].body:  # in order: a name may be bound again further down
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                v = _try(_Eval(fenv), stmt.value)
                if v is not None:
                    fenv[stmt.targets[0].id] = v
            for node in ast.walk(stmt):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name == "PhoneNumberMatcher":
                    region = _try(_Eval(fenv), node.args[1])
                elif name == "assertMatchProperties":
                    t, n = _try(_Eval(fenv), node.args[1]), _try(_Eval(fenv), node.args[2])
                    if t and n:
                        found.setdefault(t, []).append((t.index(n), n))
                elif name == "PhoneNumberMatch" and "text" in fenv:
                    st, raw = _try(_Eval(fenv), node.args[0]), _try(_Eval(fenv), node.args[1])
                    if isinstance(st, int):
                        found.setdefault(fenv["text"], []).append((st, raw))
        region = region or fenv.get("region") or "NZ"
        for k, (text, nums) in enumerate(found.items()):
            golds, ok = [], True
            for st, n in nums:
                # a number of the text that is not valid with the real metadata would be neither
                # gold nor a fair false positive: such a text is left out
                if not _valid(n, region):
                    ok = False
                golds.append((st, st + len(_strip_extension(n, region))))
            if ok:
                add(f"pnm-{fname[4:]}-{k}", text, region, golds, "several")
            else:
                stats["excluded"].append({"case": text, "region": region,
                                          "reason": "holds a number invalid with the real metadata"})

    # 5) documented non-matches that are clearly not numbers
    for fname in ("testNonMatchingBracketsAreInvalid", "testNoMatchIfNoNumber"):
        k = 0
        for node in ast.walk(funcs[fname]):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "PhoneNumberMatcher":
                t, r = _try(_Eval({}), node.args[0]), _try(_Eval({}), node.args[1])
                if t:
                    add(f"pnm-{fname[4:]}-{k}", t, r, [], "non-match")
                    k += 1
    check_rows(rows)
    stats["lines"] = len(rows)
    stats["numbers"] = sum(len(r["spans"]) for r in rows)
    stats["source"] = f"phonenumbers {pn.__version__} sdist, tests/phonenumbermatchertest.py"
    return rows, meta, stats


def phonenumbers_reference(rows, meta):
    """phonenumbers' own PhoneNumberMatcher (Leniency.VALID, the region each case is given):
    predicted spans for evaluate.score."""
    region = {m["id"]: m["region"] for m in meta}
    return {r["id"]: [(m.start, m.end, "PHONE")
                      for m in PhoneNumberMatcher(r["text"], region[r["id"]], Leniency.VALID)]
            for r in rows}

# ----------------------------------------------------------------------------- c. email suites

EMAIL_TEMPLATES = ["{}", "Please write to {} for details.", "Contact: {} (office)",
                   "Reply-To: Support <{}>"]


def _email_exclusion(addr):
    """Why ADDR is outside the corpus conventions (None if it is an email there)."""
    if addr.startswith('"') or '"@' in addr:
        return "quoted local part"
    if not addr or any(c.isspace() for c in addr):
        return "whitespace or empty"
    if any(unicodedata.category(c) == "Cc" for c in addr):
        return "control character"
    if addr.count("@") != 1:
        return "more than one @ (only valid quoted)"
    local, domain = addr.split("@")
    if not local:
        return "empty local part"
    if local.startswith('"'):
        return "quoted local part"
    if domain.startswith("["):
        return "IP or domain literal"
    if "(" in addr or ")" in addr:
        return "comment"
    if "." not in domain:
        return "dotless domain"
    tld = domain.rsplit(".", 1)[1]
    # letters of any script (with their combining marks: ईन्फो), or an A-label (xn--jxalpdlp)
    alphabetic = tld[:1].isalpha() and all(unicodedata.category(c)[0] in "LM" for c in tld)
    if not (alphabetic or re.fullmatch(r"xn--[a-z0-9-]+", tld, re.I)):
        return "non-alphabetic top-level domain"
    if len(local) > 64:
        return "local part longer than 64 octets"
    return None


def _email_kind(addr):
    local, domain = addr.split("@")
    if not local.isascii():
        return "utf8"
    if not domain.isascii() or re.search(r"(^|\.)xn--", domain, re.I):
        return "idn"
    return "ascii"


def _email_validator_cases(sources):
    root = fetch_sdist("email-validator", EMAIL_VALIDATOR_VERSION, sources)
    tree = ast.parse(open(os.path.join(root, "tests", "test_syntax.py"), encoding="utf-8").read())
    out = []
    for f in tree.body:
        if not isinstance(f, ast.FunctionDef):
            continue
        for dec in f.decorator_list:
            if not (isinstance(dec, ast.Call) and getattr(dec.func, "attr", None) == "parametrize"):
                continue
            cases = dec.args[1]
            if not isinstance(cases, ast.List):
                continue
            for c in cases.elts:
                if not isinstance(c, (ast.Tuple, ast.List)) or not isinstance(c.elts[0], ast.Constant):
                    continue
                raw = c.elts[0].value
                if f.name in ("test_email_valid", "test_email_valid_intl_local_part"):
                    # display-name forms (My Name <me@example.org>): the address between < >
                    m = re.search(r"<([^<>]*)>\s*$", raw)
                    out.append(("email-validator", m.group(1) if m else raw, None))
                elif f.name == "test_email_valid_only_if_quoted_local_part":
                    out.append(("email-validator", raw, "quoted local part"))
                elif f.name == "test_pyisemail_tests":
                    status = c.elts[1].value
                    src = "isemail tests.xml (via email-validator)"
                    out.append((src, raw, None if status == "ISEMAIL_VALID" else "isemail: " + status))
    return out


def _go_string(lit):
    if lit.startswith("`"):
        return lit[1:-1]
    return ast.literal_eval(lit)


def _go_net_mail_cases():
    paths = sorted(glob.glob("/usr/share/go-*/src/net/mail/message_test.go") +
                   glob.glob("/usr/lib/go-*/src/net/mail/message_test.go"))
    if not paths:
        return [], None
    src = open(paths[-1], encoding="utf-8").read()
    out = []
    lit = r'("(?:[^"\\\n]|\\.)*"|`[^`]*`)'
    for m in re.finditer(r"Address:\s*" + lit, src):
        out.append(("go net/mail", _go_string(m.group(1)), None))
    m = re.search(r"func TestAddressParsingAndFormatting.*?tests := \[\]string\{(.*?)\n\t\}", src, re.S)
    if m:
        for l in re.finditer(lit, m.group(1)):
            s = _go_string(l.group(1))
            out.append(("go net/mail", s[1:-1] if s.startswith("<") and s.endswith(">") else s, None))
    return out, paths[-1]


def email_suite(sources):
    cases = _email_validator_cases(sources)
    go, go_path = _go_net_mail_cases()
    cases += go
    rows, meta, excluded, seen = [], [], [], set()
    n = {"ascii": 0, "idn": 0, "utf8": 0}
    for src, addr, why in cases:
        why = why or _email_exclusion(addr)
        if why:
            excluded.append({"address": addr, "source": src, "reason": why})
            continue
        if addr in seen:
            continue
        seen.add(addr)
        kind = _email_kind(addr)
        idx = n[kind]
        n[kind] += 1
        for k, tpl in enumerate(EMAIL_TEMPLATES):
            pre = tpl.index("{}")
            rid = f"em-{kind}-{idx}-{k}"
            span = {"start": pre, "end": pre + len(addr), "type": "EMAIL"}
            rows.append({"id": rid, "text": tpl.format(addr), "spans": [span]})
            meta.append({"id": rid, "kind": kind, "source": src,
                         "spans": [dict(span, sub=f"email {kind} {src.split()[0]}")]})
    check_rows(rows)
    stats = {"addresses": n, "excluded": len(excluded),
             "sources": [f"email-validator {EMAIL_VALIDATOR_VERSION} sdist, tests/test_syntax.py"]
             + ([go_path] if go_path else ["(go net/mail: no golang-*-src installed)"])}
    return rows, meta, excluded, stats

# ----------------------------------------------------------------------------- d. Debian changelogs

# The reference for labelling real text, deliberately strict (checked by hand on a sample, see
# README): an unquoted dot-atom of the usual characters, no leading, trailing or double dot, a
# dotted domain of LDH labels and an alphabetic top-level domain that is not a file extension.
REFERENCE_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])"
    r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+"
    # file names and unit names that look like addresses: logo@2x.png, po/sr@Latn.po,
    # getty@tty2.service, po/en@quot.header
    r"(?!(?:png|jpe?g|gif|svg|webp|css|js|json|xml|html?|txt|log|gz|zip|tar|deb|po|pot|mo|header"
    r"|service|socket|timer|target|mount|slice)\b)"
    r"[A-Za-z]{2,24}"
    r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9])")


def debian_changelogs(max_per_file):
    files = sorted(glob.glob("/usr/share/doc/*/changelog.Debian.gz") + glob.glob("/usr/share/doc/*/changelog.gz"))
    seen_files, seen_lines, rows = set(), set(), []
    for p in files:
        try:
            b = gzip.open(p).read()
        except (OSError, EOFError):
            continue
        h = hashlib.sha1(b).hexdigest()
        if h in seen_files:
            continue
        seen_files.add(h)
        pkg = p.split("/")[4] + ("-d" if p.endswith(".Debian.gz") else "-u")
        kept = 0
        for line in b.decode("utf-8", "replace").splitlines():
            line = line.rstrip()
            if not line.strip() or line in seen_lines:
                continue
            seen_lines.add(line)
            spans = [{"start": m.start(), "end": m.end(), "type": "EMAIL"} for m in REFERENCE_EMAIL.finditer(line)]
            rows.append({"id": f"deb-{pkg}-{kept}", "text": line, "spans": spans})
            kept += 1
            if kept >= max_per_file:
                break
    check_rows(rows)
    return rows, {"files": len(seen_files), "lines": len(rows),
                  "emails": sum(len(r["spans"]) for r in rows)}

# ----------------------------------------------------------------------------- numeric negatives

def _lines_of(path, cap, skip_comments=True):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            ls = [l.rstrip("\n") for l in f if l.strip() and not (skip_comments and l.lstrip().startswith("#"))]
    except OSError:
        return []
    step = max(1, len(ls) // cap)  # an even sample through the file
    return ls[::step][:cap]


def numeric_negatives(cap):
    src = []
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${Installed-Size} ${Architecture}\\n"],
                             capture_output=True, text=True, check=True).stdout.splitlines()
        src.append(("dpkg-versions", out[:cap]))
    except (OSError, subprocess.CalledProcessError):
        pass
    src.append(("dpkg-log", _lines_of("/var/log/dpkg.log", cap)))
    src.append(("apt-history", _lines_of("/var/log/apt/history.log", cap)))
    src.append(("zone1970-coordinates", _lines_of("/usr/share/zoneinfo/zone1970.tab", cap)))
    src.append(("tzdata-rules", _lines_of("/usr/share/zoneinfo/tzdata.zi", cap)))
    src.append(("services-ports", _lines_of("/etc/services", cap)))
    src.append(("protocols", _lines_of("/etc/protocols", cap)))
    md5 = []
    for p in sorted(glob.glob("/var/lib/dpkg/info/*.md5sums")):
        md5 += _lines_of(p, 20)
    step = max(1, len(md5) // cap)
    src.append(("md5sums", md5[::step][:cap]))
    rows, meta, counts = [], [], {}
    for name, lines in src:
        counts[name] = len(lines)
        for k, l in enumerate(lines):
            rid = f"neg-{name}-{k}"
            rows.append({"id": rid, "text": l, "spans": []})
            meta.append({"id": rid, "kind": name,
                         "spans": [{"start": 0, "end": len(l), "type": "NEG", "sub": name}]})
    return rows, meta, counts

# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--regions", help="national-format regions, e.g. US,CA,JP (default: `regions:` of "
                                      "the phone detector in --rules, else " + ",".join(DEFAULT_REGIONS) + ")")
    ap.add_argument("--rules", default=os.path.join(os.path.dirname(__file__), "..", "..", "rules", "pii.yaml"))
    ap.add_argument("--sources", help="cache for the downloaded sdists (default OUTDIR/_sources)")
    ap.add_argument("--changelog-lines", type=int, default=150, help="at most this many lines per changelog")
    ap.add_argument("--negatives-cap", type=int, default=5000, help="at most this many lines per negatives source")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    sources = a.sources or os.path.join(a.outdir, "_sources")
    if a.regions:
        regions, regions_from = [r.strip().upper() for r in a.regions.split(",") if r.strip()], "--regions"
    else:
        regions = regions_from_rules(a.rules)
        regions_from = f"regions: of the phone detector in {a.rules}" if regions else "default"
        regions = regions or DEFAULT_REGIONS
    manifest = {"phonenumbers": pn.__version__, "national_regions": regions,
                "national_regions_from": regions_from, "sets": {}}

    rows, meta, st = libphonenumber_examples(set(regions))
    write_set(a.outdir, "libphonenumber_examples", rows, meta)
    manifest["sets"]["libphonenumber_examples"] = dict(st, lines=len(rows))

    rows, meta, st = matcher_suite(sources)
    write_set(a.outdir, "matcher_suite", rows, meta)
    with open(os.path.join(a.outdir, "matcher_suite.excluded.jsonl"), "w", encoding="utf-8") as f:
        for e in st.pop("excluded"):
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    manifest["sets"]["matcher_suite"] = st

    rows, meta, excluded, st = email_suite(sources)
    write_set(a.outdir, "email_suite", rows, meta)
    with open(os.path.join(a.outdir, "email_suite.excluded.jsonl"), "w", encoding="utf-8") as f:
        for e in excluded:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    manifest["sets"]["email_suite"] = dict(st, lines=len(rows))

    rows, st = debian_changelogs(a.changelog_lines)
    write_set(a.outdir, "debian_changelogs", rows, [])
    os.remove(os.path.join(a.outdir, "debian_changelogs.meta.jsonl"))
    manifest["sets"]["debian_changelogs"] = st

    rows, meta, counts = numeric_negatives(a.negatives_cap)
    write_set(a.outdir, "numeric_negatives", rows, meta)
    manifest["sets"]["numeric_negatives"] = {"lines": len(rows), "by_source": counts}

    with open(os.path.join(a.outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    json.dump(manifest, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
