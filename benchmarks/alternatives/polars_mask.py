#!/usr/bin/env python3
"""What a user would do with polars instead of `mask` (CSV only).

Reads the benchmark CSV extract from stdin, writes gzip CSV (level 6) to stdout:
  * email, phone -> keyed hash; polars has no HMAC or SHA-256 expression, so this uses its
    built-in 64-bit hash seeded from the key (weaker than HMAC, and faster than it)
  * full_name -> '[REDACTED]'; user_agent, notes -> regex replacement with [EMAIL] / [PHONE]

    MASK_HMAC_KEY=secret python3 polars_mask.py < extract.csv > masked.csv.gz
Needs `pip install polars`.
"""
import gzip
import io
import os
import sys
import zlib

import polars as pl

EMAIL = r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}"
PHONE = r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]\d{2,8}){1,4}|\(\d{3}\) ?\d{3}-\d{4}|\d{3}[.-]\d{3}[.-]\d{4}|0\d{1,4}-\d{1,4}-\d{3,4}"


def main():
    key = os.environ.get("MASK_HMAC_KEY")
    if not key:
        sys.exit("polars_mask.py: MASK_HMAC_KEY is not set")
    seed = zlib.crc32(key.encode())
    frame = pl.read_csv(sys.stdin.buffer.read(), infer_schema_length=0)
    scan = lambda c: pl.col(c).str.replace_all(EMAIL, "[EMAIL]").str.replace_all(PHONE, "[PHONE]")
    masked = frame.with_columns(
        pl.lit("[REDACTED]").alias("full_name"),
        pl.col("email").str.to_lowercase().hash(seed).cast(pl.Utf8).alias("email"),
        pl.when(pl.col("phone").is_null()).then(None).otherwise(
            pl.col("phone").str.replace_all(r"[^0-9]", "").hash(seed).cast(pl.Utf8)).alias("phone"),
        scan("user_agent"), scan("notes"),
    )
    buffer = io.BytesIO()
    masked.write_csv(buffer)
    with gzip.GzipFile(fileobj=sys.stdout.buffer, mode="wb", compresslevel=6, mtime=0) as out:
        out.write(buffer.getvalue())


if __name__ == "__main__":
    main()
