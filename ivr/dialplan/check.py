"""`ivr dialplan check`, the pure part: the Asterisk files of dialplan/ against the names in
ivr/constants.py and the contract between the dialplan and the controller.

Input is file text (path -> text), output a list of Problems; no file, clock or network here.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ivr import constants as C
from ivr.dialplan.parse import Dialplan, Problem, Section, Step, parse_dialplan, \
    parse_sections, split_args

# every IVR_* name the dialplan may use: channel variables and [globals] of ivr/constants.py
KNOWN_NAMES = frozenset(v for k, v in vars(C).items()
                        if k.startswith(("VAR_", "GLOBAL_")) and isinstance(v, str))
USEREVENTS = frozenset(v for k, v in vars(C).items() if k.startswith("USEREVENT_"))
AGI_ROUTES = frozenset(v for k, v in vars(C).items() if k.startswith("AGI_ROUTE_"))
AGI_SCRIPTS = frozenset(v for k, v in vars(C).items() if k.startswith("AGI_SCRIPT_"))
SANDBOX_ONLY = frozenset({C.USEREVENT_SIM_AGENT, C.USEREVENT_SIM_PHONE_ENDED})
NAME_RE = re.compile(r"\bIVR_[A-Z0-9_]+\b")
ANSWERING_APPS = frozenset({"answer", "playback", "background", "read", "record", "dial",
                            "echo", "saydigits", "saynumber", "waitexten"})
GOTO_APPS = frozenset({"goto", "gotoif", "gosub", "gosubif"})


@dataclass(frozen=True)
class Rule:
    """A step the contract needs in a context: some step whose `App(data)` matches."""
    context: str
    pattern: str
    why: str


def _q(text: str) -> str:
    return re.escape(text)


# the fallback's test of case (a): the route never had her call (ivr-fallback.conf)
SERVED_CHECK = (r'GotoIf\(\$\[\s*"' + _q("${" + C.VAR_SERVED + "}") + r'"\s*!=\s*"1"\s*\]'
                r'\?[\w-]+\)')


def contract() -> list[Rule]:
    v = lambda name: _q("${" + name + "}")          # noqa: E731 - a ${NAME} reference

    def transfers(context: str) -> Rule:
        return Rule(context, rf"GotoIf\(.*{v(C.VAR_RESULT)}.*\"{_q(C.RESULT_CALL_CENTRE)}\".*"
                             rf"\?{_q(C.CONTEXT_CALL_CENTRE)},.*",
                    f"transfers to {C.CONTEXT_CALL_CENTRE} on {C.VAR_RESULT}="
                    f"{C.RESULT_CALL_CENTRE}")
    return [
        Rule(C.CONTEXT_OUTBOUND, r"Set\(CHANNEL\(language\)=.*", "sets her language"),
        Rule(C.CONTEXT_OUTBOUND, rf"AGI\({v(C.GLOBAL_AGI_URL)}/{_q(C.AGI_ROUTE_CALL)},"
                                 rf"{v(C.VAR_ATTEMPT_ID)}(,.*)?\)",
             f"runs the FastAGI route {C.AGI_ROUTE_CALL!r} with the attempt id"),
        Rule(C.CONTEXT_OUTBOUND, rf"GotoIf\(.*AGISTATUS.*FAILURE.*\?{_q(C.CONTEXT_AGI_FAILED)},.*",
             f"goes to {C.CONTEXT_AGI_FAILED} when the FastAGI server is unreachable"),
        transfers(C.CONTEXT_OUTBOUND),
        Rule(C.CONTEXT_AGI_FAILED, rf"UserEvent\({_q(C.USEREVENT_AGI_FAILED)},"
                                   rf".*{_q(C.VAR_ATTEMPT_ID)}: {v(C.VAR_ATTEMPT_ID)}.*",
             f"tells the controller ({C.USEREVENT_AGI_FAILED} with {C.VAR_ATTEMPT_ID})"),
        Rule(C.CONTEXT_OUTBOUND,
             rf"GotoIf\(.*{v(C.VAR_RESULT)}.*\"\".*\?{_q(C.CONTEXT_AGI_FAILED)},.*",
             f"goes to {C.CONTEXT_AGI_FAILED} when the controller went away during her call "
             f"(no {C.VAR_RESULT})"),
        Rule(C.CONTEXT_AGI_FAILED, rf"Goto\({_q(C.CONTEXT_APOLOGY)},.*", "apologises"),
        Rule(C.CONTEXT_AGI_FAILED, SERVED_CHECK,
             f"apologises only (never her message) when the route never had her call "
             f"({C.VAR_SERVED} not 1: her answer is not written, she is called again)"),
        Rule(C.CONTEXT_AGI_FAILED, rf"Playback\({v(C.GLOBAL_SOUNDS)}/.*\)",
             f"plays her message ({C.VAR_MESSAGE}) when the controller cannot"),
        Rule(C.CONTEXT_AGI_FAILED, rf"Set\(.*{v(C.VAR_MESSAGE)}.*\)",
             f"reads her message's key from {C.VAR_MESSAGE}"),
        Rule(C.CONTEXT_APOLOGY, rf"Playback\({v(C.GLOBAL_SOUNDS)}/{_q(C.PROMPT_SORRY)}\)",
             f"plays {C.PROMPT_SORRY} from {C.GLOBAL_SOUNDS}"),
        Rule(C.CONTEXT_CALL_CENTRE, rf"Dial\({v(C.GLOBAL_CALL_CENTRE)},.*",
             f"dials {C.GLOBAL_CALL_CENTRE}"),
        Rule(C.CONTEXT_CALL_CENTRE,
             rf"UserEvent\({_q(C.USEREVENT_CALL_CENTRE)},"
             rf".*{_q(C.VAR_ATTEMPT_ID)}: {v(C.VAR_ATTEMPT_ID)}.*DialStatus: .*",
             f"tells the controller how the transfer ended ({C.USEREVENT_CALL_CENTRE})"),
        # the answered line (optional: checked when a file defines it)
        Rule(C.CONTEXT_INBOUND, r"Answer\(\)", "answers the call"),
        Rule(C.CONTEXT_INBOUND, rf"AGI\({v(C.GLOBAL_AGI_URL)}/{_q(C.AGI_ROUTE_INBOUND)},.+\)",
             f"runs the FastAGI route {C.AGI_ROUTE_INBOUND!r} with the DID"),
        Rule(C.CONTEXT_INBOUND, rf"GotoIf\(.*AGISTATUS.*FAILURE.*\?{_q(C.CONTEXT_APOLOGY)},.*",
             f"goes to {C.CONTEXT_APOLOGY} when the FastAGI server is unreachable"),
        transfers(C.CONTEXT_INBOUND),
        Rule(C.CONTEXT_MISSED_CALL, rf"Gosub\({_q(C.CONTEXT_MISSED_CALL_RECORD)},s,1\)",
             "records the missed call"),
        Rule(C.CONTEXT_MISSED_CALL, r"Hangup\(21\)", "rejects the call (cause 21) unanswered"),
        Rule(C.CONTEXT_MISSED_CALL_RECORD, r"Set\(AGISIGHUP=no\)",
             "keeps the script alive when she hangs up (AGISIGHUP=no)"),
        Rule(C.CONTEXT_MISSED_CALL_RECORD, rf"AGI\({_q(C.AGI_SCRIPT_MISSED_CALL)},"
                                           rf"{v(C.GLOBAL_MISSED_SPOOL)},.+\)",
             f"runs the fallback script {C.AGI_SCRIPT_MISSED_CALL} with {C.GLOBAL_MISSED_SPOOL}"),
        Rule(C.CONTEXT_MISSED_CALL_RECORD,
             rf"UserEvent\({_q(C.USEREVENT_MISSED_CALL)},"
             rf"{_q(C.HEADER_MISSED_CALL_FILE)}: {v(C.VAR_MISSED_CALL_FILE)}\)",
             f"tells the controller ({C.USEREVENT_MISSED_CALL} with {C.HEADER_MISSED_CALL_FILE} "
             "only)"),
    ]


# context -> extension every deployment needs in it ("_" = any pattern extension)
REQUIRED_EXTENS = {C.CONTEXT_OUTBOUND: C.EXTEN_START, C.CONTEXT_AGI_FAILED: C.EXTEN_START,
                   C.CONTEXT_APOLOGY: C.EXTEN_START, C.CONTEXT_CALL_CENTRE: C.EXTEN_START,
                   C.CONTEXT_MISSED_CALL: "_", C.CONTEXT_MISSED_CALL_RECORD: C.EXTEN_START}
NEVER_ANSWER = (C.CONTEXT_MISSED_CALL, C.CONTEXT_MISSED_CALL_RECORD)


def check_dialplan(files: dict[str, str], *, sandbox: bool = False) -> list[Problem]:
    """Every problem of the production dialplan files (path -> text). `sandbox` allows the
    sandbox-only names (its simulated agent's event)."""
    plan = parse_dialplan(files)
    problems = list(plan.problems)
    where = ", ".join(sorted(files)) or "(no files)"
    for ctx, exten in REQUIRED_EXTENS.items():
        found = plan.contexts.get(ctx)
        if found is None:
            problems.append(Problem(where, 0, f"context [{ctx}] is missing"))
            continue
        extens = found.extens()
        if exten == "_" and not any(e.startswith("_") for e in extens):
            problems.append(Problem(found.path, found.line, f"[{ctx}] has no pattern extension "
                                                           "(e.g. _X.) for the DIDs"))
        elif exten != "_" and exten not in extens:
            problems.append(Problem(found.path, found.line, f"[{ctx}] has no extension {exten!r}"))
    for rule in contract():
        found = plan.contexts.get(rule.context)
        if found is None:
            continue
        if not any(re.fullmatch(rule.pattern, f"{s.app}({s.data})") for s in found.steps):
            problems.append(Problem(found.path, found.line,
                                    f"[{rule.context}] no longer {rule.why}"))
    for name in NEVER_ANSWER:
        for s in plan.contexts[name].steps if name in plan.contexts else ():
            if s.app.lower() in ANSWERING_APPS:
                problems.append(Problem(s.path, s.line,
                                        f"[{name}] must never answer, but runs "
                                        f"{s.app}() (her missed call must be free)"))
    missed = plan.contexts.get(C.CONTEXT_MISSED_CALL)
    if missed is not None and "h" not in missed.extens():
        problems.append(Problem(missed.path, missed.line, f"[{C.CONTEXT_MISSED_CALL}] has no h "
                                "extension: a call she ends first would not be recorded"))
    allowed_events = USEREVENTS if sandbox else USEREVENTS - SANDBOX_ONLY
    for context in plan.contexts.values():
        for s in context.steps:
            problems += _check_step(plan, context.name, s, allowed_events)
    problems += _served_first(plan)
    problems += _check_headers(plan, files)
    return problems


def _served_first(plan: Dialplan) -> list[Problem]:
    """In ivr-agi-failed, no Playback before the test of IVR_SERVED: a call the route never
    had must not hear her message (her attempt is closed as failed and she is called again)."""
    found = plan.contexts.get(C.CONTEXT_AGI_FAILED)
    for s in found.extens().get(C.EXTEN_START, []) if found is not None else []:
        if re.fullmatch(SERVED_CHECK, f"{s.app}({s.data})"):
            return []
        if s.app.lower() == "playback":
            return [Problem(s.path, s.line, f"[{C.CONTEXT_AGI_FAILED}] plays before it tests "
                                            f"{C.VAR_SERVED}: a call the route never had would "
                                            "hear her message, and be called again")]
    return []


def _check_step(plan: Dialplan, context: str, s: Step, events: frozenset[str]) -> list[Problem]:
    out = []
    for name in set(NAME_RE.findall(s.data)) - KNOWN_NAMES:
        out.append(Problem(s.path, s.line, f"{name} is not a name of ivr/constants.py (a typo? "
                                           "add it there first)"))
    for secret in (C.GLOBAL_LINE_SECRET, C.VAR_AGI_TOKEN):
        if secret in s.data:
            out.append(Problem(s.path, s.line, f"{secret} must not appear in a step (Asterisk "
                                               "logs a step's arguments): the route reads it "
                                               "itself"))
    app = s.app.lower()
    if app == "userevent":
        event = split_args(s.data)[0].strip()
        if event not in events:
            out.append(Problem(s.path, s.line, f"UserEvent {event!r} is not in ivr/constants.py "
                                               f"(known: {', '.join(sorted(events))})"))
    if app == "agi":
        target = split_args(s.data)[0].strip()
        if "://" in target or target.startswith("${"):
            route = target.rsplit("/", 1)[-1] if "/" in target.split("//", 1)[-1] else ""
            if route not in AGI_ROUTES:
                out.append(Problem(s.path, s.line, f"FastAGI route {route!r} is not in "
                                                   f"ivr/constants.py ({', '.join(AGI_ROUTES)})"))
        if "CALLER" in s.data.upper():
            out.append(Problem(s.path, s.line, "her number must not be an AGI argument (Asterisk "
                                               "writes the arguments into its log)"))
        elif target not in AGI_SCRIPTS and not ("://" in target or target.startswith("${")):
            out.append(Problem(s.path, s.line, f"AGI script {target!r} is not in "
                                               f"ivr/constants.py ({', '.join(AGI_SCRIPTS)})"))
    if app in GOTO_APPS:
        for target in _targets(s):
            why = _resolve(plan, context, s.exten, target)
            if why:
                out.append(Problem(s.path, s.line, f"{s.app}({s.data}): {why}"))
    return out


def _targets(s: Step) -> list[str]:
    if s.app.lower() in ("goto", "gosub"):
        return [s.data.split("(", 1)[0]] if s.data else []
    depth, cut = 0, -1
    for i, c in enumerate(s.data):               # the last '?' outside $[...] and ${...}
        depth += c in "[{(" and 1 or (-1 if c in "]})" else 0)
        if c == "?" and depth == 0:
            cut = i
    if cut < 0:
        return []
    return [t.split("(", 1)[0] for t in split_args(s.data[cut + 1:], ":") if t.strip()]


def _resolve(plan: Dialplan, context: str, exten: str, target: str) -> str:
    """Why the Goto target does not exist ("" when it does, or when it is computed)."""
    if "${" in target or "$[" in target:
        return ""
    parts = [p.strip() for p in split_args(target)]
    if len(parts) > 3 or not all(parts):
        return f"cannot read the target {target!r}"
    if len(parts) == 1:
        ctx_name, ext, prio = context, exten, parts[0]
    elif len(parts) == 2:
        ctx_name, ext, prio = context, parts[0], parts[1]
    else:
        ctx_name, ext, prio = parts
    ctx = plan.contexts.get(ctx_name)
    if ctx is None:
        return f"goes to context [{ctx_name}], which no checked file defines"
    steps = ctx.extens().get(ext)
    if steps is None:
        return f"goes to extension {ext!r} that [{ctx_name}] does not have"
    if prio.isdigit():
        return "" if any(s.priority == int(prio) for s in steps) else \
            f"goes to priority {prio} that {ext}@{ctx_name} does not have"
    return "" if any(s.label == prio for s in steps) else \
        f"goes to label {prio!r} that {ext}@{ctx_name} does not have"


def _check_headers(plan: Dialplan, files: dict[str, str]) -> list[Problem]:
    """Each file's opening comment names the contexts it defines and the names it relies on."""
    out = []
    for path in files:
        header = plan.headers.get(path, "")
        if not header:
            out.append(Problem(path, 1, "no header comment (name the contexts, routes, "
                                        "variables and events this file relies on)"))
            continue
        used: set[str] = set()
        for ctx in plan.contexts.values():
            if ctx.path != path:
                continue
            if f"[{ctx.name}]" not in header:
                used.add(f"[{ctx.name}]")
            for s in ctx.steps:
                used |= set(NAME_RE.findall(s.data)) & KNOWN_NAMES
                if s.app.lower() == "userevent":
                    used.add(split_args(s.data)[0].strip())
                if s.app.lower() == "agi":
                    target = split_args(s.data)[0].strip()
                    used.add(target.rsplit("/", 1)[-1] if "/" in target else target)
        for name in sorted(n for n in used if n and n not in header):
            out.append(Problem(path, 1, f"the header does not mention {name}"))
    return out


# ----------------------------------------------------------------------- manager.conf
TEMPLATE = "ivr-controller"
NEEDED_READ = frozenset({"call", "user", "reporting"})
NEEDED_WRITE = frozenset({"call", "originate", "reporting"})
DANGEROUS = frozenset({"system", "command", "config", "all"})


def check_manager(path: str, text: str, user: str | None = None) -> list[Problem]:
    """The AMI user the controller logs in as (the template ivr-controller, and `user`, or when
    None every user made from the template): exactly the rights it needs, loopback or private
    permits only; and when the file has a [general] section: AMI bound to loopback/private,
    channelvars with the attempt id. `text` has its #includes inlined."""
    sections = parse_sections(path, text)
    out: list[Problem] = []
    template = next((s for s in sections if s.name == TEMPLATE), None)
    if user is None:
        users = [s for s in sections if TEMPLATE in s.parents]
    else:
        users = [s for s in sections if s.name == user and not s.template]
        if not users:
            return [Problem(path, 0, f"no AMI user [{user}] (ivr.toml [ami] username); create "
                                     f"it from the template: [{user}]({TEMPLATE})")]
    if template is None and not users:
        return [Problem(path, 0, f"no [{TEMPLATE}](!) template nor a user made from it "
                                 f"([ivr]({TEMPLATE}))")]
    for section in ([template] if template else []) + users:
        out += _check_user(section, template)
    general = next((s for s in sections if s.name == "general"), None)
    if general is not None:
        out += _check_general(general)
    return out


def _classes(values: list[str]) -> set[str]:
    return {c.strip().lower() for v in values[-1:] for c in v.split(",") if c.strip()}


def _check_user(user: Section, template: Section | None) -> list[Problem]:
    out = []
    inherited = template if (template is not None and user is not template
                             and TEMPLATE in user.parents) else None
    for key, needed in (("read", NEEDED_READ), ("write", NEEDED_WRITE)):
        values = user.get(key) or (inherited.get(key) if inherited else [])
        have = _classes(values)
        for c in sorted(needed - have):
            out.append(Problem(user.path, user.line, f"[{user.name}] {key} lacks {c!r}: the "
                                                     "controller needs it"))
        for c in sorted(have - needed):
            worse = " (dangerous: never give the controller this)" if c in DANGEROUS else ""
            out.append(Problem(user.path, user.line, f"[{user.name}] {key} has {c!r}, which the "
                                                     f"controller does not need{worse}"))
    permits = user.get("permit") or (inherited.get("permit") if inherited else [])
    denies = user.get("deny") or (inherited.get("deny") if inherited else [])
    if not any(d.replace(" ", "") in ("0.0.0.0/0.0.0.0", "0.0.0.0/0") for d in denies):
        out.append(Problem(user.path, user.line, f"[{user.name}] needs deny = 0.0.0.0/0.0.0.0 "
                                                 "before its permits"))
    if not permits:
        out.append(Problem(user.path, user.line, f"[{user.name}] permits no address"))
    for p in permits:
        if not _private(p.split("/")[0]):
            out.append(Problem(user.path, user.line, f"[{user.name}] permits {p}: AMI must be "
                                                     "reachable from loopback/private only"))
    return out


def _check_general(general: Section) -> list[Problem]:
    out = []
    bind = (general.get("bindaddr") or ["0.0.0.0"])[-1]
    if not _private(bind):
        out.append(Problem(general.path, general.line, f"[general] bindaddr {bind}: bind AMI "
                                                       "to 127.0.0.1 or a private address"))
    channelvars = {v.strip() for v in ",".join(general.get("channelvars")).split(",")}
    if C.VAR_ATTEMPT_ID not in channelvars:
        out.append(Problem(general.path, general.line, f"[general] channelvars must include "
                                                       f"{C.VAR_ATTEMPT_ID} (the correlation id)"))
    return out


def _private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return not ip.is_unspecified and (ip.is_loopback or ip.is_private)
