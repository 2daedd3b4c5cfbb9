#!/usr/bin/env python3
"""The numbers of issue 18's closing note, for the tree this is run in (python3, stdlib).

    python3 tests/arch/metrics.py [ROOT]      # ROOT defaults to the checkout holding this file

Code means Rust source under src/ with comments left out; "test code" is an item marked
#[cfg(test)] (usually `mod tests { ... }`) or a file declared `#[cfg(test)] mod x;`.
Each section says what it counts.
"""

import os
import re
import sys
from collections import defaultdict

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
SRC = os.path.join(ROOT, "src")


def scan(text):
    """(code, strings): the text with comments removed and every string literal
    replaced by a placeholder `""` (newlines kept, so line numbers hold), and the
    literals as (line, content)."""
    out, strings = [], []
    i, n, line = 0, len(text), 1

    def at(k):
        return text[k] if 0 <= k < n else "\0"

    while i < n:
        c = text[i]
        if c == "/" and at(i + 1) == "/":
            while i < n and text[i] != "\n":
                i += 1
        elif c == "/" and at(i + 1) == "*":
            depth = 0
            while i < n:
                if text[i] == "/" and at(i + 1) == "*":
                    depth, i = depth + 1, i + 2
                elif text[i] == "*" and at(i + 1) == "/":
                    depth, i = depth - 1, i + 2
                    if depth == 0:
                        break
                else:
                    if text[i] == "\n":
                        out.append("\n")
                        line += 1
                    i += 1
        elif c in "rb" and not (at(i - 1).isalnum() or at(i - 1) == "_") and re.match(r'(b?r#*")', text[i:i + 40]):
            m = re.match(r'(b?r)(#*)"', text[i:])
            hashes = m.group(2)
            start = i + len(m.group(0))
            end = text.index('"' + hashes, start)
            body = text[start:end]
            strings.append((line, body))
            out.append('""' + "\n" * body.count("\n"))
            line += body.count("\n")
            i = end + 1 + len(hashes)
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            body = text[i + 1:j]
            strings.append((line, body))
            out.append('""' + "\n" * body.count("\n"))
            line += body.count("\n")
            i = j + 1
        elif c == "'" and at(i + 1) == "\\":
            j = text.index("'", i + 2)
            out.append("' '")
            i = j + 1
        elif c == "'" and at(i + 2) == "'":
            out.append("' '")
            i += 3
        else:
            if c == "\n":
                line += 1
            out.append(c)
            i += 1
    return "".join(out), strings


def item_end(code, i):
    """The index after the item starting at `i`: its `;` or its closing brace."""
    depth = 0
    while i < len(code):
        c = code[i]
        if c in "{([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        elif c == ";" and depth == 0:
            return i + 1
        i += 1
    return i


CFG_TEST = re.compile(r"#\[cfg\(test\)\]")


def test_spans(code):
    """[(start, end)] of #[cfg(test)] items, and the child modules declared test-only."""
    spans, children = [], []
    for m in CFG_TEST.finditer(code):
        j = m.end()
        while True:
            k = re.match(r"\s*#!?\[[^\]]*\]", code[j:])
            if not k:
                break
            j += k.end()
        decl = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", code[j:])
        if decl:
            children.append(decl.group(1))
        spans.append((m.start(), item_end(code, j)))
    return spans, children


class File:
    def __init__(self, path):
        self.path = path
        self.rel = os.path.relpath(path, ROOT)
        srel = os.path.relpath(path, SRC)
        parts = srel[:-3].split(os.sep)
        if parts[-1] == "mod":
            parts = parts[:-1]
        self.module = parts  # [] for lib.rs/main.rs
        self.root = srel in ("lib.rs", "main.rs")
        self.text = open(path, encoding="utf-8").read()
        self.lines = self.text.count("\n") + (0 if self.text.endswith("\n") else 1)
        self.code, self.strings = scan(self.text)
        self.spans, self.test_children = test_spans(self.code)
        self.test_file = False  # set once every file is read

    def in_test(self, offset):
        return self.test_file or any(a <= offset < b for a, b in self.spans)

    def line_in_test(self, line):
        if self.test_file:
            return True
        offset = line_offset(self.code, line)
        return self.in_test(offset)

    def code_lines(self):
        """(number, text, in_test) of every line of code."""
        offset = 0
        for number, text in enumerate(self.code.split("\n"), 1):
            yield number, text, self.in_test(offset)
            offset += len(text) + 1


def line_offset(code, line):
    offset = 0
    for _ in range(line - 1):
        offset = code.index("\n", offset) + 1
    return offset


def load():
    files = []
    for d, _, names in os.walk(SRC):
        for name in sorted(names):
            if name.endswith(".rs"):
                files.append(File(os.path.join(d, name)))
    files.sort(key=lambda f: f.rel)
    test_modules = set()
    for f in files:
        for c in f.test_children:
            test_modules.add(tuple(f.module + [c]))
    for f in files:
        if any(tuple(f.module[: len(t)]) == t for t in test_modules):
            f.test_file = True
    return files


# --- import circles ---------------------------------------------------------------

PATH = re.compile(r"(?<![\w$:])(crate|super|self)((?:\s*::\s*(?:super|self))*)\s*::\s*(\{|\w+)")


def group_heads(code, start):
    """First segment of every element of the `{...}` group opening at `start`, each
    with the nested path it continues with (to one more segment)."""
    heads, depth, i, expect = [], 0, start, True
    while i < len(code):
        c = code[i]
        if c == "{":
            depth += 1
            expect = depth == 1 or expect
            i += 1
            continue
        if c == "}":
            depth -= 1
            if depth == 0:
                break
        elif c == "," and depth == 1:
            expect = True
        elif depth == 1 and expect and (c.isalpha() or c == "_"):
            m = re.match(r"(\w+)(?:\s*::\s*(\w+))?", code[i:])
            heads.append((m.group(1), m.group(2)))
            expect = False
            i += m.end()
            continue
        elif not c.isspace():
            expect = False if depth == 1 else expect
        i += 1
    return heads


def references(f):
    """Absolute paths (two segments at most) that `f`'s non-test code names through
    crate::, super:: and self::, with inline `mod x {` blocks ignored for depth."""
    out = []
    for m in PATH.finditer(f.code):
        if f.in_test(m.start()):
            continue
        kind, chain, head = m.group(1), m.group(2), m.group(3)
        ups = chain.count("super") + (1 if kind == "super" else 0)
        if kind == "crate":
            base = []
        else:
            if f.root:
                base = []
            else:
                base = f.module[: len(f.module) - ups] if ups <= len(f.module) else []
        if head == "{":
            pairs = group_heads(f.code, m.end() - 1)
        else:
            nxt = re.match(r"\s*::\s*(\w+)", f.code[m.end():])
            pairs = [(head, nxt.group(1) if nxt else None)]
        for a, b in pairs:
            if a in ("self", "super", "crate"):
                continue
            path = base + [a] + ([b] if b else [])
            out.append(path[:2] if base else path[:2])
    return out


def sccs(edges):
    nodes = sorted({a for a, _ in edges} | {b for _, b in edges})
    nxt = defaultdict(list)
    for a, b in edges:
        nxt[a].append(b)
    index, low, stack, on, result, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in nxt[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            result.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return sorted(c for c in result if len(c) > 1)


def circles(files):
    tops = {f.module[0] for f in files if not f.root and not f.test_file}
    submodules = {tuple(f.module[:2]) for f in files if len(f.module) >= 2 and not f.test_file}
    top_edges, sub_edges = set(), set()
    for f in files:
        if f.root or f.test_file:
            continue
        me = f.module[0]
        for path in references(f):
            if path[0] in tops and path[0] != me:
                top_edges.add((me, path[0]))
            # Siblings inside one top-level module: top::a -> top::b.
            if len(f.module) >= 2 and len(path) >= 2 and path[0] == me and tuple(path[:2]) in submodules:
                a, b = "::".join(f.module[:2]), "::".join(path[:2])
                if a != b:
                    sub_edges.add((a, b))
    return sccs(top_edges), sccs(sub_edges), top_edges


# --- handler plumbing -----------------------------------------------------------------

PLUMBING = [
    ("authorize(", r"\bauthorize\("),
    ("identify(", r"\bidentify\("),
    ("db_unavailable(", r"\bdb_unavailable\("),
    ("store_failed(", r"\bstore_failed\("),
    ("Err(r) => return r", r"Err\(\w+\)\s*=>\s*return\s+\w+"),
    ("Err(e) => return", r"Err\(\w+\)\s*=>\s*return\b"),
    ("Err(_) => return", r"Err\(_\)\s*=>\s*return\b"),
    ("const A:", r"\bconst A\s*:"),
    ("return Response::error", r"return\s+Response::error"),
    ("match ctx.db.get()", r"match\s+ctx\.db\.get\(\)"),
    ("ctx.db.get()", r"ctx\.db\.get\(\)"),
    ("let Ok(..) = ... else { return", r"let\s+Ok\(.*\belse\s*\{\s*return"),
    ("Box<Response>", r"Box<Response>"),
    ("result_large_err", r"result_large_err"),
    ("Need::", r"\bNeed::\w+"),
]


def plumbing(files):
    per_pattern = defaultdict(int)
    lines = 0
    per_file = defaultdict(int)
    for f in files:
        if f.test_file or not f.rel.startswith(os.path.join("src", "http") + os.sep):
            continue
        if os.path.basename(f.rel).startswith("framing") or os.sep + "framing" + os.sep in f.rel:
            continue
        for _, text, in_test in f.code_lines():
            if in_test:
                continue
            hit = False
            for name, rx in PLUMBING:
                if re.search(rx, text):
                    per_pattern[name] += 1
                    hit = True
            if hit:
                lines += 1
                per_file[f.rel] += 1
    return lines, per_pattern, per_file


# --- Result<_, String> ----------------------------------------------------------------

RESULT_STRING = re.compile(r"Result<(?:[^<>]|<(?:[^<>]|<[^<>]*>)*>)*,\s*String\s*>")


# --- string-typed kinds and statuses ----------------------------------------------------

FIELD_NAMES = "kind|status|scope|mode|level|state|verdict|phase|role|via|tier|outcome|action|active_state"
FIELD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(" + FIELD_NAMES + r")\s*:\s*(String|&'?\w*\s*str|Option<String>|Option<&'?\w*\s*str>|&'static str)\s*,")
WORDS = (
    "pending|running|succeeded|failed|cancelled|rolled_back|rolled-back|unknown|skipped|"
    "webhook|manual|update-all|auto-update|maintenance|user|system|info|warn|warning|error|debug|"
    "accepted|ignored|rejected|duplicate|joined|ping|active|inactive|activating|deactivating|"
    "admin|read|trigger|forward_auth|declared|discovered"
)
COMPARE = re.compile(r'[!=]=\s*"(' + WORDS + r')"|"(' + WORDS + r')"\s*[!=]=')
SCOPE_WORD = re.compile(r'\{\s*"user"\s*\}\s*else\s*\{\s*"system"\s*\}|\{\s*"system"\s*\}\s*else\s*\{\s*"user"\s*\}')
ARM = re.compile(r'(?:^|[(|,])\s*"(' + WORDS + r')"\s*(?:=>|\||\))')


def string_typed(files):
    fields, compares, arms, scopes = [], [], [], []
    for f in files:
        if not f.rel.startswith("src" + os.sep):
            continue
        # Literals are placeholders in `code`: look at the original lines, outside test code.
        original = f.text.split("\n")
        for number, text, in_test in f.code_lines():
            if in_test:
                continue
            m = FIELD.search(text)
            if m:
                fields.append(f"{f.rel}:{number}: {m.group(1)}: {m.group(2)}")
            if '""' not in text:
                continue
            src_line = original[number - 1] if number - 1 < len(original) else ""
            for m in SCOPE_WORD.finditer(src_line):
                scopes.append(f"{f.rel}:{number}: {m.group(0)}")
            for m in COMPARE.finditer(src_line):
                compares.append(f"{f.rel}:{number}: {m.group(0).strip()}")
            if "match" in text or "=>" in text or "matches!" in text:
                for m in ARM.finditer(src_line):
                    arms.append(f"{f.rel}:{number}: \"{m.group(1)}\"")
    return fields, compares, arms, scopes


# --- SQL outside store/ ---------------------------------------------------------------

SQL = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\bCREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|TRIGGER|VIEW)\b|\bDROP\s+(?:TABLE|INDEX)\b|\bPRAGMA\s+\w+|\bBEGIN\s+IMMEDIATE\b"
)


def sql_outside_store(files):
    rows = []
    for f in files:
        if f.rel.startswith(os.path.join("src", "store") + os.sep):
            continue
        for line, body in f.strings:
            if SQL.search(body):
                rows.append((f.rel, line, f.line_in_test(line), " ".join(body.split())[:70]))
    return rows


def main():
    files = load()
    rev = os.popen(f"git -C {ROOT} rev-parse --short HEAD 2>/dev/null").read().strip() or "?"
    print(f"# podup architecture metrics at {rev}")
    print()

    top, sub, top_edges = circles(files)
    print(f"import circles: {len(top) + len(sub)}")
    print(f"  among top-level modules (strongly connected components of more than one, non-test code): {len(top)}")
    for c in top:
        print("    " + " <-> ".join(c))
    mutual = sorted((a, b) for a, b in top_edges if a < b and (b, a) in top_edges)
    print(f"  pairs of top-level modules that import each other: {len(mutual)}")
    for a, b in mutual:
        print(f"    {a} <-> {b}")
    print(f"  top-level arrows in all: {len(top_edges)}")
    print(f"  among sibling submodules of one top-level module (a::x <-> a::y): {len(sub)}")
    for c in sub:
        print("    " + " <-> ".join(c))
    print()

    lines, per_pattern, per_file = plumbing(files)
    print(f"handler lines with auth or error plumbing (src/http/ but framing, non-test code, a line once): {lines}")
    for name, _ in PLUMBING:
        print(f"    {per_pattern[name]:4}  {name}")
    print("  per file:")
    for rel, n in sorted(per_file.items()):
        print(f"    {n:4}  {rel}")
    print()

    big = sorted(((f.lines, f.rel) for f in files if f.lines > 400), reverse=True)
    print(f"files over 400 lines (src/, every line counted): {len(big)}")
    for n, rel in big:
        print(f"    {n:4}  {rel}")
    print()

    hits, test_hits = [], []
    for f in files:
        for m in RESULT_STRING.finditer(f.code):
            where = f"{f.rel}:{f.code.count(chr(10), 0, m.start()) + 1}"
            (test_hits if f.in_test(m.start()) else hits).append(where)
    print(f"Result<_, String> (regex Result<T, String> with T up to two levels of <>): {len(hits)} in code, {len(test_hits)} in test code")
    for h in hits:
        print(f"    {h}")
    print()

    fields, compares, arms, scopes = string_typed(files)
    total = len(fields) + len(compares) + len(arms) + len(scopes)
    print(f"string-typed kinds and statuses (non-test code under src/): {total}")
    print(f"  fields named {FIELD_NAMES.replace('|', ', ')} typed String, &str or Option of them: {len(fields)}")
    for x in fields:
        print(f"    {x}")
    print(f"  == / != against a status, kind, scope, level, verdict or role word: {len(compares)}")
    for x in compares:
        print(f"    {x}")
    print(f"  match arms and matches! patterns on such a word: {len(arms)}")
    for x in arms:
        print(f"    {x}")
    print(f"  a bool turned into \"user\"/\"system\" in place: {len(scopes)}")
    for x in scopes:
        print(f"    {x}")
    print(f"  (the words: {WORDS.replace('|', ', ')}; the arms include the parsers from text)")
    print()

    rows = sql_outside_store(files)
    code = [r for r in rows if not r[2]]
    tests = [r for r in rows if r[2]]
    print("SQL statements outside src/store/ (string literals with SELECT..FROM, INSERT INTO, UPDATE..SET, DELETE FROM,")
    print(f"CREATE/DROP TABLE|INDEX, PRAGMA or BEGIN IMMEDIATE): {len(code)} in code, {len(tests)} in test code")
    per = defaultdict(int)
    for rel, _, _, _ in code:
        per[rel] += 1
    for rel, n in sorted(per.items()):
        print(f"    {n:4}  {rel}")
    for rel, line, _, text in code:
        print(f"      {rel}:{line}: {text}")


if __name__ == "__main__":
    main()
