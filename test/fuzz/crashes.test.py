#!/usr/bin/env python3
"""Runs weftc --emit=weft on every reproducer in a folder; each must exit 0
or 1 (a diagnostic) within the time limit, never by a signal."""
import os
import subprocess
import sys


def main():
    weftc, folder = sys.argv[2], sys.argv[3]
    files = sorted(f for f in os.listdir(folder) if f.endswith(".onnx"))
    handled = 0
    for name in files:
        try:
            proc = subprocess.run([weftc, os.path.join(folder, name), "--emit=weft", "-o",
                                   os.devnull], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, errors="replace", timeout=60)
            ok = proc.returncode in (0, 1) and "LLVM ERROR" not in proc.stdout
            detail = f"exit {proc.returncode}"
        except subprocess.TimeoutExpired:
            ok, detail = False, "timed out"
        print(f"{'OK' if ok else 'FAIL'} {name} ({detail})")
        handled += ok
    print(f"crash reproducers: {handled} of {len(files)} handled")
    return 0 if files and handled == len(files) else 1


if __name__ == "__main__":
    sys.exit(main())
