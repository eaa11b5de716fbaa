"""A Beremiz-like build of the test PLC (tests/programs/beremiz_test_plc/), made at test time.

The C program exports the interface of a Beremiz-compiled PLC library; gcc (build-essential,
installed by scripts/setup-system.sh) compiles it into a temporary directory laid out as the
Beremiz IDE's ``build/`` directory: the library, ``lastbuildPLC.md5``, ``VARIABLES.csv`` and
``extra_files/`` (the py_ext file ``runtime_0.py`` and whatever a test adds).
"""
import hashlib
import os
import shutil
import subprocess

SOURCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs",
                          "beremiz_test_plc")
SOURCE = os.path.join(SOURCE_DIR, "beremiz_test_plc.c")
LIBRARY_NAME = "testplc.so"
PREFIX = "CONFIG.RES0.INSTANCE0."


def compile_library(path: str, ticktime_ns: int = 10_000_000, source: str = SOURCE) -> str:
    if shutil.which("gcc") is None:
        raise RuntimeError("gcc is missing: run scripts/setup-system.sh (build-essential)")
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-fPIC", "-shared", "-pthread",
                    f"-DTICKTIME_NS={ticktime_ns}ULL", source, "-o", path],
                   check=True, capture_output=True, text=True)
    return path


def make_build(directory: str, ticktime_ns: int = 10_000_000, extra_files=None,
               py_ext: bool = True) -> str:
    """A build/ directory under ``directory``; ``extra_files`` maps names to text written into
    extra_files/ (next to runtime_0.py unless ``py_ext`` is False)."""
    build = os.path.join(directory, "build")
    extras = os.path.join(build, "extra_files")
    os.makedirs(extras, exist_ok=True)
    library = compile_library(os.path.join(build, LIBRARY_NAME), ticktime_ns)
    with open(os.path.join(SOURCE_DIR, "VARIABLES.csv"), encoding="utf-8") as handle:
        variables = handle.read().replace("\n// Ticktime\n10000000\n",
                                          f"\n// Ticktime\n{ticktime_ns}\n")
    with open(os.path.join(build, "VARIABLES.csv"), "w", encoding="utf-8") as handle:
        handle.write(variables)
    if py_ext:
        shutil.copy(os.path.join(SOURCE_DIR, "runtime_0.py"), extras)
    for name, text in (extra_files or {}).items():
        with open(os.path.join(extras, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    with open(library, "rb") as handle:   # the IDE's md5 covers the project's sources
        md5 = hashlib.md5(handle.read() + repr(sorted((extra_files or {}).items())).encode())
    with open(os.path.join(build, "lastbuildPLC.md5"), "w", encoding="ascii") as handle:
        handle.write(md5.hexdigest())
    for other in ("plc_main.c", "config.c", "POUS.c"):   # build/ holds more than the program
        with open(os.path.join(build, other), "w", encoding="utf-8") as handle:
            handle.write("/* generated */\n")
    return build


def build_files(build: str):
    """(library bytes, [(extra name, bytes)], md5) as a transfer sends them."""
    def read(path):
        with open(path, "rb") as handle:
            return handle.read()
    extras = [(name, read(os.path.join(build, "extra_files", name)))
              for name in sorted(os.listdir(os.path.join(build, "extra_files")))]
    extras.append(("VARIABLES.csv", read(os.path.join(build, "VARIABLES.csv"))))
    md5 = read(os.path.join(build, "lastbuildPLC.md5")).decode().strip()
    return read(os.path.join(build, LIBRARY_NAME)), extras, md5


if __name__ == "__main__":
    # For a reader without Beremiz (docs/engineer/beremiz-builds.md): the test PLC as a build.
    import sys
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/beremiz_test_build.py PROJECT_DIR (writes PROJECT_DIR/build)")
    print(make_build(sys.argv[1]))
