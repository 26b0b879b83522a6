#!/usr/bin/python3
"""scripts/function-sizes on a fixture whose function lengths are declared in `expect:` comments:
every function is found with its exact length, no other is reported, and --max makes it fail.

Usage: test_function_sizes.py PATH/TO/scripts/function-sizes
"""
import os
import re
import subprocess
import sys


def main():
    script = sys.argv[1]
    fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.cpp")
    with open(fixture) as f:
        expected = {m.group(1): int(m.group(2)) for m in re.finditer(r"// expect: (.+) (\d+)$", f.read(), re.M)}
    r = subprocess.run([sys.executable, script, "--all", fixture], capture_output=True, text=True)
    found = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\d+)\s+\S+:\d+\s+(.+)$", line)
        if m:
            found[m.group(2)] = int(m.group(1))
    ok = True
    if found != expected:
        print(f"expected {sorted(expected.items())}\nfound    {sorted(found.items())}")
        ok = False
    if r.returncode != 0:
        print(f"--all with no function over 80 lines exited {r.returncode}")
        ok = False
    r = subprocess.run([sys.executable, script, "--max", "9", fixture], capture_output=True, text=True)
    if r.returncode != 1 or "with_control" not in r.stdout or "plain" in r.stdout:
        print(f"--max 9 should fail naming with_control only; exit {r.returncode}, output:\n{r.stdout}")
        ok = False
    print(f"{len(expected)} functions expected, {len(found)} found" + ("" if ok else ": MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
