#!/usr/bin/python3
"""Every option each tool's --help prints (its subcommands' too) appears in its man page.

Usage: test_man_pages.py TOOLS_DIR MAN_DIR [MAN_TO_ROFF]
TOOLS_DIR holds the built dapdee-<tool> executables (the build's tools/ folder); MAN_DIR holds
docs/man/dapdee-<tool>.md. A tool that is not built (dapdee-run without OpenCV) prints
"SKIPPED: <reason>" for that tool only; the test fails when a page lacks an option, when --help
fails, or when no tool at all was checked. With MAN_TO_ROFF (scripts/man-to-roff), every page
also converts to roff with a title, the sections SYNOPSIS, OPTIONS, EXIT STATUS and EXAMPLES,
and no Markdown emphasis left over.
"""
import os
import re
import subprocess
import sys
import tempfile

TOOLS = {
    "dapdee-import": [],
    "dapdee-plan": [],
    "dapdee-profile": ["predict", "fit", "import-ort", "refill"],
    "dapdee-split": [],
    "dapdee-run": ["serve", "load"],
}
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")


def help_options(exe, sub):
    """The options listed in the Options section of `exe [sub] --help`."""
    cmd = [exe] + ([sub] if sub else []) + ["--help"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
    opts, in_options = set(), False
    for line in r.stdout.splitlines():
        if re.match(r"^\S.*:\s*$", line):  # a section header: "Options:", "Subcommands:", "Positionals:"
            in_options = line.strip().lower().startswith("options")
            continue
        if in_options and line.startswith("  ") and line.strip().startswith("-"):
            head = re.split(r"\s{2,}", line.strip())[0]  # the option column, without its description
            opts.update(OPTION.findall(head))
    if not opts:
        raise RuntimeError(f"{' '.join(cmd)}: no options found in the help text")
    return opts


def roff_problems(script, page):
    """What is wrong with the roff that `script` makes of `page` (empty when nothing)."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "page.1")
        r = subprocess.run([sys.executable, script, page, "-o", out], capture_output=True, text=True)
        if r.returncode != 0:
            return [f"man-to-roff exited {r.returncode}: {r.stderr.strip()}"]
        with open(out, encoding="utf-8") as f:
            roff = f.read()
    problems = []
    if not roff.startswith(".TH "):
        problems.append("no .TH title")
    for section in ("SYNOPSIS", "OPTIONS", "EXIT STATUS", "EXAMPLES"):
        if f'.SH "{section}"' not in roff:
            problems.append(f"no {section} section")
    if "**" in roff:
        problems.append("Markdown bold left over")
    return problems


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    tools_dir, man_dir = sys.argv[1], sys.argv[2]
    missing, checked = [], 0
    if len(sys.argv) == 4:
        for tool in TOOLS:
            missing += [f"{tool}.md as roff: {p}" for p in roff_problems(sys.argv[3], os.path.join(man_dir, tool + ".md"))]
    for tool, subs in TOOLS.items():
        exe = os.path.join(tools_dir, tool)
        if not os.access(exe, os.X_OK):
            print(f"SKIPPED: {tool}: not built ({exe})")
            continue
        with open(os.path.join(man_dir, tool + ".md"), encoding="utf-8") as f:
            page = f.read()
        in_page = set(OPTION.findall(page))
        for sub in [None] + subs:
            for opt in sorted(help_options(exe, sub)):
                checked += 1
                if opt not in in_page:
                    missing.append(f"{tool}{' ' + sub if sub else ''}: option {opt} is not in the man page")
    for m in missing:
        print(f"problem: {m}")
    print(f"{checked} options checked, {len(missing)} missing")
    if checked == 0:
        print("no tool was checked")
        return 1
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
