#!/usr/bin/env python3
"""What a user would do with DuckDB instead of `mask`: the same masking in SQL, all threads.

Reads the benchmark CSV extract from stdin, writes gzip CSV to stdout:
  * email, phone -> sha256(key || normalised value) hex (DuckDB has no HMAC; a keyed sha256
    is the usual stand-in), email lower-cased, phone reduced to digits
  * full_name    -> '[REDACTED]'
  * user_agent, notes -> emails / phones found by regexp_replace -> [EMAIL] / [PHONE]
    (the other columns are typed by DuckDB's sniffer and left alone)

    MASK_HMAC_KEY=secret python3 duckdb_mask.py < extract.csv > masked.csv.gz
Needs `pip install duckdb`.
"""
import os
import shutil
import sys
import tempfile

import duckdb

EMAIL = r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}"
PHONE = r"(\+\d{1,3}[ .-]?(\(\d{1,4}\)[ .-]?)?\d{1,5}([ .-]\d{2,8}){1,4}|\(\d{3}\) ?\d{3}-\d{4}|\d{3}[.-]\d{3}[.-]\d{4}|0\d{1,4}-\d{1,4}-\d{3,4})"


def main():
    key = os.environ.get("MASK_HMAC_KEY")
    if not key:
        sys.exit("duckdb_mask.py: MASK_HMAC_KEY is not set")
    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count()}")
    scan = lambda c: f"regexp_replace(regexp_replace({c}, '{EMAIL}', '[EMAIL]', 'g'), '{PHONE}', '[PHONE]', 'g') AS {c}"
    quoted_key = key.replace("'", "''")
    sql = f"""
        COPY (
          SELECT id, created_at, '[REDACTED]' AS full_name,
                 sha256('{quoted_key}' || lower(email)) AS email,
                 CASE WHEN phone IS NULL OR phone = '' THEN phone
                      ELSE sha256('{quoted_key}' || regexp_replace(phone, '[^0-9]', '', 'g')) END AS phone,
                 amount, currency, country, {scan('user_agent')}, {scan('notes')}
          FROM read_csv('/dev/stdin', header = true, all_varchar = false)
        ) TO '{{target}}' (FORMAT csv, HEADER, COMPRESSION gzip)
    """
    # DuckDB does not gzip a stream to /dev/stdout: write a temporary .csv.gz, then copy it out.
    with tempfile.TemporaryDirectory() as folder:
        target = os.path.join(folder, "out.csv.gz")
        con.execute(sql.replace("{target}", target))
        with open(target, "rb") as f:
            shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)


if __name__ == "__main__":
    main()
