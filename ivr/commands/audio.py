"""`ivr audio`: the recordings a programme plays (demo, import, check)."""
from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import click

from audio.catalogue import (CatalogueError, Limits, check, entry_path, own_entries, own_folder,
                             programme_entries)
from ivr import constants as C
from ivr.commands.common import Group, Settings, emit_json, is_terminal, pass_settings, say
from ivr.errors import ProblemsFound


def _limits(min_s: float, max_s: float) -> Limits:
    try:
        return Limits(min_seconds=min_s, max_seconds=max_s)
    except CatalogueError as e:
        raise click.BadParameter(str(e), param_hint="'--min' / '--max'") from None


@contextlib.contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[object], None]]:
    """A progress bar on standard error, only on a terminal; yields the per-item callback."""
    if not is_terminal() or total == 0:
        yield lambda _result: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield lambda _result: bar.update(1)


def _asked(prog) -> str:
    """' + N questions' (their prompts) when the programme asks any."""
    return f" + {len(prog.questions)} questions" if prog.questions else ""


programme_option = click.option(
    "--programme", "programme_name", metavar="NAME",
    help="Programme name (mmitra, kilkari) or file; default: the configured one.")
min_option = click.option("--min", "min_s", type=click.FloatRange(min=0), default=60.0,
                          show_default=True, help="Shortest acceptable message, in seconds.")
max_option = click.option("--max", "max_s", type=click.FloatRange(min=0), default=120.0,
                          show_default=True, help="Longest acceptable message, in seconds.")
jobs_option = click.option("--jobs", "-j", "workers", type=click.IntRange(min=1), default=None,
                           help="Worker processes (default: one per core).")


@click.group(name="audio", cls=Group)
def command() -> None:
    """The recordings: <sounds>/<lang>/<name>.wav, 8 kHz mono 16-bit.

    \b
    Example:
      ivr audio demo                         # a spoken demo catalogue (espeak-ng)
      ivr audio import recordings/hi --lang hi
      ivr audio check --json
    """


@command.command(name="demo")
@programme_option
@click.option("--force", is_flag=True,
              help="Synthesise every file again, replacing real recordings too.")
@jobs_option
@pass_settings
def demo_cmd(settings: Settings, programme_name: str | None, force: bool,
             workers: int | None) -> None:
    """Synthesise a complete demo catalogue with espeak-ng.

    Every message of the programme in each of its languages ("Demo message 12 of 141", a few
    seconds each), every prompt and every question's prompt, in the language's espeak-ng
    voice; a prompt whose shared text names another programme's choices (m2m's English
    "press 1 for English, 2 for Swahili...") goes to the programme's own folder
    <sounds>/<programme>/<lang>/; a language without a voice (pesinet's Bambara) is spoken in
    the programme's fallback language, and the command says so. Files that exist and are
    playable are kept, so real recordings are never replaced (unless --force). The messages
    are short on purpose: check them with `ivr audio check --min 1`.

    \b
    Example:
      ivr audio demo
      ivr audio demo --programme pesinet          # French; Bambara in the French voice
      ivr audio demo --programme mmitra --force
      ivr audio demo --programme m2m              # m2m's English language list: <sounds>/m2m/en/
    """
    from audio.demo import FAILED, KEPT, WRITTEN, make_demo, spoken_in, with_own_prompts
    prog = settings.programme_named(programme_name)
    keys = [m.key for m in prog.messages]
    entries, questions = programme_entries(prog)
    entries = with_own_prompts(prog.name, entries)
    sounds = settings.config.sounds
    for lang in prog.languages:
        if spoken_in(lang, prog.fallback_language) != lang:
            say(f"no espeak-ng voice nor demo texts for {lang}: its files are spoken in "
                f"{spoken_in(lang, prog.fallback_language)} (the fallback's voice)")
    t0 = time.perf_counter()
    with _progress(len(entries), "demo audio") as tick:
        results = make_demo(entries, keys, sounds, force=force, workers=workers, on_done=tick,
                            fallback=prog.fallback_language, questions=questions)
    elapsed = time.perf_counter() - t0
    failed = [r for r in results if r.status == FAILED]
    for r in failed:
        say(f"error: {entry_path(sounds, r.entry).relative_to(sounds)}: {r.detail}")
    for e in (e for e in entries if e.programme):
        say(f"{prog.name}'s own recording: {entry_path(sounds, e).relative_to(sounds)}")
    n = {s: sum(r.status == s for r in results) for s in (WRITTEN, KEPT, FAILED)}
    say(f"{prog.name}: {len(keys)} messages + {len(C.PROMPTS)} prompts{_asked(prog)} x "
        f"{len(prog.languages)} languages in {sounds}: {n[WRITTEN]} written, {n[KEPT]} kept, "
        f"{n[FAILED]} failed, {elapsed:.1f} s")
    if failed:
        raise ProblemsFound()


@command.command(name="import")
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.option("--lang", required=True, metavar="LANG", help="Language of the recordings.")
@programme_option
@min_option
@max_option
@jobs_option
@click.option("--own", is_flag=True,
              help="The programme's own recordings: into <sounds>/<programme>/<lang>/, played "
                   "to its women instead of the shared files.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file on stdout.")
@pass_settings
def import_cmd(settings: Settings, src: Path, lang: str, programme_name: str | None,
               min_s: float, max_s: float, workers: int | None, own: bool,
               as_json: bool) -> None:
    """Import recordings named by message key (WAV, MP3, OGG, M4A...) into the catalogue.

    Each file is converted to 8 kHz mono 16-bit WAV, its leading and trailing silence trimmed
    and its loudness normalised, then written atomically to <sounds>/<lang>/<key>.wav. Every
    file's duration is reported, and so are problems: outside --min/--max, clipped, silent
    (silent files are not written), unknown names. Exit 1 if an audio file was not imported
    cleanly (other files, e.g. notes.txt, are listed as ignored).
    Formats other than plain WAV need ffmpeg (apt-get install ffmpeg).
    With --own they are the programme's own recordings (its own English prompts in an
    installation of several programmes, say), written to <sounds>/<programme>/<lang>/<key>.wav;
    a running `ivr run` plays a file new to that folder after its restart.

    \b
    Example:
      ivr audio import ~/recordings/hindi --lang hi      # mmitra-p001.mp3 ... mmitra-p141.mp3
      ivr audio import ivr-greeting.wav --lang mr --json
      ivr audio import ivr-line-languages.wav --lang en --programme m2m --own
    """
    from audio.importer import IGNORED, IMPORTED, import_all, names_of, plan
    prog = settings.programme_named(programme_name)
    if lang not in prog.languages:
        raise click.BadParameter(f"{lang!r} is not a language of {prog.name} "
                                 f"({', '.join(prog.languages)})", param_hint="'--lang'")
    limits = _limits(min_s, max_s)
    names = names_of([m.key for m in prog.messages], C.PROMPTS)
    sounds = settings.config.sounds
    folder = own_folder(sounds, prog.name) if own else sounds
    if folder is None:
        raise click.BadParameter(f"{prog.name!r} cannot name a folder beside the languages': "
                                 "no own recordings",
                                 param_hint="'--own'")
    todo, set_aside = plan(src, names, lang, sounds, limits, programme=prog.name if own else "")
    t0 = time.perf_counter()
    with _progress(len(todo), f"importing {lang}") as tick:
        results = import_all(todo, workers, tick)
    elapsed = time.perf_counter() - t0
    for r in sorted(results + set_aside, key=lambda r: r.src.name):
        if as_json:
            emit_json(r.as_dict())
            continue
        secs = "" if r.seconds is None else f"{r.seconds:7.1f} s"
        line = f"{r.src.name}\t{r.status}\t{secs}"
        if r.problems:
            line += "\t" + "; ".join(f"{p.code}: {p.detail}" for p in r.problems)
        elif r.status != IMPORTED:
            line += "\t" + r.detail
        click.echo(line)
    imported = sum(r.status == IMPORTED for r in results)
    bad = [r for r in results + set_aside if not r.ok and r.status != IGNORED]
    say(f"{imported} of {len(results) + len(set_aside)} files imported into "
        f"{folder / lang} in {elapsed:.1f} s; {len(bad)} with problems")
    if own and imported:
        say("a running `ivr run` plays a recording new to this folder after its restart")
    if bad:
        raise ProblemsFound()


@command.command(name="check")
@programme_option
@min_option
@max_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per problem on stdout.")
@pass_settings
def check_cmd(settings: Settings, programme_name: str | None, min_s: float, max_s: float,
              as_json: bool) -> None:
    """Verify that every message, prompt and question prompt of the programme is present and
    playable in every language: 8 kHz mono 16-bit WAV, messages within --min/--max seconds,
    not silent, not clipped. Where the programme has its own recording of a file
    (<sounds>/<programme>/<lang>/<name>.wav, played to its women) that one is checked.
    Prints one line per problem; exit 1 if there is any.

    \b
    Example:
      ivr audio check
      ivr audio check --min 1 --json      # the demo catalogue's messages are a few seconds
    """
    from audio.probe import catalogue_facts
    prog = settings.programme_named(programme_name)
    limits = _limits(min_s, max_s)
    sounds = settings.config.sounds
    entries = own_entries(sounds, prog.name, programme_entries(prog)[0])
    problems = check(entries, catalogue_facts(sounds, entries), limits)
    for p in problems:
        if as_json:
            emit_json({"lang": p.lang, "name": p.name, "code": p.code, "detail": p.detail,
                       **({"programme": p.programme} if p.programme else {})})
        else:
            click.echo(str(p))
    bad_files = len({(p.programme, p.lang, p.name) for p in problems})
    own = sum(bool(e.programme) for e in entries)
    say(f"{prog.name}: {len(entries)} files expected in {sounds} ({len(prog.messages)} messages "
        f"+ {len(C.PROMPTS)} prompts{_asked(prog)} x {len(prog.languages)} languages): "
        + (f"{own} of them the programme's own, " if own else "")
        + (f"{bad_files} with problems ({len(problems)} problems)" if problems else "all good"))
    if problems:
        raise ProblemsFound()
