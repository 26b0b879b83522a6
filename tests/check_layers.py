#!/usr/bin/python3
"""The dependency rule of lib/ (docs/ARCHITECTURE.md), checked.

Each folder lib/dapdee/<subsystem>/ is one CMake target, declared in lib/CMakeLists.txt as
`dapdee_subsystem(NAME SOURCES ... DEPS ...)`. A file of a subsystem may include the headers of
its own subsystem and of those it links (DEPS, transitively), nothing else; and no two files may
include each other through a cycle (a file's module is its stem: x.hpp and x.cpp together).

  check_layers.py ROOT            exit 0 when the rule holds, 1 with every violation otherwise
  check_layers.py ROOT --graph    print each subsystem's layer and direct dependencies
  check_layers.py --self-test     the checker on small trees that break the rule on purpose
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"dapdee/([a-z_]+)/([A-Za-z0-9_]+)\.hpp"', re.M)
CALL = re.compile(r'dapdee_subsystem\(\s*([a-z_]+)(.*?)\)', re.S)
KEYWORDS = {"SOURCES", "DEPS", "LIBS"}


def subsystems(cmake_text):
    """NAME -> its direct DEPS, from the dapdee_subsystem calls (the function's own definition is skipped)."""
    deps = {}
    for name, body in CALL.findall(cmake_text):
        if name == "name":
            continue
        words, current, direct = body.split(), None, []
        for w in words:
            if w in KEYWORDS:
                current = w
            elif current == "DEPS":
                direct.append(w)
        deps[name] = direct
    return deps


def closure(deps):
    out = {}

    def visit(n, seen):
        if n in out:
            return out[n]
        if n in seen:
            raise ValueError(f"subsystems depend on each other in a cycle through {n}")
        seen.add(n)
        s = set()
        for d in deps.get(n, []):
            s.add(d)
            s |= visit(d, seen)
        out[n] = s
        return s

    for n in deps:
        visit(n, set())
    return out


def layers(deps):
    memo = {}

    def layer(n):
        if n not in memo:
            memo[n] = 1 + max((layer(d) for d in deps.get(n, [])), default=-1)
        return memo[n]

    return {n: layer(n) for n in deps}


def file_includes(root):
    """(subsystem, file) -> [(subsystem, stem)] for every file under lib/dapdee/."""
    base = os.path.join(root, "lib", "dapdee")
    out = {}
    for sub in sorted(os.listdir(base)):
        d = os.path.join(base, sub)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if f.endswith((".hpp", ".cpp")):
                with open(os.path.join(d, f), encoding="utf-8") as fh:
                    out[(sub, f)] = INCLUDE.findall(fh.read())
    return out


def module_cycles(includes):
    """Cycles of the module graph (module = subsystem/stem); each cycle as a list of modules."""
    graph = {}
    for (sub, f), incs in includes.items():
        m = f"{sub}/{os.path.splitext(f)[0]}"
        graph.setdefault(m, set())
        for s, stem in incs:
            t = f"{s}/{stem}"
            if t != m:
                graph[m].add(t)
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def strong(v):  # Tarjan, recursive: the graph has ~100 modules
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return cycles


def check(root):
    with open(os.path.join(root, "lib", "CMakeLists.txt"), encoding="utf-8") as fh:
        deps = subsystems(fh.read())
    problems = []
    try:
        allowed = closure(deps)
    except ValueError as e:
        return [str(e)]
    includes = file_includes(root)
    for (sub, f), incs in sorted(includes.items()):
        if sub not in deps:
            problems.append(f"lib/dapdee/{sub}/: a folder that lib/CMakeLists.txt declares no subsystem for")
            continue
        for s, stem in incs:
            if s != sub and s not in allowed[sub]:
                problems.append(f"lib/dapdee/{sub}/{f}: includes dapdee/{s}/{stem}.hpp, but {sub} does not link {s}")
    for c in module_cycles(includes):
        problems.append("include cycle: " + " -> ".join(c))
    return problems


def graph(root):
    with open(os.path.join(root, "lib", "CMakeLists.txt"), encoding="utf-8") as fh:
        deps = subsystems(fh.read())
    lay = layers(deps)
    for n in sorted(deps, key=lambda n: (lay[n], n)):
        print(f"layer {lay[n]}  {n:9s} -> {' '.join(deps[n]) or '(none)'}")


def self_test():
    def tree(cmake, files):
        d = tempfile.mkdtemp()
        os.makedirs(os.path.join(d, "lib", "dapdee"))
        with open(os.path.join(d, "lib", "CMakeLists.txt"), "w") as fh:
            fh.write(cmake)
        for path, text in files.items():
            p = os.path.join(d, "lib", "dapdee", path)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as fh:
                fh.write(text)
        return d

    cmake = "dapdee_subsystem(low SOURCES a.cpp)\ndapdee_subsystem(high SOURCES b.cpp\n DEPS low LIBS x)\n"
    good = tree(cmake, {"low/a.hpp": "", "high/b.hpp": '#include "dapdee/low/a.hpp"\n'})
    up = tree(cmake, {"low/a.hpp": '#include "dapdee/high/b.hpp"\n', "high/b.hpp": ""})
    cyc = tree(cmake, {"low/a.hpp": '#include "dapdee/low/c.hpp"\n', "low/c.cpp": '#include "dapdee/low/a.hpp"\n'})
    stray = tree(cmake, {"other/z.hpp": ""})
    results = [check(good) == [], any("does not link high" in p for p in check(up)),
               any("include cycle: low/a -> low/c" in p for p in check(cyc)),
               any("declares no subsystem" in p for p in check(stray))]
    print("self-test:", results)
    return 0 if all(results) else 1


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) == 3 and argv[2] == "--graph":
        graph(argv[1])
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems = check(argv[1])
    for p in problems:
        print(p)
    print(f"check_layers: {len(problems)} violation(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
