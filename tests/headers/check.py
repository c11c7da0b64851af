#!/usr/bin/env python3
"""tests/headers/check.py — every public header of goro compiles on its own.

For each header include/goro/*.hpp (and the generated goro/version.hpp):
  * `#include <goro/H>` twice, alone in a translation unit, compiles with
    -std=c++20 -Wall -Wextra -Werror (no missing #include, no double
    definition), with the build's compiler and its C++ flags (so the libc++
    build of scripts/test.sh checks it against libc++ too);
  * under -std=c++17 it stops with goro's `#error "goro needs C++20
    (-std=c++20)"` and nothing else (no error from deeper in the headers);
  * <goro/goro.hpp> reaches it (API.md's promise: everything in namespace
    goro is reachable through that one include);
  * the usage example its opening comment shows (its first `/// @code`
    block, before `#pragma once`) compiles: inside a function, or
    as it is when it defines main(), after <goro/goro.hpp> and a prelude
    declaring the placeholders the examples use (work(), ch, out, value...).

  tests/headers/check.py SOURCE_DIR BUILD_INCLUDE_DIR -- COMPILER [FLAGS...]
"""
import os
import pathlib
import subprocess
import sys
import tempfile

MESSAGE = 'goro needs C++20 (-std=c++20)'


def compile_tu(cxx, flags, text, tmp):
    src = pathlib.Path(tmp) / 'tu.cpp'
    src.write_text(text)
    r = subprocess.run(cxx + flags + ['-fsyntax-only', str(src)], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


PRELUDE = """#include <goro/goro.hpp>
#include <array>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>
using namespace std::chrono_literals;
namespace {
// Placeholders the header examples name.
[[maybe_unused]] void work() {}
[[maybe_unused]] void crunch(std::size_t) {}
[[maybe_unused]] std::string read_file_blocking() { return {}; }
[[maybe_unused]] goro::Chan<int> ch, out, results;
[[maybe_unused]] int value = 0;
[[maybe_unused]] std::size_t n = 0;
struct Db { std::string query_blocking(const std::string&) { return {}; } };
[[maybe_unused]] Db db;
[[maybe_unused]] std::string sql;
}  // namespace
"""


def example_of(path):
    """The first `/// @code` ... `/// @endcode` block of the header's opening comment."""
    lines = []
    inside = False
    for line in pathlib.Path(path).read_text().splitlines():
        if line.startswith('#pragma once'):
            break
        if line.strip() == '/// @code':
            inside = True
        elif line.strip() == '/// @endcode':
            break
        elif inside:
            lines.append(line[4:] if line.startswith('/// ') else line[3:])
    return '\n'.join(lines)


def example_tu(example):
    if 'int main(' in example:
        body = example.replace('#include <goro/goro.hpp>', '').replace('int main(', 'int example_main(')
        return PRELUDE + body + '\nint main() { return 0; }\n'
    return PRELUDE + '[[maybe_unused]] static void example() {\n' + example + '\n}\nint main() { return 0; }\n'


def main():
    sep = sys.argv.index('--')
    source, build_include = sys.argv[1:sep]
    cxx = sys.argv[sep + 1:]
    # The build's own flags after the compiler (e.g. -stdlib=libc++); -std= is ours.
    extra = [a for a in cxx[1:] if not a.startswith('-std=')]
    cxx = [a for a in cxx[:1]]
    inc = ['-I' + os.path.join(source, 'include'), '-I' + build_include]
    headers = sorted(p.name for p in pathlib.Path(source, 'include', 'goro').glob('*.hpp'))
    headers.append('version.hpp')
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for h in headers:
            tu = f'#include <goro/{h}>\n#include <goro/{h}>\nint main() {{ return 0; }}\n'
            rc, out = compile_tu(cxx, extra + inc + ['-std=c++20', '-Wall', '-Wextra', '-Werror'], tu, tmp)
            if rc != 0:
                failures += 1
                print(f'FAIL {h}: does not compile alone under C++20\n{out}')
                continue
            rc, out = compile_tu(cxx, extra + inc + ['-std=c++17'], tu, tmp)
            errors = [l for l in out.splitlines() if 'error:' in l]
            if rc == 0 or MESSAGE not in out or any(MESSAGE not in l for l in errors):
                failures += 1
                print(f'FAIL {h}: under C++17 it does not stop with "{MESSAGE}" alone\n{out}')
                continue
            src = os.path.join(source, 'include', 'goro', h)
            if not os.path.exists(src):
                src = os.path.join(source, 'include', 'goro', h + '.in')
            example = example_of(src)
            if not example.strip():
                failures += 1
                print(f'FAIL {h}: its opening comment has no usage example')
                continue
            rc, out = compile_tu(cxx, extra + inc + ['-std=c++20', '-Wall', '-Wextra', '-Wno-unused'], example_tu(example), tmp)
            if rc != 0:
                failures += 1
                print(f'FAIL {h}: its usage example does not compile\n{example_tu(example)}\n{out}')
                continue
            print(f'ok   {h}')
        # goro.hpp reaches every public header: the preprocessor's list of what one TU including only
        # goro.hpp reads (-M) names each of them.
        src = pathlib.Path(tmp) / 'tu.cpp'
        src.write_text('#include <goro/goro.hpp>\n')
        r = subprocess.run(cxx + extra + inc + ['-std=c++20', '-M', str(src)], capture_output=True, text=True,
                           timeout=120)
        read = {pathlib.Path(word).name for word in r.stdout.replace('\\\n', ' ').split()
                if pathlib.Path(word).parent.name == 'goro'}
        unreached = [h for h in headers if h != 'goro.hpp' and h not in read]
        if r.returncode != 0 or unreached:
            failures += 1
            print(f'FAIL goro.hpp: does not reach {", ".join(unreached) or "(the -M run failed)"}\n{r.stderr}')
        else:
            print(f'ok   goro.hpp reaches all {len(headers) - 1} other public headers')
    print(f'{failures} failure(s) over {len(headers)} headers: each compiles alone, refuses C++17, has an example '
          'that compiles, and is reached by goro.hpp')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
