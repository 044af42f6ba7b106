#!/usr/bin/env python3
"""Extra corpora for the email/phone detectors, beyond /work/shared/accuracy/dev.jsonl.

The accuracy targets are also checked on unseen texts (other formats, templates and
negatives of the same kinds), so the detectors are measured on three more sets, all in the
dev.jsonl format that evaluate.py reads (`--split PATH`):

  stress.jsonl        formats and contexts absent from dev: NANP (415)555-0123, 1.415.555.0123;
                      JP 03(1234)5678, ０３－..., ー as a hyphen, 050/0800; GB (020), 0044,
                      +447...; DE 030/1234567, +49 (0) 89; FR dotted, NBSP-separated, 0033;
                      IN 98765 43210, +91 unseparated; AU 1300, +614...; BR 11 91234-5678,
                      (011) ...; 15 more country codes; labels (TEL., phone=, ☎) and suffixes
                      (x77, 内線, ;, 24/7); emails in mailto:, quotes, brackets, Japanese text;
                      and negatives of every hard-negative kind in other spellings.
  dev_refill.jsonl    every dev line 4 times, each phone's free digits (# in its format) redrawn:
                      detection must not hinge on particular digits.
  negatives_refill.jsonl  30,000 dev hard negatives with their context, digits redrawn.

Usage: python3 extra_sets.py OUTDIR, then e.g.
  python3 /work/shared/accuracy/evaluate.py --split OUTDIR/stress.jsonl --cmd "..."
"""
import json
import os
import random
import re
import sys

CORPUS = os.environ.get("ACCURACY_DIR", "/work/shared/accuracy")


def stress():
    R = random.Random(7)
    def d(n): return "".join(R.choice("0123456789") for _ in range(n))
    def m(): return R.choice("23456789")
    FW = str.maketrans("0123456789+-()", "０１２３４５６７８９＋－（）")
    phones = []  # (text, type) formats
    def P(s): phones.append(s)
    for _ in range(6):
        a, x = m()+d(2), m()+d(2)
        P(f"({a}){x}-{d(4)}"); P(f"{a} {x}-{d(4)}"); P(f"+1.{a}.{x}.{d(4)}"); P(f"1 ({a}) {x}-{d(4)}")
        P(f"1.{a}.{x}.{d(4)}"); P(f"+1 {a}-{x}-{d(4)}"); P(f"+1({a}){x}-{d(4)}"); P(f"{a}–{x}–{d(4)}")
        # JP
        P(f"0{R.choice('789')}0-{d(4)}-{d(4)}"); P(f"(03) {d(4)}-{d(4)}"); P(f"03({d(4)}){d(4)}"); P(f"0{m()}{d(2)}-{d(2)}-{d(4)}")
        P(f"050-{d(4)}-{d(4)}"); P(f"+81 (0)3-{d(4)}-{d(4)}"); P(f"+81 90 {d(4)} {d(4)}"); P(f"0{R.choice('789')}0ー{d(4)}ー{d(4)}")
        P(f"0{R.choice('789')}0-{d(4)}-{d(4)}".translate(FW)); P(f"(0{m()}{d(1)}) {d(3)}-{d(4)}".translate(FW))
        P(f"0800-{d(3)}-{d(4)}"); P(f"+81-{m()}{d(1)}-{d(4)}-{d(4)}")
        # GB
        P(f"07{m()}{d(2)} {d(3)} {d(3)}"); P(f"(020) {d(4)} {d(4)}"); P(f"+44 (0) 20 {d(4)} {d(4)}"); P(f"+447{m()}{d(8)}")
        P(f"01{m()}{d(2)} {d(6)}"); P(f"0044 20 {d(4)} {d(4)}"); P(f"+44 161 {d(3)} {d(4)}"); P(f"0800 {d(3)} {d(4)}")
        # DE
        P(f"030/{d(7)}"); P(f"+49-30-{d(8)}"); P(f"(030) {d(8)}"); P(f"0151-{d(8)}"); P(f"0171 {d(4)} {d(4)}")
        P(f"+49 (0) 89 {d(3)} {d(4)}"); P(f"089 {d(3)} {d(4)}"); P(f"0049 151 {d(8)}"); P(f"+49 6221 {d(6)}")
        # FR
        P(f"0{m()}.{d(2)}.{d(2)}.{d(2)}.{d(2)}"); P(f"0{m()}-{d(2)}-{d(2)}-{d(2)}-{d(2)}"); P(f"+33 (0)1 {d(2)} {d(2)} {d(2)} {d(2)}")
        P(f"+33{R.choice('67')}{d(8)}"); P(f"0{m()}\u00a0{d(2)}\u00a0{d(2)}\u00a0{d(2)}\u00a0{d(2)}"); P(f"0033 1 {d(2)} {d(2)} {d(2)} {d(2)}")
        # IN
        P(f"{R.choice('6789')}{d(4)} {d(5)}"); P(f"+91 {R.choice('6789')}{d(9)}"); P(f"+91{R.choice('6789')}{d(9)}"); P(f"011-{d(4)}-{d(4)}"); P(f"022 {d(8)}")
        P(f"+91 {R.choice('6789')}{d(4)}-{d(5)}"); P(f"0{R.choice('6789')}{d(4)}-{d(5)}")
        # AU
        P(f"04{d(2)} {d(3)} {d(3)}"); P(f"02 {d(4)} {d(4)}"); P(f"+61 (0)2 {d(4)} {d(4)}"); P(f"1300 {d(3)} {d(3)}"); P(f"+61 4{d(2)}-{d(3)}-{d(3)}"); P(f"+614{d(8)}")
        # BR
        P(f"(21) {m()}{d(3)}-{d(4)}"); P(f"+55 (11) 9{d(4)}-{d(4)}"); P(f"11 9{d(4)}-{d(4)}"); P(f"(011) 9{d(4)}-{d(4)}"); P(f"+5511 9{d(4)}-{d(4)}")
        # other countries
        P(f"+34 6{d(2)} {d(3)} {d(3)}"); P(f"+39 06 {d(4)} {d(4)}"); P(f"+31 6 {d(8)}"); P(f"+86 138 {d(4)} {d(4)}"); P(f"+82 10-{d(4)}-{d(4)}")
        P(f"+65 {m()}{d(3)} {d(4)}"); P(f"+353 1 {d(3)} {d(4)}"); P(f"+41 44 {d(3)} {d(2)} {d(2)}"); P(f"+52 55 {d(4)} {d(4)}"); P(f"+7 495 {d(3)}-{d(2)}-{d(2)}")
        P(f"+27 21 {d(3)} {d(4)}"); P(f"+971 4 {d(3)} {d(4)}"); P(f"+852 {m()}{d(3)} {d(4)}"); P(f"+46 8 {d(3)} {d(3)} {d(2)}"); P(f"+48 {d(3)} {d(3)} {d(3)}")
    pre = ["", "Tel: ", "TEL:", "TEL.", "tel ", "Phone: ", "phone=", "call ", "電話：", "電話番号 ", "携帯：", "(", "[", "<", "\"", "'", "Mobile: ", "Fax ", "T: ", "ph. ", "☎ ", "お電話は", "連絡先:"]
    post = ["", ".", ",", ")", "]", ">", "\"", "'", " x204", " ext. 12", " ext 305", "x77", " #12", " 内線123", "（内線45）", " (24/7)", " 24/7", " までご連絡ください。", "へ", "。", " or email", "; thanks", " (mobile)", "\n", " / ", ", Fax: n/a"]
    neg = []
    def N(s, kind): neg.append((s, kind))
    for _ in range(8):
        y, mo, da = R.randint(1990, 2030), R.randint(1, 12), R.randint(1, 28)
        N(f"{y}-{mo:02d}-{da:02d}", "date"); N(f"{da:02d}/{mo:02d}/{y}", "date"); N(f"{da:02d}.{mo:02d}.{y}", "date"); N(f"{y}年{mo}月{da}日", "date")
        N(f"{y}{mo:02d}{da:02d}", "date"); N(f"{da:02d}-{mo:02d}-{y}", "date"); N(f"{mo:02d} {da:02d} {y}", "date"); N(f"{y}/{mo:02d}/{da:02d} 14:22:31", "ts")
        N(f"{y}-{mo:02d}-{da:02d} 14:22:31.123", "ts"); N(f"{y}-{mo:02d}-{da:02d}T08:15:00+09:00", "ts"); N(f"{y}.{mo:02d}.{da:02d} 09:30", "ts")
        N(f"{R.randint(1000000000, 1799999999)}", "epoch"); N(f"{R.randint(1000000000000, 1799999999999)}", "epoch-ms")
        N(f"{R.randint(1,223)}.{R.randint(0,255)}.{R.randint(0,255)}.{R.randint(0,255)}", "ipv4"); N(f"{R.randint(1,223)}.{R.randint(0,255)}.{R.randint(0,255)}.{R.randint(0,255)}:8080", "ipv4")
        N(f"v{R.randint(1,20)}.{R.randint(0,40)}.{R.randint(0,400)}", "version"); N(f"{R.randint(1,9)}.{R.randint(0,20)}.{R.randint(0,20)}.{R.randint(1000,9999)}", "version"); N(f"build 2024.{R.randint(1,12)}.{R.randint(100,999)}", "version")
        N(f"ORD-{y}-{d(6)}", "order"); N(f"INV-{y}-{d(4)}", "order"); N(f"PO# 45{d(8)}", "order"); N(f"#{d(7)}", "order"); N(f"Order No. {d(3)}-{d(7)}-{d(7)}", "order"); N(f"SO-{d(3)}-{d(5)}", "order")
        N(f"${R.randint(1,999)},{d(3)},{d(3)}.{d(2)}", "amount"); N(f"€{R.randint(1,999)}.{d(3)},{d(2)}", "amount"); N(f"USD {d(7)}.{d(2)}", "amount"); N(f"¥{R.randint(1,99)},{d(3)},{d(3)}", "amount"); N(f"{d(3)} {d(3)} {d(3)},{d(2)} €", "amount")
        N(f"{d(5)}-{d(4)}", "zip"); N(f"〒{d(3)}-{d(4)}", "zip"); N(f"CEP {d(5)}-{d(3)}", "zip"); N(f"0{d(4)}-{d(4)}", "zip"); N(f"PIN {d(3)} {d(3)}", "zip")
        N(f"{d(3)}-{d(2)}-{d(4)}", "ssn"); N(f"{d(3)} {d(2)} {d(4)}", "ssn"); N(f"0{d(2)}-{d(2)}-{d(4)}", "ssn")
        N(f"4{d(3)} {d(4)} {d(4)} {d(4)}", "card"); N(f"5{d(3)}-{d(4)}-{d(4)}-{d(4)}", "card"); N(f"3{d(3)} {d(6)} {d(5)}", "card"); N(f"6011{d(12)}", "card")
        N(f"{d(4)} {d(4)} {d(4)}", "tracking"); N(f"9400 {d(4)} {d(4)} {d(4)} {d(4)} {d(2)}", "tracking"); N(f"1Z{d(3)}AA{d(10)}", "tracking"); N(f"0{d(3)} {d(4)} {d(4)}", "tracking"); N(f"{d(12)}", "tracking"); N(f"{d(4)}-{d(4)}-{d(4)}", "tracking")
        N(f"978-{d(1)}-{d(2)}-{d(6)}-{d(1)}", "isbn"); N(f"ISBN 0-{d(3)}-{d(5)}-{d(1)}", "isbn"); N(f"978{d(10)}", "isbn"); N(f"ISBN {d(1)}-{d(3)}-{d(5)}-{d(1)}", "isbn")
        N(f"{R.uniform(-90,90):.6f}, {R.uniform(-180,180):.6f}", "coord"); N(f"({R.uniform(-90,90):.4f}, {R.uniform(-180,180):.4f})", "coord"); N(f"{R.uniform(0,90):.4f}° N, {R.uniform(0,180):.4f}° E", "coord")
        N(f"{d(8)}", "userid"); N(f"{d(10)}", "userid"); N(f"{d(11)}", "userid"); N(f"user {d(13)}", "userid"); N(f"0{d(9)}", "userid"); N(f"00{d(10)}", "userid")
        N("%08x-%04x-%04x-%04x-%012x" % (R.getrandbits(32), R.getrandbits(16), R.getrandbits(16), R.getrandbits(16), R.getrandbits(48)), "uuid")
        N("%040x" % R.getrandbits(160), "hash"); N("%07x" % R.getrandbits(28), "hash")
        N(f"{R.randint(0,23):02d}:{R.randint(0,59):02d}:{R.randint(0,59):02d}", "time"); N(f"{R.randint(1,12)}:{R.randint(0,59):02d} pm - {R.randint(1,12)}:{R.randint(0,59):02d} pm", "time")
        N(f"DE89 3704 0044 0532 0130 00", "iban"); N(f"GB82 WEST 1234 5698 7654 32", "iban")
        N(f"{R.randint(100,999)} {R.randint(100,999)} {R.randint(1000,9999)} units", "counts"); N(f"qty {d(3)}-{d(3)}-{d(3)}", "sku"); N(f"SKU {d(2)}-{d(4)}-{d(4)}", "sku")
        N(f"Room {d(4)} {d(3)} {d(4)}", "misc"); N(f"1.{d(3)}.{d(3)}.{d(4)}", "version")
    emails = []
    def E(s): emails.append(s)
    for _ in range(8):
        u = R.choice(["jane.doe", "j_smith", "taro", "a.b+tag", "first.last+news", "x-y", "o.o", "info", "sales2024", "k"])
        dom = R.choice(["example.com", "mail.example.co.jp", "corp-mail.io", "sub.domain.example.museum", "example.photography", "ex.ac.uk", "x.travel", "EXAMPLE.COM", "a-b.c-d.net", "example.technology"])
        E(f"{u}@{dom}")
    epre = ["", "mailto:", "<", "(", "[", "\"", "'", "Email: ", "メール：", "連絡は", "email=", "Reply-To: Jane <", "cc: ", "（"]
    epost = ["", ".", ",", ">", ")", "]", "\"", "'", "?subject=hi", "までお願いします", "。", "）", " or ", ";", "!", "&x=1", ":"]
    eneg = ["report@2x.png", "icon@3x.webp", "logo@2x.avif", "banner@1.5x.jpg", "user@localhost", "deploy@10.0.0.5", "root@127.0.0.1", "@handle", "@jane_doe", "admin@intranet", "lodash@4.17.21",
            "@babel/core@7.22.5", "npm i react@18.2.0", "pip install foo==1.0", "user@server2", "name@domain", "a@b.c", "x@[192.168.0.1]", "sprite@2x.PNG", "img@3x.svg", "@types/node@20.11.5", "vue@next", "data@2x.json"]
    rows = []
    def add(text, spans):
        rows.append({"id": len(rows), "text": text, "spans": spans})
    for p in phones:
        for _ in range(2):
            a, b = R.choice(pre), R.choice(post)
            lead = R.choice(["", "Please ", "Customer says ", "担当：佐藤　", "Ticket 4411: "])
            t = lead + a + p + b + R.choice(["", " Thanks.", " 2024-03-05", " (old number)"])
            s = len(lead + a)
            add(t, [{"start": s, "end": s + len(p), "type": "PHONE"}])
    for e in emails:
        for _ in range(8):
            a, b = R.choice(epre), R.choice(epost)
            lead = R.choice(["", "Contact ", "担当 ", "Note: "])
            t = lead + a + e + b + R.choice(["", " thanks", " 電話してください"])
            s = len(lead + a)
            add(t, [{"start": s, "end": s + len(e), "type": "EMAIL"}])
    for s, k in neg:
        add(R.choice(["", "Ref ", "see ", "on ", "値 ", "Total: ", "id="]) + s + R.choice(["", ".", " ok", "。"]), [])
    for s in eneg:
        add(R.choice(["", "see ", "file ", "Ping "]) + s + R.choice(["", ".", " ok"]), [])
    return rows


def dev_refill():
    R = random.Random(5)
    rows = {json.loads(l)["id"]: json.loads(l) for l in open(os.path.join(CORPUS, "dev.jsonl"), encoding="utf-8")}
    out = []
    for line in open(os.path.join(CORPUS, "dev.meta.jsonl"), encoding="utf-8"):
        meta = json.loads(line)
        row = rows[meta["id"]]
        for _ in range(4):
            text = list(row["text"])
            for s in meta["spans"]:
                if s["type"] != "PHONE":
                    continue
                fmt = s["sub"].split(" ", 1)[1].replace(" +ext", "").replace(" fullwidth", "")
                span = row["text"][s["start"]:s["end"]]
                if len(fmt) != len(span):
                    continue
                for i, (f, c) in enumerate(zip(fmt, span)):
                    if f == "#":
                        d = R.randint(0, 9)
                        text[s["start"] + i] = chr(0xFF10 + d) if "０" <= c <= "９" else str(d)
            out.append({"id": len(out), "text": "".join(text), "spans": row["spans"]})
    return out


def negatives_refill(count=30000):
    R = random.Random(11)
    rows = {json.loads(l)["id"]: json.loads(l) for l in open(os.path.join(CORPUS, "dev.jsonl"), encoding="utf-8")}
    shapes = []
    for line in open(os.path.join(CORPUS, "dev.meta.jsonl"), encoding="utf-8"):
        meta = json.loads(line)
        text = rows[meta["id"]]["text"]
        for s in meta["spans"]:
            if s["type"] == "NEG":
                shapes.append((s["sub"], text[max(0, s["start"] - 12):s["start"]], text[s["start"]:s["end"]],
                               text[s["end"]:s["end"] + 8]))
    out = []
    for _ in range(count):
        kind, pre, value, post = R.choice(shapes)
        value = re.sub(r"[0-9]", lambda _: R.choice("0123456789"), value)
        if "@" in pre + post or "+" in pre + post:
            continue  # the context may hold part of a real email or phone
        out.append({"id": len(out), "text": pre + value + post, "spans": [], "kind": kind})
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(outdir, exist_ok=True)
    for name, rows in (("stress", stress()), ("dev_refill", dev_refill()), ("negatives_refill", negatives_refill())):
        with open(os.path.join(outdir, name + ".jsonl"), "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{name}.jsonl: {len(rows)} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
