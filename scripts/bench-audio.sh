#!/usr/bin/env bash
# Audio engine benchmark: `cadenza analyze` (full report) against ffmpeg's
# `ebur128=peak=true` pass, whole process against whole process, per format, with
# symphonia decode-only time as the floor; and peak memory of a 60-minute file
# against a 1-minute one. Figures go to docs/benchmarks.md.
#
# Usage: scripts/bench-audio.sh [RUNS]     (default 5 runs per measurement; the median is shown)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${1:-5}
command -v ffmpeg >/dev/null || { echo "needs ffmpeg (apt-get install ffmpeg)"; exit 1; }
cargo build --release --quiet --bin cadenza
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN="$TARGET/release/cadenza"
WORK=$(mktemp -d /tmp/cadenza-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Music-like material: a chord progression with harmonics, a bass line, noise drums,
# a slow swell; 3 minutes, stereo, peaking near −1 dBFS.
music() { # rate seconds out.wav
  # Commas inside functions are escaped (\,): in a filter graph a bare comma separates filters.
  local chord='0.16*sin(2*PI*(261.63+40*lt(mod(t\,8)\,4))*t)+0.12*sin(2*PI*329.63*t)+0.1*sin(2*PI*392*t)'
  local bass='0.3*sin(2*PI*65.4*t)*(0.6+0.4*sin(2*PI*0.25*t))'
  local drum='0.35*random(0)*exp(-12*mod(t\,0.5))'
  local swell='(0.75+0.25*sin(2*PI*t/11))'
  ffmpeg -hide_banner -loglevel error -y -f lavfi \
    -i "aevalsrc=exprs=${swell}*(${chord}+${bass})+${drum}|${swell}*(${chord}+${bass})+0.9*${drum}:s=$1:d=$2" \
    -c:a pcm_f32le "$3"
}

echo "generating test files in $WORK"
music 44100 180 "$WORK/src44.wav"
music 48000 180 "$WORK/src48.wav"
music 96000 180 "$WORK/src96.wav"
enc() { ffmpeg -hide_banner -loglevel error -y -i "$1" "${@:3}" "$2"; }
enc "$WORK/src44.wav" "$WORK/wav16-44k.wav" -c:a pcm_s16le
enc "$WORK/src44.wav" "$WORK/wav24-44k.wav" -c:a pcm_s24le
enc "$WORK/src44.wav" "$WORK/flac-44k.flac" -c:a flac
enc "$WORK/src44.wav" "$WORK/mp3-44k.mp3" -c:a libmp3lame -b:a 256k
enc "$WORK/src44.wav" "$WORK/aac-44k.m4a" -c:a aac -b:a 256k
enc "$WORK/src48.wav" "$WORK/wav24-48k.wav" -c:a pcm_s24le
enc "$WORK/src96.wav" "$WORK/wav24-96k.wav" -c:a pcm_s24le

python3 - "$BIN" "$WORK" "$RUNS" <<'PY'
import os, resource, statistics, subprocess, sys, time
bin_, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])

def timed(cmd):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)

def peak_rss_kib(cmd):
    # ru_maxrss of a fresh child: run it in its own python so RUSAGE_CHILDREN is its alone.
    code = ("import resource,subprocess,sys;"
            "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL,check=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    return int(subprocess.run([sys.executable, "-c", code] + cmd, capture_output=True, text=True, check=True).stdout)

files = ["wav16-44k.wav", "wav24-44k.wav", "flac-44k.flac", "mp3-44k.mp3", "aac-44k.m4a", "wav24-48k.wav", "wav24-96k.wav"]
# As the workers run an upload's analysis (audio::sandbox): the header probe, then the
# report with the fingerprint and the landmarks, each a child process with the child's
# allocator settings.
CHILD = ["env", "MIMALLOC_ARENA_EAGER_COMMIT=0", "MIMALLOC_PURGE_DELAY=0"]

def timed_all(cmds):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        for cmd in cmds:
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)

print(f"\nmedian of {runs} runs, 3-minute stereo files; ratio = ffmpeg / cadenza (higher is better)\n")
print("| file | ffmpeg ebur128=peak=true | cadenza analyze (full report) | ratio | decode only | analyze / decode | whole analysis as the worker runs it | ratio (target ≥ 2) |")
print("|---|---|---|---|---|---|---|---|")
worst = None
for f in files:
    p = os.path.join(work, f)
    ff = timed(["ffmpeg", "-hide_banner", "-nostats", "-i", p, "-af", "ebur128=peak=true", "-f", "null", "-"])
    ours = timed([bin_, "analyze", "--json", "--no-fingerprint", p])
    dec = timed([bin_, "analyze", "--decode-only", p])
    whole = timed_all([CHILD + [bin_, "analyze", "--probe", "--", p], CHILD + [bin_, "analyze", "--json", "--", p]])
    worst = min(worst or 1e9, ff / whole)
    print(f"| {f} | {ff:.3f} s | {ours:.3f} s | {ff/ours:.2f}× | {dec:.3f} s | {ours/dec:.2f}× | {whole:.3f} s | {ff/whole:.2f}× |")
print(f"\nwhole analysis (probe + report + fingerprint + landmarks) against ffmpeg, slowest format: {worst:.2f}× (target ≥ 2: {'met' if worst >= 2 else 'NOT met'})")

print("\npeak memory (max RSS) by duration, FLAC 44.1 kHz stereo, full report with fingerprint:\n")
src = os.path.join(work, "src44.wav")
for minutes in (1, 60):
    out = os.path.join(work, f"long-{minutes}.flac")
    loops = max(0, minutes * 60 // 180 - 1) if minutes > 3 else 0
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", str(loops), "-i", src,
            "-t", str(minutes * 60), "-c:a", "flac", out]
    subprocess.run(args, check=True)
    # As the workers run it (audio::sandbox::CHILD_ENV: the allocator returns freed pages).
    rss = peak_rss_kib(["env", "MIMALLOC_ARENA_EAGER_COMMIT=0", "MIMALLOC_PURGE_DELAY=0",
                        bin_, "analyze", "--json", "--max-duration", "4000", out])
    print(f"| {minutes} min | {rss/1024:.1f} MiB |")
    os.remove(out)
PY
