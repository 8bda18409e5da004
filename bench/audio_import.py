"""Benchmark: `ivr audio import` of 564 recordings of ~90 s (141 messages x 4 languages).

Makes the sources first (espeak-ng speech in each language, padded with pauses and repeated to
~90 s, 44.1 kHz stereo as a studio would send them, encoded at 128 kbit/s MP3 by ffmpeg; one
encode per language, copied under the 141 message keys), then times four real
`ivr audio import <dir> --lang <lang>` runs, one per language, into a temp IVR_HOME.
Peak memory is ru_maxrss of the children (the largest single process: the command or one of
its workers). Then times `ivr audio check` on the imported catalogue (it reads every file).
Prints one JSON object; --format wav measures without ffmpeg.

    .venv/bin/python bench/audio_import.py              # MP3 (needs ffmpeg)
    .venv/bin/python bench/audio_import.py --format wav
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scheduler.programme import load_programme  # noqa: E402

TEXT = {
    "hi": "नमस्ते। गर्भावस्था में आयरन की गोली रोज़ लें, और हर महीने जांच करवाएं।",
    "mr": "नमस्कार. गरोदरपणात रोज लोहाची गोळी घ्या, आणि दर महिन्याला तपासणी करा.",
    "gu": "નમસ્તે. ગર્ભાવસ્થામાં રોજ આયર્નની ગોળી લો, અને દર મહિને તપાસ કરાવો.",
    "en": "Hello. During pregnancy take your iron tablet every day, and have a check-up every "
          "month.",
}


def make_source(lang: str, fmt: str, out: Path, seconds: float) -> Path:
    speech = out / f"speech-{lang}.wav"
    subprocess.run(["espeak-ng", "-v", lang, "-w", str(speech), TEXT[lang]], check=True)
    one = float(subprocess.run(["soxi", "-D", str(speech)], capture_output=True, text=True,
                               check=True).stdout) + 0.8
    repeats = max(0, int(seconds / one) - 1)
    wav = out / f"long-{lang}.wav"
    subprocess.run(["sox", "-V1", str(speech), "-r", "44100", "-c", "2", "-b", "16", str(wav),
                    "pad", "0.4", "0.4", "repeat", str(repeats), "pad", "0.5", "1.0"], check=True)
    if fmt == "wav":
        return wav
    mp3 = out / f"long-{lang}.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-b:a", "128k",
                    str(mp3)], check=True)
    return mp3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--format", choices=["mp3", "wav"], default="mp3")
    ap.add_argument("--seconds", type=float, default=90.0, help="length of each source")
    ap.add_argument("--programme", default="mmitra")
    ap.add_argument("--jobs", type=int, default=None, help="workers (default: one per core)")
    args = ap.parse_args()
    if args.format == "mp3" and shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is needed for MP3: apt-get install --no-install-recommends ffmpeg "
                 "(or run with --format wav)")
    prog = load_programme(args.programme)
    ivr = Path(sys.executable).parent / "ivr"
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        src_bytes = 0
        for lang in prog.languages:
            d = tmp / "src" / lang
            d.mkdir(parents=True)
            source = make_source(lang, args.format, tmp, args.seconds)
            for m in prog.messages:
                shutil.copyfile(source, d / f"{m.key}.{args.format}")
            src_bytes += source.stat().st_size * len(prog.messages)
        prepare = time.perf_counter() - t0
        env = {**os.environ, "IVR_HOME": str(tmp / "home")}
        env.pop("IVR_CONFIG", None)
        per_lang, seconds, t0 = {}, [], time.perf_counter()
        for lang in prog.languages:
            t = time.perf_counter()
            cmd = [str(ivr), "audio", "import", str(tmp / "src" / lang), "--lang", lang, "--json"]
            if args.jobs:
                cmd += ["--jobs", str(args.jobs)]
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            per_lang[lang] = round(time.perf_counter() - t, 2)
            rows = [json.loads(x) for x in done.stdout.splitlines()]
            bad = [r for r in rows if r["status"] != "imported"]
            if done.returncode not in (0, 1) or bad or len(rows) != len(prog.messages):
                sys.exit(f"import {lang} failed (exit {done.returncode}): {done.stderr[-2000:]}")
            seconds.extend(r["seconds"] for r in rows)
        wall = time.perf_counter() - t0
        t = time.perf_counter()
        checked = subprocess.run([str(ivr), "audio", "check", "--json"], env=env,
                                 capture_output=True, text=True)
        check_seconds = time.perf_counter() - t
        if checked.returncode != 0:   # 141 x 4 messages present; the 8 prompts are missing
            missing = [json.loads(x) for x in checked.stdout.splitlines()]
            if {m["code"] for m in missing} != {"missing"} or len(missing) != 8 * len(
                    prog.languages):
                sys.exit(f"check found problems in the imported catalogue: {checked.stdout[:2000]}")
        out_bytes = sum(p.stat().st_size for p in (tmp / "home" / "sounds").rglob("*.wav"))
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "format": args.format, "files": len(seconds), "cores": os.cpu_count(),
        "source_seconds_each": args.seconds, "imported_seconds_mean": round(
            sum(seconds) / len(seconds), 1),
        "wall_seconds": round(wall, 1), "per_language_seconds": per_lang,
        "files_per_second": round(len(seconds) / wall, 1),
        "children_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb_largest_process": round(usage.ru_maxrss / 1024, 1),
        "source_mb": round(src_bytes / 2**20, 1), "catalogue_mb": round(out_bytes / 2**20, 1),
        "prepare_seconds": round(prepare, 1), "check_seconds": round(check_seconds, 2),
    }))


if __name__ == "__main__":
    main()
