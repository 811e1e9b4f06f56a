"""Does a SQL threshold (or metric query) look like ONE read-only SELECT/WITH statement?

A static look, not a parser: comments and quoted text are blanked out first so a `;` or a
keyword inside a string never counts. The analytics store enforces read-only for real (a
read-only connection); this check gives the author the error at validate time, with its place.
"""

from __future__ import annotations

import re

WRITE_KEYWORDS = (
    "ALTER",
    "ATTACH",
    "CALL",
    "CHECKPOINT",
    "COPY",
    "CREATE",
    "DELETE",
    "DETACH",
    "DROP",
    "EXPORT",
    "GRANT",
    "IMPORT",
    "INSERT",
    "INSTALL",
    "LOAD",
    "MERGE",
    "PRAGMA",
    "RESET",
    "REVOKE",
    "SET",
    "TRUNCATE",
    "UPDATE",
    "USE",
    "VACUUM",
)
_WORD = re.compile(r"[A-Za-z_]+")
_NESTED_WRITE = re.compile(r"\(\s*(" + "|".join(WRITE_KEYWORDS) + r")\b", re.IGNORECASE)
_READ_START = ("SELECT", "WITH")
# Block comments and dollar-quoted strings: opener -> (closer, what stands for the block).
_BLOCKS = {"/*": ("*/", " "), "$$": ("$$", "''")}


def blank_literals(sql: str) -> str:
    """``sql`` with comments removed and the inside of quotes replaced by spaces."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end == -1 else end
            continue
        block = _BLOCKS.get(sql[i : i + 2]) if c in "/$" else None
        if block is not None:
            closer, fill = block
            end = sql.find(closer, i + 2)
            i = n if end == -1 else end + 2
            out.append(fill)
            continue
        if c in "'\"":
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:  # '' inside '...'
                        j += 2
                        continue
                    break
                j += 1
            out.append(c + " " * max(0, min(j, n) - i - 1) + (c if j < n else ""))
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def sql_problem(sql: str, *, threshold: bool = False) -> tuple[str, str, str] | None:
    """(code, message, hint) when ``sql`` is not one read-only query, else None."""
    what = "the threshold" if threshold else "the query"
    code = blank_literals(sql).strip()
    if code.endswith(";"):
        code = code[:-1].rstrip()
    if ";" in code:
        return (
            "sql.multiple-statements",
            f"{what} holds more than one SQL statement",
            "write one SELECT or WITH query; only a single trailing `;` is allowed",
        )
    first = _WORD.search(code.lstrip("( \t\r\n"))
    word = first.group(0).upper() if first else ""
    if word in WRITE_KEYWORDS:
        return (
            "sql.write",
            f"{what} starts with {word}, which is not a read-only query",
            "write a SELECT or WITH query that returns one number",
        )
    if word not in _READ_START:
        if threshold:
            return (
                "threshold.invalid",
                "the threshold is neither a number nor a SELECT/WITH query",
                'write a number as a string (threshold: "0.65") or a query returning one '
                'number ("SELECT avg(f1) FROM build_metrics ...")',
            )
        return (
            "sql.not-select",
            "the query is not a SELECT or WITH query",
            "write a SELECT or WITH query that returns one number",
        )
    nested = _NESTED_WRITE.search(code)
    if nested:
        keyword = nested.group(1).upper()
        return (
            "sql.write",
            f"{what} contains {keyword}, which is not read-only",
            "a threshold query may only read: use SELECT",
        )
    return None
