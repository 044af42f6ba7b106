#!/usr/bin/env python3
"""Generates Sources/MaskCore/PhonePlanData.swift from libphonenumber's public metadata.

The metadata (Apache-2.0, Google's libphonenumber, as carried by the `phonenumbers` package on
PyPI) describes every country calling code: the national-number patterns of each number type,
the national (trunk) prefix, the international dialling prefix and how numbers are grouped
when written. `mask` needs that at run time without a regex engine in MaskCore and without
compiling 250 patterns on every start, so this script compiles, offline:

- the union of a region's number-type patterns (fixed line, mobile, toll free, ...) into one
  minimal DFA over the ten digits: validity is then a walk of at most 17 table lookups;
- each number format's leading-digits pattern into a DFA that accepts once a prefix matched,
  and its groups (`(\\d{3})(\\d{3,4})`) into length ranges, so the written grouping of a
  candidate can be checked against the groupings the region really uses.

The patterns use a small regex subset (digits, `\\d`, classes, `(?:…)`, `(…)`, `|`, `?`,
`{n}`, `{n,m}`); anything else stops the script, so a metadata change that needs more is seen.

Usage: python3 -m venv /tmp/pn && /tmp/pn/bin/pip install phonenumbers==VERSION
       /tmp/pn/bin/python scripts/phone-plan/generate.py > Sources/MaskCore/PhonePlanData.swift
"""
import re
import base64
import struct
import sys

import phonenumbers
from phonenumbers import PhoneMetadata

TYPES = ["fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number",
         "voip", "pager", "uan", "voicemail"]


# ---- regex subset -> AST ------------------------------------------------------------------
class Parser:
    def __init__(self, text):
        self.text, self.i = text, 0

    def peek(self):
        return self.text[self.i] if self.i < len(self.text) else None

    def take(self, c=None):
        ch = self.peek()
        if c is not None and ch != c:
            raise ValueError(f"expected {c!r} at {self.i} in {self.text!r}")
        self.i += 1
        return ch

    def parse(self):
        node = self.alternation()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()!r} at {self.i} in {self.text!r}")
        return node

    def alternation(self):
        options = [self.sequence()]
        while self.peek() == "|":
            self.take()
            options.append(self.sequence())
        return ("alt", options) if len(options) > 1 else options[0]

    def sequence(self):
        items = []
        while self.peek() not in (None, "|", ")"):
            items.append(self.repeat())
        return ("seq", items)

    def repeat(self):
        atom = self.atom()
        while True:
            ch = self.peek()
            if ch == "?":
                self.take(); atom = ("rep", atom, 0, 1)
            elif ch == "{":
                self.take(); low = self.number(); high = low
                if self.peek() == ",":
                    self.take(); high = self.number()
                self.take("}"); atom = ("rep", atom, low, high)
            else:
                return atom

    def number(self):
        start = self.i
        while self.peek() is not None and self.peek().isdigit():
            self.i += 1
        if start == self.i:
            raise ValueError(f"unbounded or malformed repeat in {self.text!r}")
        return int(self.text[start:self.i])

    def atom(self):
        ch = self.take()
        if ch == "(":
            capture = True
            if self.peek() == "?":
                self.take(); self.take(":"); capture = False
            inner = self.alternation()
            self.take(")")
            return ("group", inner, capture)
        if ch == "\\":
            self.take("d")
            return ("set", frozenset(range(10)))
        if ch == "[":
            digits = set()
            while self.peek() != "]":
                low = self.take()
                if self.peek() == "-":
                    self.take(); high = self.take()
                    digits |= set(range(int(low), int(high) + 1))
                elif low == "\\":
                    self.take("d"); digits |= set(range(10))
                else:
                    digits.add(int(low))
            self.take("]")
            return ("set", frozenset(digits))
        if ch is not None and ch.isdigit():
            return ("set", frozenset([int(ch)]))
        raise ValueError(f"unsupported {ch!r} in {self.text!r}")



def international_prefixes(meta):
    """The literal international dialling prefixes of a region (see the table's comment)."""
    found = []
    for prefix in (meta.preferred_international_prefix, meta.international_prefix):
        if not prefix:
            continue
        if all(c.isdigit() or c == "~" for c in prefix):
            literal = prefix.replace("~", "")
            if literal not in found:
                found.append(literal)
            continue
        pattern = re.compile(prefix)
        for length in range(2, 5):
            for n in range(10 ** length):
                text = str(n).zfill(length)
                if pattern.fullmatch(text) and text not in found:
                    found.append(text)
    return found[:64]

def strip_groups(node):
    kind = node[0]
    if kind == "group":
        return strip_groups(node[1])
    if kind == "alt":
        return ("alt", [strip_groups(n) for n in node[1]])
    if kind == "seq":
        return ("seq", [strip_groups(n) for n in node[1]])
    if kind == "rep":
        return ("rep", strip_groups(node[1]), node[2], node[3])
    return node


# ---- AST -> NFA -> minimal DFA ------------------------------------------------------------
class NFA:
    def __init__(self):
        self.eps, self.moves = [], []  # per state: [targets], [(digitset, target)]

    def state(self):
        self.eps.append([]); self.moves.append([])
        return len(self.eps) - 1

    def build(self, node, start):
        """Adds `node` from `start`; returns its end state."""
        kind = node[0]
        if kind == "set":
            end = self.state(); self.moves[start].append((node[1], end)); return end
        if kind == "seq":
            for item in node[1]:
                start = self.build(item, start)
            return start
        if kind == "alt":
            end = self.state()
            for option in node[1]:
                self.eps[self.build(option, start)].append(end)
            return end
        if kind == "rep":
            _, inner, low, high = node
            ends = []
            current = start
            for count in range(high):
                if count >= low:
                    ends.append(current)
                current = self.build(inner, current)
            ends.append(current)
            end = self.state()
            for e in ends:
                self.eps[e].append(end)
            return end
        raise ValueError(kind)

    def closure(self, states):
        stack, seen = list(states), set(states)
        while stack:
            for t in self.eps[stack.pop()]:
                if t not in seen:
                    seen.add(t); stack.append(t)
        return frozenset(seen)


def dfa(pattern_texts, prefix=False):
    """Minimal DFA of the union of `pattern_texts`; with `prefix`, accepting states are sinks
    (the leading-digits patterns match a prefix of the number)."""
    nfa = NFA()
    start = nfa.state()
    finals = []
    for text in pattern_texts:
        finals.append(nfa.build(strip_groups(Parser(text).parse()), start))
    finals = set(finals)
    initial = nfa.closure([start])
    index, states, todo = {initial: 0}, [initial], [initial]
    table, accept = [], []
    while todo:
        current = todo.pop(0)
        is_final = bool(current & finals)
        row = []
        for digit in range(10):
            if prefix and is_final:
                row.append(-1); continue
            targets = [t for s in current for (digits, t) in nfa.moves[s] if digit in digits]
            if not targets:
                row.append(-1); continue
            nxt = nfa.closure(targets)
            if nxt not in index:
                index[nxt] = len(states); states.append(nxt); todo.append(nxt)
            row.append(index[nxt])
        table.append(row); accept.append(is_final)
    return minimise(table, accept)


def minimise(table, accept):
    """Moore partition refinement; the dead state is -1 and stays implicit."""
    block = [1 if a else 0 for a in accept]
    while True:
        signature = {}
        new_block = []
        for state, row in enumerate(table):
            key = (block[state], tuple(block[t] if t >= 0 else -1 for t in row))
            new_block.append(signature.setdefault(key, len(signature)))
        if len(signature) == len(set(block)):
            break
        block = new_block
    # renumber so that the initial state is 0
    order = {}
    for state in range(len(table)):
        order.setdefault(block[state], len(order)) if state == 0 else None
    for state in range(len(table)):
        order.setdefault(block[state], len(order))
    count = len(order)
    rows, finals = [None] * count, [False] * count
    for state, row in enumerate(table):
        b = order[block[state]]
        rows[b] = [order[block[t]] if t >= 0 else -1 for t in row]
        finals[b] = accept[state]
    return rows, finals


def digits_by_position(automaton, length):
    """For numbers of `length` digits the automaton accepts: the digits each position holds in
    some of them, as ten-bit masks. This is the plan's structure (NANP: no area code or
    exchange starts with 0 or 1) without its allocations (which blocks are in use)."""
    rows, finals = automaton
    # states from which an accepting state is exactly k steps away
    within = [set(i for i, f in enumerate(finals) if f)]
    for _ in range(length):
        within.append(set(i for i, row in enumerate(rows) if any(t >= 0 and t in within[-1] for t in row)))
    masks, states = [], {0}
    for position in range(length):
        remaining = length - position - 1
        mask, following = 0, set()
        for state in states:
            for digit, target in enumerate(rows[state]):
                if target >= 0 and target in within[remaining]:
                    mask |= 1 << digit
                    following.add(target)
        masks.append(mask)
        states = following
    return masks


def group_lengths(pattern):
    """The length range of each capture group of a format pattern such as (\\d{3})(\\d{3,4})."""
    node = Parser(pattern).parse()
    items = node[1] if node[0] == "seq" else [node]
    groups = []
    for item in items:
        if item[0] != "group" or not item[2]:
            raise ValueError(f"format pattern with text outside groups: {pattern!r}")
        groups.append(length_range(item[1]))
    return groups


def length_range(node):
    kind = node[0]
    if kind == "set":
        return (1, 1)
    if kind == "group":
        return length_range(node[1])
    if kind == "seq":
        low = high = 0
        for item in node[1]:
            a, b = length_range(item); low += a; high += b
        return (low, high)
    if kind == "alt":
        ranges = [length_range(n) for n in node[1]]
        return (min(r[0] for r in ranges), max(r[1] for r in ranges))
    if kind == "rep":
        a, b = length_range(node[1])
        return (a * node[2], b * node[3])
    raise ValueError(kind)


# ---- the blob -----------------------------------------------------------------------------
def main():
    entries = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        entries.append((region, PhoneMetadata.metadata_for_region(region)))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        entries.append(("001", PhoneMetadata.metadata_for_nongeo_region(code)))

    dfas, dfa_index = [], {}

    def add_dfa(texts, prefix):
        key = (tuple(texts), prefix)
        if key not in dfa_index:
            dfa_index[key] = len(dfas)
            dfas.append(dfa(list(texts), prefix))
        return dfa_index[key]

    out = bytearray()
    out += struct.pack("<H", len(entries))
    for region, meta in entries:
        patterns = [getattr(meta, t).national_number_pattern for t in TYPES
                    if getattr(meta, t) is not None and getattr(meta, t).national_number_pattern]
        valid = add_dfa(patterns, False)
        main_region = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code, ("",))[0] == region
        national_prefix = (meta.national_prefix or "").encode()
        # The prefixes dialled before a country code from inside the region, comma-separated:
        # a literal one as given (`011`, `0011`, `8~10`: the `~` is "wait for the tone"), a
        # pattern (SG `0[0-3]\d`, AU `001[14-689]|...`) as every string of up to four digits
        # it matches (the longer carrier-select forms are left out), the preferred one first.
        idd = b",".join(p.encode() for p in international_prefixes(meta))
        formats = []
        # Regions that share a calling code with its main region (CA, and the Caribbean under
        # +1; JE, GG, IM under +44) carry no formats of their own: they write as the main one.
        number_formats = meta.number_format
        if not number_formats:
            main = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code, ("",))[0]
            if main and main != region and main != "001":
                number_formats = PhoneMetadata.metadata_for_region(main).number_format
        for number_format in number_formats:
            leading = number_format.leading_digits_pattern
            leading_dfa = add_dfa([leading[-1]], True) if leading else 0xFFFF
            # Whether the national form writes the trunk prefix (`0\\1`, `(0\\1)`; BR's `(\\1)`
            # and NANP's none do not), and whether it may be left out (IN `0\\1`, optional).
            rule = number_format.national_prefix_formatting_rule or ""
            prefix_written = bool(meta.national_prefix) and rule.replace("(", "").startswith(meta.national_prefix)
            optional = bool(number_format.national_prefix_optional_when_formatting)
            groups = group_lengths(number_format.pattern)
            formats.append((leading_dfa, (1 if prefix_written else 0) | (2 if optional else 0), groups))
        out += region.encode().ljust(3, b" ")
        # The lengths of the region's fixed-line and mobile numbers (people's numbers), for an
        # international number the plan does not hold yet (a block allocated after this
        # metadata, a typo in one digit): `+33 6 94 58 30 47` is masked by its shape, while a
        # length no subscriber number has (a ten-digit Ukrainian number) is not.
        lengths = 0
        for desc in (meta.fixed_line, meta.mobile):
            if desc is None or not desc.national_number_pattern:
                continue
            # A type without lengths of its own has the general description's.
            for length in desc.possible_length or meta.general_desc.possible_length or ():
                if length > 0:
                    lengths |= 1 << length
        out += struct.pack("<HHBB", meta.country_code, valid, len(national_prefix), 1 if main_region else 0)
        # ... and the digits each position of such a length holds in some of them, so a
        # number no block of the plan could hold (+1 800-123-4567: no exchange starts with 1) is
        # still refused.
        personal = [d.national_number_pattern for d in (meta.fixed_line, meta.mobile) if d is not None and d.national_number_pattern]
        personal_dfa = dfa(personal) if personal else None
        shapes = [(length, digits_by_position(personal_dfa, length)) for length in range(1, 32) if lengths >> length & 1]
        shapes = [(length, masks) for length, masks in shapes if all(masks)]
        out += struct.pack("<B", len(shapes))
        for length, masks in shapes:
            out += struct.pack("<B", length) + struct.pack(f"<{length}H", *masks)
        out += national_prefix
        out += struct.pack("<H", len(idd)) + idd
        out += struct.pack("<B", len(formats))
        for leading_dfa, flags, groups in formats:
            out += struct.pack("<HBB", leading_dfa, flags, len(groups))
            for low, high in groups:
                out += struct.pack("<BB", low, high)
    out += struct.pack("<H", len(dfas))
    for rows, finals in dfas:
        out += struct.pack("<H", len(rows))
        for row, final in zip(rows, finals):
            out += struct.pack("<B", 1 if final else 0)
            out += struct.pack("<10H", *[(t if t >= 0 else 0xFFFF) for t in row])

    encoded = base64.b64encode(bytes(out)).decode()
    lines = [encoded[i:i + 120] for i in range(0, len(encoded), 120)]
    sys.stdout.write(
        "// Generated by scripts/phone-plan/generate.py from libphonenumber's metadata\n"
        f"// (phonenumbers {phonenumbers.__version__}, Apache-2.0; see NOTICE). Do not edit.\n"
        f"// {len(entries)} regions, {len(dfas)} DFAs, {sum(len(r) for r, _ in dfas)} states, {len(out)} bytes.\n\n"
        "extension PhonePlan {\n"
        f"    static let metadataVersion = \"{phonenumbers.__version__}\"\n"
        "    static let encoded: StaticString = \"\"\"\n"
        + "\n".join(lines) + "\n"
        "\"\"\"\n"
        "}\n")


if __name__ == "__main__":
    main()
