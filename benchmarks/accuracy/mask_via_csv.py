#!/usr/bin/env python3
"""Black-box adapter for /work/shared/accuracy/evaluate.py until `mask --format jsonl` exists.

Reads {"id","text"} JSONL on stdin, writes it as a CSV (columns id,text, RFC 4180 quoting),
runs `mask` on it with the default `scan` policy, parses the masked CSV and prints
{"id","text"} JSONL back.

Environment:
  MASK_BIN       mask binary (default /work/main/.build-accuracy/debug/mask)
  RULES          rules file (default rules/pii.yaml, relative to the repository root)
  MASK_HMAC_KEY  any 16+ character value (a throwaway one is set if missing)
"""
import csv
import io
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> int:
    mask_bin = os.environ.get("MASK_BIN", os.path.join(ROOT, ".build-accuracy/debug/mask"))
    rules = os.environ.get("RULES", "rules/pii.yaml")
    if not os.path.isabs(rules):
        rules = os.path.join(ROOT, rules)
    env = dict(os.environ)
    if len(env.get("MASK_HMAC_KEY", "")) < 16:
        env["MASK_HMAC_KEY"] = "accuracy-eval-key-0123456789"

    rows = [json.loads(line) for line in sys.stdin.buffer.read().decode("utf-8").splitlines() if line.strip()]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow(["id", "text"])
    for row in rows:
        writer.writerow([str(row["id"]), row["text"]])

    proc = subprocess.run(
        [mask_bin, "--rules", rules, "--format", "csv", "--compress", "none"],
        input=buffer.getvalue().encode("utf-8"), stdout=subprocess.PIPE, env=env)
    if proc.returncode != 0:
        print(f"mask_via_csv: mask exited {proc.returncode}", file=sys.stderr)

    reader = csv.reader(io.StringIO(proc.stdout.decode("utf-8", "replace"), newline=""))
    header = next(reader, None)
    if header is None:
        return 1
    id_col, text_col = header.index("id"), header.index("text")
    out = sys.stdout
    for record in reader:
        if len(record) <= max(id_col, text_col):
            continue
        ident = record[id_col]
        try:
            ident = int(ident)
        except ValueError:
            pass
        out.write(json.dumps({"id": ident, "text": record[text_col]}, ensure_ascii=False) + "\n")
    return 0 if proc.returncode == 0 else proc.returncode


if __name__ == "__main__":
    sys.exit(main())
