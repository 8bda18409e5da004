"""`ivr audio import`: a folder of recordings named by message key -> the catalogue.

Each file is decoded, converted (audio/convert.py) and judged against the limits
(audio/catalogue.py); it is written atomically unless it is silent or cannot be read.
Unknown names, duplicates and non-audio files are reported and left alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from audio.batch import run_all
from audio.catalogue import (EMPTY, MESSAGE, PROMPT, SILENT, Entry, Limits, Problem, entry_path,
                             validate)
from audio.convert import AUDIO_EXTENSIONS, ConversionError, ConvertOptions, convert_file

# Outcome of one source file.
IMPORTED = "imported"          # written (it may still have problems: too long, clipped...)
REJECTED = "rejected"          # converted but not written (silent)
FAILED = "failed"              # could not be decoded or converted
UNKNOWN = "unknown"            # its name is no message key or prompt of the programme
DUPLICATE = "duplicate"        # two source files for the same name
IGNORED = "ignored"            # not an audio file


@dataclass(frozen=True)
class ImportJob:
    src: Path
    dest: Path
    entry: Entry
    limits: Limits
    options: ConvertOptions = ConvertOptions()


@dataclass(frozen=True)
class ImportResult:
    src: Path
    status: str
    detail: str = ""
    entry: Entry | None = None
    seconds: float | None = None
    source_seconds: float | None = None
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.status == IMPORTED and not self.problems

    def as_dict(self) -> dict:
        return {"file": self.src.name, "status": self.status, "detail": self.detail,
                "lang": self.entry.lang if self.entry else None,
                "name": self.entry.name if self.entry else None,
                "seconds": None if self.seconds is None else round(self.seconds, 2),
                "source_seconds": (None if self.source_seconds is None
                                   else round(self.source_seconds, 2)),
                "problems": [{"code": p.code, "detail": p.detail} for p in self.problems]}


def plan(src: Path, names: Mapping[str, str], lang: str, sounds: Path, limits: Limits,
         options: ConvertOptions = ConvertOptions(), programme: str = ""
         ) -> tuple[list[ImportJob], list[ImportResult]]:
    """Jobs for the files whose names are known; results for everything set aside.

    `names` maps each importable name (message keys and prompts) to its kind. `src` is a folder
    (its files, not sub-folders) or one file. `programme`: the files are that programme's own
    recordings (<sounds>/<programme>/<lang>/), played to its women instead of the shared ones."""
    src = Path(src)
    if src.is_dir():
        files = sorted(p for p in src.iterdir() if p.is_file() and not p.name.startswith("."))
    elif src.is_file():
        files = [src]
    else:
        raise FileNotFoundError(f"{src} is neither a folder nor a file")
    by_name: dict[str, list[Path]] = {}
    set_aside: list[ImportResult] = []
    for path in files:
        if path.suffix.lower() not in AUDIO_EXTENSIONS:
            set_aside.append(ImportResult(path, IGNORED, "not an audio file (extensions: "
                                          + " ".join(sorted(AUDIO_EXTENSIONS)) + ")"))
            continue
        name = path.stem.strip().lower()
        if name not in names:
            set_aside.append(ImportResult(path, UNKNOWN, f"{name!r} is no message key or prompt "
                                          "of the programme"))
            continue
        by_name.setdefault(name, []).append(path)
    jobs = []
    for name, paths in sorted(by_name.items()):
        if len(paths) > 1:
            others = ", ".join(p.name for p in paths)
            set_aside.extend(ImportResult(p, DUPLICATE, f"several files for {name}: {others}; "
                                          "keep one") for p in paths)
            continue
        entry = Entry(lang, name, names[name], programme)
        jobs.append(ImportJob(paths[0], entry_path(sounds, entry), entry, limits, options))
    return jobs, set_aside


def import_one(job: ImportJob) -> ImportResult:
    """Convert one file (runs in a worker process: failures come back as values)."""
    try:
        result = convert_file(job.src, job.dest, job.options)
    except ConversionError as e:
        return ImportResult(job.src, FAILED, str(e), job.entry)
    except Exception as e:  # noqa: BLE001 - a worker must report, not die, on a strange file
        return ImportResult(job.src, FAILED, f"{type(e).__name__}: {e}", job.entry)
    problems = tuple(validate(job.entry, result.facts, job.limits))
    if result.written:
        status, detail = IMPORTED, f"-> {job.dest}"
    else:
        status, detail = REJECTED, "silent: not written"
        problems = tuple(p for p in problems if p.code not in (SILENT, EMPTY))
        level = result.facts.rms_dbfs if result.facts.frames else result.source.rms_dbfs
        problems = (Problem(job.entry.lang, job.entry.name, SILENT,
                            f"nothing louder than {job.options.silence_dbfs:g} dBFS (level "
                            f"{level:.1f} dBFS)"),) + problems
    return ImportResult(job.src, status, detail, job.entry, result.seconds,
                        result.source.duration, problems)


def import_all(jobs: list[ImportJob], workers: int | None = None,
               on_done: Callable[[ImportResult], None] | None = None) -> list[ImportResult]:
    return run_all(import_one, jobs, workers, on_done)


def names_of(message_keys: list[str], prompts: tuple[str, ...]) -> dict[str, str]:
    """Every importable name and its kind (a message key wins over a prompt of the same name)."""
    out = {p: PROMPT for p in prompts}
    out.update({k: MESSAGE for k in message_keys})
    return out
