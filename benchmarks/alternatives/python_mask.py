#!/usr/bin/env python3
"""The masker a user would write with the Python standard library instead of `mask`.

Reads the benchmark extract from stdin and writes gzip (level 6) to stdout:
  * email, phone columns -> HMAC-SHA256, base64url, first 16 characters (as rules/pii.yaml
    writes them; key from env MASK_HMAC_KEY); the email is lower-cased, the phone reduced to
    its digits before hashing
  * full_name            -> "[REDACTED]"
  * every other column   -> emails / phones found by regex replaced by [EMAIL] / [PHONE]

    MASK_HMAC_KEY=secret python3 python_mask.py < extract.csv > masked.csv.gz
    MASK_HMAC_KEY=secret python3 python_mask.py --format jsonl < extract.jsonl > masked.jsonl.gz

JSONL: name -> redacted, contact.email / contact.phone / orders[].phone -> HMAC,
every other string value (at any depth) -> regex replacement.
"""

import argparse
import base64
import csv
import gzip
import hashlib
import hmac
import io
import json
import os
import re
import sys

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}")
PHONE_RE = re.compile(r"""
    (?<![\w.+-])
    (?:
        \+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]\d{2,8}){1,4}   # +1 (415) 555-0123, +44 20 7946 0958
      | \+\d{8,15}                                                           # +14155550123
      | \(\d{3}\)[ ]?\d{3}-\d{4}                                            # (415) 555-0123
      | \d{3}([.-])\d{3}\1\d{4}                                             # 415.555.0123, 415-555-0123
      | 0\d{1,4}-\d{1,4}-\d{3,4}                                            # 090-1234-5678, 03-1234-5678
      | 0\d-\d{8}                                                            # 06-12345678
      | 0\d{9,10}                                                            # 09012345678
      | 0\d{2,5}[ ]\d{3,8}(?:[ ]\d{3,4})?                                   # 020 7946 0958, 030 1234567
      | 0\d(?:[ ]\d{2}){4}                                                  # 01 23 45 67 89
    )
    (?![\w-]|\.\d)
""", re.X)

NON_DIGITS = re.compile(r"\D")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    args = ap.parse_args()

    key = os.environ.get("MASK_HMAC_KEY")
    if not key:
        sys.exit("python_mask.py: MASK_HMAC_KEY is not set")
    key = key.encode()

    def pseudonymise(value):
        digest = hmac.new(key, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest)[:16].decode()

    def hash_email(value):
        return pseudonymise(value.strip().lower()) if value else value

    def hash_phone(value):
        return pseudonymise(NON_DIGITS.sub("", value)) if value else value

    def scrub(text):
        text = EMAIL_RE.sub("[EMAIL]", text)
        return PHONE_RE.sub("[PHONE]", text)

    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline="")
    gz = gzip.GzipFile(fileobj=sys.stdout.buffer, mode="wb", compresslevel=6)
    out = io.TextIOWrapper(gz, encoding="utf-8", newline="")

    if args.format == "csv":
        reader = csv.reader(stdin)
        writer = csv.writer(out, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
        actions = []
        for col in header:
            if col == "email":
                actions.append(hash_email)
            elif col == "phone":
                actions.append(hash_phone)
            elif col == "full_name":
                actions.append(lambda v: "[REDACTED]")
            else:
                actions.append(scrub)
        for row in reader:
            writer.writerow([f(v) for f, v in zip(actions, row)])
    else:
        def scrub_any(v):
            if isinstance(v, str):
                return scrub(v)
            if isinstance(v, dict):
                return {k: scrub_any(x) for k, x in v.items()}
            if isinstance(v, list):
                return [scrub_any(x) for x in v]
            return v

        for line in stdin:
            if not line.strip():
                continue
            rec = json.loads(line)
            for k, v in rec.items():
                if k == "name":
                    rec[k] = "[REDACTED]"
                elif k == "contact" and isinstance(v, dict):
                    v["email"] = hash_email(v.get("email"))
                    v["phone"] = hash_phone(v.get("phone"))
                elif k == "orders" and isinstance(v, list):
                    for order in v:
                        order["order_id"] = scrub_any(order.get("order_id"))
                        order["phone"] = hash_phone(order.get("phone"))
                else:
                    rec[k] = scrub_any(v)
            out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")

    out.flush()
    out.close()


if __name__ == "__main__":
    main()
