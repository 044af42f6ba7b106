#!/usr/bin/env python3
"""Deterministic generator of a realistic "production extract" for benchmarking `mask`.

Pure Python standard library. The same --seed and --rows always give byte-identical output,
and the CSV and JSONL files made with the same seed hold the same records (the JSONL records
additionally carry an `orders` array, drawn from a separate random stream).

    python3 benchmarks/generate.py --rows 1000000 --format csv   --output data/extract.csv
    python3 benchmarks/generate.py --rows 1000000 --format jsonl --output data/extract.jsonl

CSV: header row, RFC 4180 quoting (minimal; quotes doubled), LF line endings, UTF-8 columns
    id,created_at,full_name,email,phone,amount,currency,country,user_agent,notes
JSONL: one object per line
    {"id":…,"created_at":…,"name":…,"contact":{"email":…,"phone":…},"amount":…,
     "currency":…,"country":…,"user_agent":…,"notes":…,"orders":[{"order_id":…,"phone":…}]}
    (a missing phone is "" in CSV and null in JSONL; amount is a JSON number).

1M rows are about 200 MB of CSV.
"""

import argparse
import csv
import json
import random
import sys
import time
import unicodedata

CSV_HEADER = ["id", "created_at", "full_name", "email", "phone", "amount",
              "currency", "country", "user_agent", "notes"]

BATCH = 20000

# --------------------------------------------------------------------------------------
# Static pools
# --------------------------------------------------------------------------------------

WESTERN_FIRST = (
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa "
    "Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily "
    "Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Oliver Amelia Harry Isla Jack Ava Noah Mia Leo Freya Lukas Hannah Jonas Lena Felix "
    "Mila Hugo Chloé Louis Léa Gabriel Inès Raphaël Zoë Renée José Sofía Mateo Lucía "
    "Mary-Jane Jean-Luc Anna-Lena Seán Siobhán Björn Jörg Åsa Ingrid Pieter Daan Sanne"
).split()

WESTERN_LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "O'Connor O'Brien McDonald MacLeod Smith-Jones Fitzgerald-Hart Müller Schmidt Schneider "
    "Fischer Weber Meyer Wagner Becker Schäfer Koch Dubois Lefèvre Moreau Laurent Girard "
    "Bonnet Rousseau García Fernández Martínez López Rossi Russo Bianchi Ferrari Esposito "
    "Jansen Bakker Visser Kowalski Nowak Andersson Johansson Nielsen "
    "Kim Park Chen Wang Li Zhang Liu Tran Pham Nakamura"
).split() + ["de Vries", "van der Berg", "van Dijk", "de la Cruz", "St. John"]

INDIAN_FIRST = ("Aarav Vivaan Aditya Arjun Rahul Rohan Vikram Sanjay Amit Rajesh Priya Ananya "
                "Diya Kavya Sneha Pooja Neha Anjali Lakshmi Deepika Ishaan Karthik Meera").split()
INDIAN_LAST = ("Sharma Verma Gupta Patel Singh Kumar Reddy Iyer Nair Rao Khan Das Mehta "
               "Joshi Chopra Banerjee Mukherjee Pillai Menon Agarwal").split()

JP_FAMILY = [
    ("佐藤", "Sato"), ("鈴木", "Suzuki"), ("高橋", "Takahashi"), ("田中", "Tanaka"),
    ("伊藤", "Ito"), ("渡辺", "Watanabe"), ("山本", "Yamamoto"), ("中村", "Nakamura"),
    ("小林", "Kobayashi"), ("加藤", "Kato"), ("吉田", "Yoshida"), ("山田", "Yamada"),
    ("佐々木", "Sasaki"), ("山口", "Yamaguchi"), ("松本", "Matsumoto"), ("井上", "Inoue"),
    ("木村", "Kimura"), ("林", "Hayashi"), ("斎藤", "Saito"), ("清水", "Shimizu"),
    ("山崎", "Yamazaki"), ("森", "Mori"), ("池田", "Ikeda"), ("橋本", "Hashimoto"),
    ("阿部", "Abe"), ("石川", "Ishikawa"), ("山下", "Yamashita"), ("中島", "Nakajima"),
    ("前田", "Maeda"), ("藤田", "Fujita"), ("小川", "Ogawa"), ("後藤", "Goto"),
    ("岡田", "Okada"), ("長谷川", "Hasegawa"), ("村上", "Murakami"), ("近藤", "Kondo"),
]
JP_GIVEN = [
    ("太郎", "Taro"), ("花子", "Hanako"), ("翔太", "Shota"), ("陽菜", "Hina"),
    ("大輔", "Daisuke"), ("美咲", "Misaki"), ("健太", "Kenta"), ("さくら", "Sakura"),
    ("拓也", "Takuya"), ("結衣", "Yui"), ("蓮", "Ren"), ("葵", "Aoi"), ("大翔", "Hiroto"),
    ("陽翔", "Haruto"), ("由美", "Yumi"), ("直樹", "Naoki"), ("恵", "Megumi"),
    ("誠", "Makoto"), ("裕子", "Yuko"), ("浩", "Hiroshi"), ("明美", "Akemi"),
    ("和也", "Kazuya"), ("真由美", "Mayumi"), ("悠真", "Yuma"), ("凛", "Rin"),
    ("一郎", "Ichiro"), ("智子", "Tomoko"), ("隆", "Takashi"), ("愛", "Ai"), ("翼", "Tsubasa"),
]

EMAIL_WORDS = ("sunny blue red dragon tiger panda ninja coffee pixel quantum rocket maple "
               "sakura ocean river storm shadow lucky happy silver golden wolf fox cat "
               "dev admin info hello mail user test neko hoshi").split()
EMAIL_TAGS = "shop news work bank amazon 2024 spam receipts billing travel rakuten promo".split()

# (domain, weight)
EMAIL_DOMAINS = [
    ("gmail.com", 30), ("yahoo.com", 6), ("outlook.com", 7), ("hotmail.com", 4),
    ("hotmail.co.uk", 2), ("icloud.com", 6), ("me.com", 1), ("yahoo.co.jp", 5),
    ("docomo.ne.jp", 2), ("ezweb.ne.jp", 1), ("softbank.ne.jp", 1), ("i.softbank.jp", 1),
    ("gmx.de", 2), ("web.de", 2), ("t-online.de", 1), ("orange.fr", 2), ("free.fr", 1),
    ("laposte.net", 1), ("proton.me", 2), ("protonmail.com", 1), ("rediffmail.com", 1),
    ("btinternet.com", 1), ("live.co.uk", 1), ("aol.com", 1), ("fastmail.fm", 1),
    ("mail.acme-corp.com", 2), ("eu.mail.globex-industries.io", 1), ("sales.initech.co.jp", 1),
    ("students.cs.univ-tokyo.ac.jp", 1), ("alumni.stanford.edu", 1), ("nhs.net", 1),
    ("corp.example-bank.co.uk", 1), ("dept.kyoto-u.ac.jp", 1), ("studio-lumiere.photography", 1),
    ("northwind.technology", 1), ("blue-harbor.consulting", 1), ("kitchen.restaurant", 1),
    ("globalaid.international", 1), ("wanderlust.travel", 1), ("myshop.store", 1),
    ("x.team", 1), ("mail.ru", 1), ("qq.com", 1), ("naver.com", 1), ("uol.com.br", 1),
]

# (code, weight, currency, name-style)
COUNTRIES = [
    ("US", 30, "USD", "w"), ("JP", 20, "JPY", "j"), ("GB", 12, "GBP", "w"),
    ("DE", 10, "EUR", "w"), ("FR", 8, "EUR", "w"), ("IN", 8, "INR", "i"),
    ("CA", 4, "CAD", "w"), ("AU", 3, "AUD", "w"), ("NL", 2, "EUR", "w"),
    ("ES", 2, "EUR", "w"), ("SG", 1, "SGD", "w"),
]
OTHER_CURRENCIES = ["USD", "EUR", "USD", "EUR", "GBP", "JPY", "CHF", "SEK", "KRW", "BRL"]

US_AREA = [201, 202, 206, 212, 213, 305, 310, 312, 347, 404, 415, 424, 469, 503, 512, 602,
           617, 646, 650, 702, 713, 718, 773, 786, 805, 818, 858, 917, 929, 949]
JP_MOBILE = ["090", "080", "070"]
JP_AREA = [("03", 4), ("06", 4), ("045", 2), ("052", 2), ("011", 1), ("092", 1), ("075", 1), ("0120", 1)]

CITIES = [("Springfield", "62704"), ("Portland", "97205"), ("Austin", "78701"), ("Leeds", "LS1 4AP"),
          ("Berlin", "10115"), ("Lyon", "69002"), ("Osaka", "530-0001"), ("Toronto", "M5V 2T6"),
          ("Mumbai", "400001"), ("Sydney", "2000"), ("Utrecht", "3511 LX"), ("Sevilla", "41001")]
STREETS = ["Main St", "Oak Avenue", "High Street", "Hauptstraße", "rue de la Paix", "Elm Road",
           "Station Rd", "Calle Mayor", "Baker Street", "King's Road", "1-2-3 Umeda", "Lakeview Dr"]
AGENTS = ["alice", "bob", "carol", "dmitri", "emi", "farah", "gustavo", "hana", "ivan", "jun",
          "kate", "liam", "ops-bot", "support-tier2"]
PRODUCTS = ["wireless earbuds", "USB-C hub", "coffee grinder", "yoga mat", "4K monitor",
            "standing desk", "rice cooker", "running shoes", "phone case", "gift card",
            "office chair", "e-reader", "water bottle", "backpack"]
COMPLAINTS = ["the box was crushed", "wrong size, need a M", "never received it",
              "charged twice", "item is scratched", "not as described", "arrived late",
              "I want a refund", "missing parts", "works great, thanks!"]
JP_NOTES = ["配送日時の変更依頼あり。", "返品受付済み、返金処理中。", "ギフト包装を希望。",
            "不在のため再配達を依頼。", "領収書の再発行を希望されています。", "住所変更済み。",
            "お問い合わせ対応完了。", "商品に傷あり、交換対応。"]
PLAIN_NOTES = ["VIP customer.", "Prefers email contact.", "Do not call before 9am.",
               "Gift order.", "Fraud check passed.", "Address verified.",
               "Requested invoice copy.", "Loyalty tier: gold.", "Chargeback opened.",
               "Subscription paused.", "Asked about bulk pricing.", "Newsletter opt-out.",
               "Duplicate account merged.", "Tax exempt certificate on file."]


def ascii_fold(s):
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")
    return "".join(c for c in s.lower() if c.isalnum())


def expand(weighted):
    out = []
    for item, w in weighted:
        out.extend([item] * w)
    return out


# --------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------

class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.orders_rng = random.Random(seed * 7919 + 17)
        rng = self.rng
        self.rnd = rng.random
        self.build_user_agents()
        self.western = [(f, ascii_fold(f)) for f in WESTERN_FIRST], [(l, ascii_fold(l)) for l in WESTERN_LAST]
        self.indian = [(f, f.lower()) for f in INDIAN_FIRST], [(l, l.lower()) for l in INDIAN_LAST]
        self.countries = expand([((c, cur, style), w) for c, w, cur, style in COUNTRIES])
        self.domains = expand(EMAIL_DOMAINS)
        self.jp_area = expand(JP_AREA)
        self.start_ts = 1672531200  # 2023-01-01T00:00:00Z
        self.day_strings = []
        import datetime as _dt
        d0 = _dt.date(2023, 1, 1)
        for i in range(800):
            self.day_strings.append((d0 + _dt.timedelta(days=i)).isoformat())
        self.phone_fmts = {
            "US": self.phone_us, "CA": self.phone_us, "JP": self.phone_jp, "GB": self.phone_uk,
            "DE": self.phone_de, "FR": self.phone_fr, "IN": self.phone_in, "AU": self.phone_au,
            "NL": self.phone_nl, "ES": self.phone_es, "SG": self.phone_sg,
        }
        self.phone_fmt_list = list(self.phone_fmts.values())
        self.neg_frags = [
            (self.f_order, 6), (self.f_refund, 4), (self.f_login, 3), (self.f_upgrade, 2),
            (self.f_ticket, 3), (self.f_batch, 2), (self.f_tracking, 2), (self.f_address, 3),
            (self.f_quote, 2), (self.f_payment, 2), (self.f_sku, 2), (self.f_jp, 3),
            (self.f_plain, 6), (self.f_window, 1), (self.f_serial, 1),
        ]
        self.neg_frags = expand(self.neg_frags)
        self.pos_frags = expand([
            (self.p_email_invoice, 3), (self.p_callback, 3), (self.p_alt_contact, 2),
            (self.p_voicemail, 2), (self.p_jp_phone, 2), (self.p_forwarded, 2), (self.p_both, 1),
            (self.p_sms, 1),
        ])

    # ---- user agents -----------------------------------------------------------------
    def build_user_agents(self):
        rng = self.rng
        ri = rng.randint
        pool = []

        def chrome_v():
            m = ri(110, 126)
            return f"{m}.0.{ri(5400, 6500)}.{ri(40, 220)}"

        def add(ua, w):
            pool.extend([ua] * w)

        android_devices = ["SM-S918B", "SM-A546E", "Pixel 7", "Pixel 8 Pro", "K", "moto g(60)",
                           "SO-51C", "SH-53C", "2201117TG", "CPH2449", "SM-G991U", "M2102J20SG"]
        for _ in range(150):
            cv = chrome_v()
            ios = f"{ri(15, 17)}_{ri(0, 6)}" + ("" if rng.random() < 0.5 else f"_{ri(1, 3)}")
            ios_dot = ios.replace("_", ".")
            ffv = f"{ri(115, 126)}.0"
            add(f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{cv} Safari/537.36", 8)
            add(f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{cv} Safari/537.36", 4)
            add(f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{cv} Safari/537.36", 1)
            add(f"Mozilla/5.0 (Linux; Android {ri(10, 14)}; {rng.choice(android_devices)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{cv} Mobile Safari/537.36", 7)
            add(f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{ios_dot} Mobile/15E148 Safari/604.1", 9)
            add(f"Mozilla/5.0 (iPad; CPU OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{ios_dot} Mobile/15E148 Safari/604.1", 1)
            add(f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{ios_dot} Safari/605.1.15", 2)
            add(f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{ffv}) Gecko/20100101 Firefox/{ffv}", 2)
            add(f"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:{ffv}) Gecko/20100101 Firefox/{ffv}", 1)
            add(f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{cv} Safari/537.36 Edg/{cv}", 3)
            add(f"Mozilla/5.0 (Linux; Android {ri(11, 14)}; {rng.choice(android_devices)}) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/{ri(20, 25)}.0 Chrome/{cv} Mobile Safari/537.36", 1)
            add(f"MyShop/{ri(4, 6)}.{ri(0, 20)}.{ri(0, 9)} (com.example.myshop; build:{ri(40000, 69999)}; iOS {ios_dot}) Alamofire/5.{ri(6, 9)}.{ri(0, 3)}", 4)
            add(f"MyShop/{ri(4, 6)}.{ri(0, 20)}.{ri(0, 9)} (Android {ri(10, 14)}; {rng.choice(android_devices)}) okhttp/4.{ri(9, 12)}.{ri(0, 3)}", 4)
            add(f"okhttp/4.{ri(9, 12)}.{ri(0, 3)}", 1)
            add(f"Dalvik/2.1.0 (Linux; U; Android {ri(10, 14)}; {rng.choice(android_devices)} Build/TQ3A.{ri(230101, 240601)}.{ri(1, 9):03d})", 1)
            add(f"python-requests/2.{ri(25, 32)}.{ri(0, 3)}", 1)
            add(f"curl/8.{ri(0, 8)}.{ri(0, 1)}", 1)
        pool.extend(["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"] * 20)
        pool.extend(["Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"] * 10)
        # server-side / back-office rows without a user agent
        pool.extend([""] * (len(pool) * 2 // 3))
        self.user_agents = pool

    # ---- small helpers ---------------------------------------------------------------
    def d(self, n):
        """n random digits as a string (leading zeros allowed)."""
        return str(int(self.rnd() * 10 ** n)).zfill(n)

    def date(self):
        return self.day_strings[int(self.rnd() * 800)]

    def amount_cents(self):
        r = self.rnd()
        if r < 0.55:
            c = int(self.rnd() * 9000) + 99
        elif r < 0.90:
            c = int(self.rnd() * 90000) + 1000
        elif r < 0.98:
            c = int(self.rnd() * 900000) + 10000
        else:
            c = int(self.rnd() * 9000000) + 100000
        return c

    @staticmethod
    def fmt_amount(c):
        return f"{c // 100}.{c % 100:02d}"

    def order_no(self):
        return f"ORD-{2023 + int(self.rnd() * 3)}-{int(self.rnd() * 1000000):06d}"

    def ipv4(self):
        r = self.rnd
        r0 = r()
        if r0 < 0.3:
            return f"192.168.{int(r() * 256)}.{int(r() * 254) + 1}"
        if r0 < 0.5:
            return f"10.{int(r() * 256)}.{int(r() * 256)}.{int(r() * 254) + 1}"
        return f"{int(r() * 223) + 1}.{int(r() * 256)}.{int(r() * 256)}.{int(r() * 254) + 1}"

    def version(self):
        r = self.rnd
        if r() < 0.6:
            return f"{int(r() * 6) + 1}.{int(r() * 20)}.{int(r() * 10)}"
        return f"{int(r() * 130)}.0.{int(r() * 7000)}.{int(r() * 200)}"

    # ---- phones ----------------------------------------------------------------------
    def phone_us(self):
        r = self.rnd
        a = US_AREA[int(r() * len(US_AREA))]
        e = int(r() * 800) + 200
        l = self.d(4)
        k = r()
        if k < 0.30:
            return f"+1 ({a}) {e}-{l}"
        if k < 0.50:
            return f"{a}.{e}.{l}"
        if k < 0.75:
            return f"{a}-{e}-{l}"
        if k < 0.88:
            return f"({a}) {e}-{l}"
        if k < 0.95:
            return f"+1{a}{e}{l}"
        return f"+1-{a}-{e}-{l}"

    def phone_jp(self):
        r = self.rnd
        k = r()
        if k < 0.55:
            p = JP_MOBILE[int(r() * 3)]
            m, l = self.d(4), self.d(4)
            k2 = r()
            if k2 < 0.6:
                return f"{p}-{m}-{l}"
            if k2 < 0.85:
                return f"+81 {p[1:]}-{m}-{l}"
            return f"{p}{m}{l}"
        area = self.jp_area[int(r() * len(self.jp_area))]
        if area == "0120":
            return f"0120-{self.d(3)}-{self.d(3)}"
        mid = self.d(6 - len(area))
        l = self.d(4)
        if r() < 0.8:
            return f"{area}-{mid}-{l}"
        return f"+81-{area[1:]}-{mid}-{l}"

    def phone_uk(self):
        r = self.rnd
        k = r()
        if k < 0.30:
            return f"+44 20 {int(r() * 9000) + 1000} {self.d(4)}"
        if k < 0.55:
            return f"020 {int(r() * 9000) + 1000} {self.d(4)}"
        if k < 0.80:
            return f"+44 7{self.d(3)} {self.d(6)}"
        return f"07{self.d(3)} {self.d(6)}"

    def phone_de(self):
        r = self.rnd
        k = r()
        if k < 0.35:
            return f"+49 30 {int(r() * 90000000) + 10000000}"
        if k < 0.55:
            return f"030 {int(r() * 9000000) + 1000000}"
        if k < 0.85:
            return f"+49 15{int(r() * 10)} {self.d(8)}"
        return f"015{int(r() * 10)} {self.d(8)}"

    def phone_fr(self):
        r = self.rnd
        k = r()
        first = int(r() * 5) + 1 if r() < 0.5 else (6 if r() < 0.7 else 7)
        body = f"{self.d(2)} {self.d(2)} {self.d(2)} {self.d(2)}"
        if k < 0.55:
            return f"+33 {first} {body}"
        return f"0{first} {body}"

    def phone_in(self):
        r = self.rnd
        a = f"{int(r() * 4) + 6}{self.d(4)}"
        b = self.d(5)
        k = r()
        if k < 0.6:
            return f"+91 {a} {b}"
        if k < 0.8:
            return f"+91-{a}-{b}"
        if k < 0.9:
            return f"0{a} {b}"
        return f"{a}{b}"

    def phone_au(self):
        return f"+61 4{self.d(2)} {self.d(3)} {self.d(3)}" if self.rnd() < 0.6 else f"04{self.d(2)} {self.d(3)} {self.d(3)}"

    def phone_nl(self):
        return f"+31 6 {self.d(8)}" if self.rnd() < 0.6 else f"06-{self.d(8)}"

    def phone_es(self):
        return f"+34 6{self.d(2)} {self.d(2)} {self.d(2)} {self.d(2)}"

    def phone_sg(self):
        return f"+65 {int(self.rnd() * 2) + 8}{self.d(3)} {self.d(4)}"

    def any_phone(self):
        return self.phone_fmt_list[int(self.rnd() * len(self.phone_fmt_list))]()

    # ---- names and emails ------------------------------------------------------------
    def person(self, style):
        """Returns (display name, first_ascii, last_ascii)."""
        r = self.rnd
        if style == "j":
            fam_k, fam_r = JP_FAMILY[int(r() * len(JP_FAMILY))]
            giv_k, giv_r = JP_GIVEN[int(r() * len(JP_GIVEN))]
            k = r()
            if k < 0.40:
                name = f"{fam_k} {giv_k}"
            elif k < 0.50:
                name = fam_k + giv_k
            elif k < 0.80:
                name = f"{giv_r} {fam_r}"
            elif k < 0.90:
                name = f"{fam_r.upper()} {giv_r}"
            else:
                name = f"{fam_r}, {giv_r}"
            return name, giv_r.lower(), fam_r.lower()
        firsts, lasts = self.indian if style == "i" else self.western
        f, fa = firsts[int(r() * len(firsts))]
        l, la = lasts[int(r() * len(lasts))]
        k = r()
        if k < 0.78:
            name = f"{f} {l}"
        elif k < 0.87:
            name = f"{l}, {f}"
        elif k < 0.93:
            name = f"{f} {chr(65 + int(r() * 26))}. {l}"
        elif k < 0.96:
            name = f"{f} {l}".upper()
        elif k < 0.98:
            name = f"Dr. {f} {l}"
        else:
            name = f"{l}, {f} {chr(65 + int(r() * 26))}."
        return name, fa, la

    def email(self, first, last):
        r = self.rnd
        k = r()
        if k < 0.25:
            local = f"{first}.{last}"
        elif k < 0.45:
            local = f"{first}{last}{int(r() * 100)}"
        elif k < 0.55:
            local = f"{first[:1]}{last}"
        elif k < 0.62:
            local = f"{first}_{last}"
        elif k < 0.70:
            local = f"{first}.{last}+{EMAIL_TAGS[int(r() * len(EMAIL_TAGS))]}"
        elif k < 0.78:
            local = f"{last}.{first}{int(r() * 90) + 10}"
        elif k < 0.90:
            local = f"{EMAIL_WORDS[int(r() * len(EMAIL_WORDS))]}{EMAIL_WORDS[int(r() * len(EMAIL_WORDS))]}{int(r() * 1000)}"
        else:
            local = f"{first}{int(r() * 100000)}"
        dom = self.domains[int(r() * len(self.domains))]
        k = r()
        if k < 0.03:
            return f"{local}@{dom}".upper()
        if k < 0.07:
            return f"{local[:1].upper()}{local[1:]}@{dom[:1].upper()}{dom[1:]}"
        return f"{local}@{dom}"

    def random_email(self):
        style = "j" if self.rnd() < 0.3 else "w"
        _, f, l = self.person(style)
        return self.email(f, l)

    # ---- notes fragments -------------------------------------------------------------
    def f_order(self):
        return f"Order {self.order_no()} shipped on {self.date()}."

    def f_refund(self):
        return f"Refund of {self.fmt_amount(self.amount_cents())} {OTHER_CURRENCIES[int(self.rnd() * 10)]} issued for {self.order_no()}."

    def f_login(self):
        return f"Login from {self.ipv4()} using app v{self.version()}."

    def f_upgrade(self):
        return f"Upgraded to plan v{self.version()}, invoice total {self.fmt_amount(self.amount_cents())}."

    def f_ticket(self):
        return f"Ticket #{int(self.rnd() * 900000) + 100000} closed by {AGENTS[int(self.rnd() * len(AGENTS))]}."

    def f_batch(self):
        return f"Batch {self.date().replace('-', '')}-{self.d(4)} processed, {int(self.rnd() * 500) + 1} items."

    def f_tracking(self):
        return f"Tracking 1Z{self.d(3)}AA1{self.d(10)} via UPS, ETA {self.date()}."

    def f_address(self):
        city, zp = CITIES[int(self.rnd() * len(CITIES))]
        return f"Address updated: {int(self.rnd() * 2000) + 1} {STREETS[int(self.rnd() * len(STREETS))]}, {city} {zp}."

    def f_quote(self):
        return f'Customer wrote: "{COMPLAINTS[int(self.rnd() * len(COMPLAINTS))]}" re {PRODUCTS[int(self.rnd() * len(PRODUCTS))]}.'

    def f_payment(self):
        return f"Payment retried {int(self.rnd() * 5) + 1} times, last attempt {self.date()} {int(self.rnd() * 24):02d}:{int(self.rnd() * 60):02d} UTC."

    def f_sku(self):
        return f"SKU {chr(65 + int(self.rnd() * 26))}{chr(65 + int(self.rnd() * 26))}-{self.d(3)}-{self.d(4)} backordered until {self.date()}."

    def f_jp(self):
        return JP_NOTES[int(self.rnd() * len(JP_NOTES))]

    def f_plain(self):
        return PLAIN_NOTES[int(self.rnd() * len(PLAIN_NOTES))]

    def f_window(self):
        h = int(self.rnd() * 10) + 8
        return f"Delivery window {h:02d}:00-{h + 3:02d}:00 requested."

    def f_serial(self):
        return f"Device serial SN{int(self.rnd() * 9000000000) + 1000000000}, firmware {self.version()}."

    def p_email_invoice(self):
        return f"Customer asked to send invoices to {self.random_email()} from now on."

    def p_callback(self):
        return f"Call back on {self.any_phone()} after 6pm."

    def p_alt_contact(self):
        name, f, l = self.person("w" if self.rnd() < 0.7 else "j")
        return f"Alt contact: {name} <{self.email(f, l)}>."

    def p_voicemail(self):
        return f"Left voicemail at {self.any_phone()}, no answer."

    def p_jp_phone(self):
        return f"連絡先変更: {self.phone_jp()}"

    def p_forwarded(self):
        return f"Forwarded from {self.random_email()}, see thread."

    def p_both(self):
        return f"Please reach me at {self.any_phone()} or {self.random_email()}."

    def p_sms(self):
        return f"SMS to {self.any_phone()} bounced."

    def notes(self):
        r = self.rnd
        k = r()
        if k < 0.40:
            return ""
        k2 = r()
        nfrag = 1 if k2 < 0.70 else (2 if k2 < 0.94 else 3)
        neg = self.neg_frags
        frags = [neg[int(r() * len(neg))]() for _ in range(nfrag)]
        # ~20% of all rows (k in [0.40, 0.60)) mention an email or a phone
        if k < 0.60:
            pos = self.pos_frags
            frags.insert(int(r() * (nfrag + 1)), pos[int(r() * len(pos))]())
        if r() < 0.05:
            return "\n".join(frags)
        return " ".join(frags)

    # ---- records ---------------------------------------------------------------------
    def records(self, rows):
        """Yields tuples (id, created_at, name, email, phone, amount_cents, currency,
        country, user_agent, notes)."""
        r = self.rnd
        countries = self.countries
        nc = len(countries)
        uas = self.user_agents
        nua = len(uas)
        phone_fmts = self.phone_fmts
        any_phone = self.any_phone
        day_strings = self.day_strings
        span = 730 * 86400
        step = span / max(rows, 1)
        for i in range(1, rows + 1):
            country, cur, style = countries[int(r() * nc)]
            if style == "w" and r() < 0.05:
                style = "j"
            name, fa, la = self.person(style)
            if r() < 0.8:
                email = self.email(fa, la)
            else:
                email = self.random_email()
            k = r()
            if k < 0.05:
                phone = ""
            elif k < 0.90:
                phone = phone_fmts[country]()
            else:
                phone = any_phone()
            if r() < 0.08:
                cur = OTHER_CURRENCIES[int(r() * 10)]
            secs = int(i * step + r() * 3600)
            day, rem = divmod(secs, 86400)
            h, rem = divmod(rem, 3600)
            m, s = divmod(rem, 60)
            created = f"{day_strings[day]} {h:02d}:{m:02d}:{s:02d}+00"
            yield (i, created, name, email, phone, self.amount_cents(), cur, country,
                   uas[int(r() * nua)], self.notes())

    def orders(self, phone):
        """Order list for the JSONL format, drawn from a separate random stream so the base
        records stay identical to the CSV ones."""
        o = self.orders_rng.random
        k = o()
        n = 0 if k < 0.35 else (1 if k < 0.8 else 2)
        out = []
        for _ in range(n):
            oid = f"ORD-{2023 + int(o() * 3)}-{int(o() * 1000000):06d}"
            k2 = o()
            if k2 < 0.6 and phone:
                ph = phone
            elif k2 < 0.9:
                # delivery phone for a different recipient; reuse main stream formatters
                # through a temporary swap so orders never touch the base stream
                saved = self.rnd
                self.rnd = o
                try:
                    ph = self.any_phone()
                finally:
                    self.rnd = saved
            else:
                ph = None
            out.append({"order_id": oid, "phone": ph})
        return out


def write_csv(gen, rows, out):
    w = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(CSV_HEADER)
    batch = []
    fmt_amount = Generator.fmt_amount
    for rec in gen.records(rows):
        batch.append((rec[0], rec[1], rec[2], rec[3], rec[4], fmt_amount(rec[5]),
                      rec[6], rec[7], rec[8], rec[9]))
        if len(batch) >= BATCH:
            w.writerows(batch)
            batch.clear()
    if batch:
        w.writerows(batch)


def write_jsonl(gen, rows, out):
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    lines = []
    for (i, created, name, email, phone, cents, cur, country, ua, notes) in gen.records(rows):
        obj = {
            "id": i,
            "created_at": created,
            "name": name,
            "contact": {"email": email, "phone": phone or None},
            "amount": cents / 100,
            "currency": cur,
            "country": country,
            "user_agent": ua,
            "notes": notes,
            "orders": gen.orders(phone),
        }
        lines.append(dumps(obj))
        if len(lines) >= BATCH:
            lines.append("")
            out.write("\n".join(lines))
            lines.clear()
    if lines:
        lines.append("")
        out.write("\n".join(lines))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    ap.add_argument("--output", default="-", help="output file ('-' = stdout)")
    ap.add_argument("--seed", type=int, default=20240305)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    gen = Generator(args.seed)
    if args.output == "-":
        out = open(sys.stdout.fileno(), "w", encoding="utf-8", newline="", buffering=1 << 20, closefd=False)
    else:
        out = open(args.output, "w", encoding="utf-8", newline="", buffering=1 << 20)
    with out:
        (write_csv if args.format == "csv" else write_jsonl)(gen, args.rows, out)
    if not args.quiet and args.output != "-":
        import os
        size = os.path.getsize(args.output)
        print(f"generate.py: {args.rows} rows {args.format} -> {args.output} "
              f"({size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
