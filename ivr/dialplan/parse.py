"""A small, pure reader of Asterisk configuration text: extensions.conf-style dialplans and
manager.conf-style sections. It knows only what `ivr dialplan check` needs: contexts,
extensions, priorities (number or `n`, labels), applications and their data, the leading
comment block of each file, and `key = value` options of sections (templates included).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator


@dataclass(frozen=True)
class Problem:
    path: str
    line: int              # 0 when the problem concerns the file (or a file set) as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else \
            f"{self.path}: {self.message}"


@dataclass(frozen=True)
class Step:
    """One priority: `exten => name,1(label),App(data)` or `same => n,App(data)`."""
    exten: str
    priority: int
    label: str | None
    app: str
    data: str
    path: str
    line: int


@dataclass
class Context:
    name: str
    path: str
    line: int
    steps: list[Step] = field(default_factory=list)

    def extens(self) -> dict[str, list[Step]]:
        out: dict[str, list[Step]] = {}
        for s in self.steps:
            out.setdefault(s.exten, []).append(s)
        return out


@dataclass
class Dialplan:
    contexts: dict[str, Context] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)     # path -> leading comment block
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Section:
    name: str
    template: bool                 # [name](!)
    parents: tuple[str, ...]       # [name](parent,...)
    path: str
    line: int
    options: list[tuple[str, str, int]] = field(default_factory=list)   # key, value, line

    def get(self, key: str) -> list[str]:
        return [v for k, v, _ in self.options if k == key]


HEADER_RE = re.compile(r"\[([^\]]+)\]\s*(?:\(([^)]*)\))?\s*$")
STEP_RE = re.compile(r"(exten|same)\s*=>?\s*(.*)$", re.IGNORECASE)
PRIORITY_RE = re.compile(r"(\d+|n|n\+\d+)(?:\(([A-Za-z0-9_-]+)\))?$")


def strip_comment(line: str) -> str:
    """Drop a `;` comment (a `\\;` is a literal semicolon) and surrounding blanks."""
    out, i = [], 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line) and line[i + 1] == ";":
            out.append(";")
            i += 2
            continue
        if c == ";":
            break
        out.append(c)
        i += 1
    return "".join(out).strip()


def meaningful_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number from 1, the line without its comment) of each line that says something:
    blank lines, comments and `#include`-style directives are passed over."""
    for n, raw in enumerate(text.splitlines(), 1):
        line = strip_comment(raw)
        if line and not line.startswith("#"):
            yield n, line


def leading_comments(text: str) -> str:
    """The comment block that opens a file (its header)."""
    lines = []
    for raw in text.splitlines():
        s = raw.strip()
        if s.startswith(";"):
            lines.append(s.lstrip(";").strip())
        elif s:
            break
    return "\n".join(lines)


def split_app(text: str) -> tuple[str, str]:
    """"App(data)" -> ("App", "data"); an application without parentheses has no data."""
    m = re.match(r"([A-Za-z0-9_]+)\s*(?:\((.*)\))?\s*$", text, re.DOTALL)
    if not m:
        return text.strip(), ""
    return m.group(1), m.group(2) or ""


def split_args(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside ${...}, $[...] and (...)."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for c in text:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(depth - 1, 0)
        if c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return parts


def parse_dialplan(files: dict[str, str]) -> Dialplan:
    """Parse extensions.conf-style files (path -> text) into one Dialplan."""
    plan = Dialplan()
    for path, text in files.items():
        plan.headers[path] = leading_comments(text)
        ctx: Context | None = None
        exten: str | None = None
        prio = 0
        for n, line in meaningful_lines(text):
            head = HEADER_RE.fullmatch(line)
            if head:
                name = head.group(1).strip()
                if name in plan.contexts:
                    first = plan.contexts[name]
                    plan.problems.append(Problem(path, n, f"context [{name}] is defined again "
                                                          f"(first at {first.path}:{first.line})"))
                ctx = plan.contexts.setdefault(name, Context(name, path, n))
                exten, prio = None, 0
                continue
            m = STEP_RE.match(line)
            if m is None:
                if ctx is not None and not re.match(r"(include|switch|ignorepat)\s*=>", line) \
                        and ctx.name not in ("general", "globals"):
                    plan.problems.append(Problem(path, n, f"cannot read this line: {line!r}"))
                continue
            if ctx is None:
                plan.problems.append(Problem(path, n, "a step outside any [context]"))
                continue
            kind, rest = m.group(1).lower(), m.group(2)
            if kind == "exten":
                name, _, rest = rest.partition(",")
                exten, prio = name.strip(), 0
            elif exten is None:
                plan.problems.append(Problem(path, n, "`same =>` before any `exten =>`"))
                continue
            p, _, app_text = rest.partition(",")
            pm = PRIORITY_RE.fullmatch(p.strip())
            if pm is None or not app_text.strip():
                plan.problems.append(Problem(path, n, f"cannot read this step: {line!r}"))
                continue
            number = pm.group(1)
            if number == "n":
                prio += 1
            elif number.startswith("n+"):
                prio += int(number[2:])
            else:
                prio = int(number)
                if kind == "exten" and prio != 1 and not ctx.extens().get(exten):
                    plan.problems.append(Problem(path, n, f"extension {exten!r} does not "
                                                          "start at priority 1"))
            app, data = split_app(app_text.strip())
            ctx.steps.append(Step(exten, prio, pm.group(2), app, data, path, n))
    return plan


def parse_sections(path: str, text: str) -> list[Section]:
    """manager.conf-style sections with their `key = value` options, in order."""
    sections: list[Section] = []
    for n, line in meaningful_lines(text):
        head = HEADER_RE.fullmatch(line)
        if head:
            flags = [f.strip() for f in (head.group(2) or "").split(",") if f.strip()]
            sections.append(Section(head.group(1).strip(), "!" in flags,
                                    tuple(f for f in flags if f != "!"), path, n))
            continue
        key, sep, value = line.partition("=")
        if sep and sections:
            sections[-1].options.append((key.strip().lower(), value.lstrip(">").strip(), n))
    return sections


def inline_includes(path: str, read, depth: int = 0) -> str:
    """The text of `path` with its `#include "file"` lines replaced by the files' text
    (relative names are resolved beside the including file). `read(path) -> str`."""
    if depth > 8:
        raise ValueError(f"#include nested too deep at {path}")
    out = []
    for line in read(path).splitlines():
        m = re.match(r'\s*#include\s+"?([^"]+?)"?\s*$', line)
        if m:
            name = m.group(1)
            if not name.startswith("/"):
                name = path.rsplit("/", 1)[0] + "/" + name if "/" in path else name
            out.append(inline_includes(name, read, depth + 1))
        else:
            out.append(line)
    return "\n".join(out)
