"""Generated mutations for scripts/mutate --generate: mechanical changes of
a file, none of them chosen by hand, each run against the tests that cover
its file (TESTS).

In C: each comparison moved by one (< and <=, > and >=), each == and != and
each && and || swapped, each early return that never happens (an
"if (...)" whose next line returns, unless its test is an allocation's),
each #define of a number doubled.  In
SQL: each AND and OR swapped, each comparison moved by one, each ASC and
DESC swapped, each "AND predicate" line made true, each interval's number
doubled.  A line is changed at one place at a time; its text (with the
line before it when it is not unique) finds it, as in the hand-written
list.  A comment line is never changed.

EQUIVALENT lists the generated mutations that no test can tell from the
original, each with the reason; they do not count in the score.
"""
import os
import random
import re

# The files of the last two rounds of work, and the tests that cover each:
# their generated mutations are the score (scripts/mutate --generate with
# no file).
TESTS = {
    "src/libtraffic/observe/alerts.c": ["t/073-alert-facts.t", "t/058-alerts.t",
                                        "t/065-db-refuses.t"],
    "src/libtraffic/outgoing/digest.c": ["t/060-digest.t", "t/070-roi.t"],
    "src/libtraffic/outgoing/roi.c": ["t/070-roi.t"],
    "src/libtraffic/outgoing/ads.c": ["t/070-roi.t"],
    "src/libtraffic/outgoing/rates.c": ["t/017-rates.t", "t/070-roi.t"],
    "src/libtraffic/db/migrate.c": ["t/072-baseline.t", "t/010-storage.t",
                                    "t/016-migrate-life.t", "t/066-adopt.t"],
    "src/libtraffic/statements/digest_stats.sql": ["t/060-digest.t"],
    "src/libtraffic/statements/roi.sql": ["t/070-roi.t"],
    "src/libtraffic/statements/alert_facts.sql": ["t/073-alert-facts.t",
                                                  "t/058-alerts.t"],
    "sql/functions/traffic_sale_apply.sql": ["t/052-sale-life.t",
                                             "t/068-in-flight.t"],
}

# name: why no test can tell it from the original
EQUIVALENT = {
    "gen/digest.c:147:<":
        "by_roi's x < y and x <= y differ only for x == y, and qsort never "
        "compares an element with itself",
    "gen/roi.c:45:<":
        "a row past the last reads as NULL (rows.c checks the row number), "
        "and the total's row (who NULL) always comes first: find returns "
        "the same",
    "gen/roi.c:147:<":
        "a row past the last reads as NULL (rows.c), and NULL rows are "
        "skipped there: the same rows are added",
    "gen/ads.c:72:no-early-return":
        "tr_ads_due's one caller (the sidecar) does the same for -1, the "
        "database failing, and 0, not due: no sync this round",
    "gen/alert_facts.sql:10:>":
        "created_at is the writing transaction's now(): it equals the "
        "reading one's now() - 24 hours only if they began exactly a day "
        "apart, to the microsecond",
}

C_SWAPS = [(" <= ", " < "), (" < ", " <= "), (" >= ", " > "), (" > ", " >= "),
           (" == ", " != "), (" != ", " == "), (" && ", " || "),
           (" || ", " && ")]
SQL_SWAPS = [(" AND ", " OR "), (" OR ", " AND "), (" <= ", " < "),
             (" < ", " <= "), (" >= ", " > "), (" > ", " >= "),
             (" <> ", " = "), (" DESC", " ASC"), (" ASC", " DESC")]


# An early return after an allocation that failed is left alone: no test
# can make calloc fail (an allocator that fails on command would be a mock
# of libc, not the service's behaviour).
ALLOCATION = re.compile(r"\b(?:[cm]alloc|realloc|strdup|strndup)\(")


def _comment(line, sql):
    s = line.strip()
    if sql:
        return s.startswith("--")
    return s.startswith(("/*", "*", "//", "#include"))


def _masked(line):
    """line with the insides of its string literals blanked out."""
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'])*\'',
                  lambda m: m.group(0)[0] + "_" * (len(m.group(0)) - 2) +
                  m.group(0)[-1], line)


def _at(line, old, new):
    """Every line made by replacing one occurrence of old with new, outside
    a string literal."""
    mask = _masked(line)
    out, i = [], mask.find(old)
    while i >= 0:
        out.append(line[:i] + new + line[i + len(old):])
        i = mask.find(old, i + 1)
    return out


def _candidates(lines, sql):
    """(line index, new line, operator) for every mechanical change."""
    out = []
    for i, line in enumerate(lines):
        if _comment(line, sql):
            continue
        code = line.split("--")[0] if sql else line.split("/*")[0]
        for old, new in SQL_SWAPS if sql else C_SWAPS:
            for changed in _at(code, old, new):
                if old == " AND " and "BETWEEN" in code:
                    continue    # BETWEEN's AND is no operator
                out.append((i, changed + line[len(code):], old.strip()))
        if sql:
            m = re.match(r"^(\s*AND )(.+?)(\)*)$", code)
            if m and m.group(2).count("(") == m.group(2).count(")"):
                out.append((i, m.group(1) + "true" + m.group(3), "AND-true"))
            for m in re.finditer(r"interval '(\d+)", code):
                n = int(m.group(1))
                out.append((i, line[:m.start(1)] + str(n * 2) +
                            line[m.end(1):], "interval*2"))
        else:
            m = re.match(r"^#define (\w+) (\d+)\b", code)
            if m and int(m.group(2)) > 1:
                out.append((i, code.replace(m.group(2), str(2 * int(
                    m.group(2))), 1) + line[len(code):], "define*2"))
            m = re.match(r"^(\s*)if \((.*)\)$", code)
            if (m and i + 1 < len(lines)
                    and lines[i + 1].strip().startswith("return")
                    and not ALLOCATION.search(m.group(2))):
                # the test still runs (an assignment in it still happens),
                # its answer is ignored
                out.append((i, f"{m.group(1)}if (({m.group(2)}) && 0)",
                            "no-early-return"))
    return out


def generate(path, root, per_file=None, seed=1):
    """The generated mutations of path (relative to root), a sample of
    per_file of them when given (the same sample for the same seed)."""
    text = open(os.path.join(root, path), encoding="utf-8").read()
    lines = text.split("\n")
    sql = path.endswith(".sql")
    short = os.path.basename(path)
    out = []
    for i, new, op in _candidates(lines, sql):
        for ctx in (0, 1, 2):
            old = "\n".join(lines[i - ctx:i + 1]) + "\n"
            if i - ctx >= 0 and text.count(old) == 1:
                break
        else:
            continue
        rep = "\n".join(lines[i - ctx:i] + [new]) + "\n"
        name = f"gen/{short}:{i + 1}:{op}"
        if any(m["name"] == name for m in out):
            name += f"#{sum(m['name'].startswith(name) for m in out) + 1}"
        out.append({"name": name, "what": f"{op} at {short}:{i + 1}",
                    "edits": [(path, old, rep)],
                    "tests": TESTS.get(path, []),
                    "equivalent": EQUIVALENT.get(name)})
    if per_file is not None and len(out) > per_file:
        out = random.Random(f"{seed}:{path}").sample(out, per_file)
        out.sort(key=lambda m: int(m["name"].split(":")[1]))
    return out
