#!/usr/bin/env python
"""Core overhead benchmark: flystore against raw fsspec and raw ``os``.

One run measures, prints and grades against the issue's targets:

1. 1 KiB put / get / exists / delete on fresh files (N per op):
   - flystore local disk vs fsspec ``LocalFileSystem`` (pipe_file / cat_file /
     exists / rm_file) vs raw ``os`` (open+write / open+read / os.path.exists /
     os.unlink);
   - flystore memory disk vs fsspec ``MemoryFileSystem`` with a fresh store.
2. memory-disk ``exists`` with 2,000 vs 20,000 files (O(1): flat per call)
   next to fsspec memory ``exists`` (O(n)).
3. ``all_files()`` on a 50,000-file local tree (50 dirs x 1,000 files) vs
   ``os.walk``, ``os.scandir`` recursion and fsspec ``LocalFileSystem.find``.
   The os baselines build the same result as ``all_files()`` (relative
   ``/``-joined paths, sorted); ``find`` returns its own sorted absolute paths.

Every figure is the median over ``--repeats`` runs, in microseconds per
operation (per call for listings, in milliseconds). Variants are interleaved
inside each repeat so machine noise hits them alike, and the garbage collector
is paused while a timed loop runs.

    python benchmarks/bench_core.py            # full run (~1-2 min)
    python benchmarks/bench_core.py --quick    # smoke run (~15 s), smaller sizes
    python benchmarks/bench_core.py --profile local-put   # cProfile one flystore loop
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(HERE.parent))

import fsspec  # noqa: E402
from fsspec.implementations.local import LocalFileSystem  # noqa: E402
from fsspec.implementations.memory import MemoryFileSystem  # noqa: E402

import flystore  # noqa: E402
from flystore import FilesystemAdapter, LocalFilesystemAdapter, StorageManager  # noqa: E402
from flystore import paths as flystore_paths  # noqa: E402
from flystore.drivers.memory import MemoryBackend  # noqa: E402

OPS = ("put", "get", "exists", "delete")
PAYLOAD = os.urandom(1024)

# The targets.
TARGET_VS_FSSPEC = 1.10
STRETCH_VS_OS = 1.5
TARGET_O1_GROWTH = 1.5  # per-call time at 10x the files may grow at most this much
TARGET_LIST_VS_WALK = 1.5


# -- timing ------------------------------------------------------------------------


def timed(loop: Callable[[], object]) -> float:
    """Seconds one call of ``loop`` takes, with the collector paused."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        loop()
        return time.perf_counter() - start
    finally:
        gc.enable()


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


@dataclass
class Samples:
    """Per-op seconds, keyed by (section, op, variant)."""

    data: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)

    def add(self, section: str, op: str, variant: str, seconds: float) -> None:
        self.data.setdefault((section, op, variant), []).append(seconds)

    def us(self, section: str, op: str, variant: str) -> float:
        return median(self.data[(section, op, variant)]) * 1e6


# -- 1. per-op overhead --------------------------------------------------------------


Ops = dict[str, Callable[..., Any]]
Setup = Callable[[Path, int, int], tuple[Ops, list[str]]]


@dataclass
class Variant:
    """One way to do put/get/exists/delete, over precomputed paths."""

    name: str
    setup: Setup


def _run_ops(ops: Ops, paths: list[str], data: bytes) -> dict[str, float]:
    """Time put/get/exists/delete over ``paths``; seconds per op."""
    put, get, exists, delete = ops["put"], ops["get"], ops["exists"], ops["delete"]
    count = len(paths)

    def do_put() -> None:
        for path in paths:
            put(path, data)

    def do_get() -> None:
        for path in paths:
            get(path)

    def do_exists() -> None:
        for path in paths:
            exists(path)

    def do_delete() -> None:
        for path in paths:
            delete(path)

    result = {
        "put": timed(do_put) / count,
        "get": timed(do_get) / count,
        "exists": timed(do_exists) / count,
        "delete": timed(do_delete) / count,
    }
    return result


def _names(repeat: int, count: int) -> list[str]:
    # Unique per repeat: every put writes a path never seen before (no warm path caches).
    return [f"bench/r{repeat:03d}-{index:05d}.bin" for index in range(count)]


def setup_flystore_local(base: Path, repeat: int, count: int) -> tuple[Ops, list[str]]:
    root = base / f"flystore-{repeat}"
    (root / "bench").mkdir(parents=True)
    disk = LocalFilesystemAdapter(root)
    ops: Ops = {"put": disk.put, "get": disk.get, "exists": disk.exists, "delete": disk.delete}
    return ops, _names(repeat, count)


def setup_fsspec_local(base: Path, repeat: int, count: int) -> tuple[Ops, list[str]]:
    root = base / f"fsspec-{repeat}"
    (root / "bench").mkdir(parents=True)
    fs = LocalFileSystem()
    ops: Ops = {"put": fs.pipe_file, "get": fs.cat_file, "exists": fs.exists, "delete": fs.rm_file}
    return ops, [f"{root}/{name}" for name in _names(repeat, count)]


def _os_put(path: str, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


def _os_get(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def setup_os_local(base: Path, repeat: int, count: int) -> tuple[Ops, list[str]]:
    root = base / f"os-{repeat}"
    (root / "bench").mkdir(parents=True)
    ops: Ops = {"put": _os_put, "get": _os_get, "exists": os.path.exists, "delete": os.unlink}
    return ops, [f"{root}/{name}" for name in _names(repeat, count)]


def setup_flystore_memory(base: Path, repeat: int, count: int) -> tuple[Ops, list[str]]:
    disk = StorageManager({"disks": {"mem": {"driver": "memory"}}}).disk("mem")
    ops: Ops = {"put": disk.put, "get": disk.get, "exists": disk.exists, "delete": disk.delete}
    return ops, _names(repeat, count)


def fresh_memory_fs() -> MemoryFileSystem:
    """An fsspec memory filesystem with its own, empty store."""
    try:
        fs = MemoryFileSystem(global_store=False, skip_instance_cache=True)
    except TypeError:  # fsspec without global_store=
        fs = MemoryFileSystem(skip_instance_cache=True)
    fs.store = {}
    fs.pseudo_dirs = [""]
    return fs


def setup_fsspec_memory(base: Path, repeat: int, count: int) -> tuple[Ops, list[str]]:
    fs = fresh_memory_fs()
    ops: Ops = {"put": fs.pipe_file, "get": fs.cat_file, "exists": fs.exists, "delete": fs.rm_file}
    return ops, [f"/{name}" for name in _names(repeat, count)]


LOCAL_VARIANTS = (
    Variant("flystore", setup_flystore_local),
    Variant("fsspec", setup_fsspec_local),
    Variant("os", setup_os_local),
)
MEMORY_VARIANTS = (
    Variant("flystore", setup_flystore_memory),
    Variant("fsspec", setup_fsspec_memory),
)


def bench_ops(samples: Samples, base: Path, count: int, repeats: int) -> None:
    sections = (("local", LOCAL_VARIANTS), ("memory", MEMORY_VARIANTS))
    # Warm-up: imports, code paths, the page cache of the temp dir.
    for section, variants in sections:
        for variant in variants:
            ops, paths = variant.setup(base / f"warm-{section}", 999, min(count, 200))
            _run_ops(ops, paths, PAYLOAD)
    for repeat in range(repeats):
        for section, variants in sections:
            order = list(variants)
            random.Random(repeat).shuffle(order)  # no variant always runs first
            for variant in order:
                ops, paths = variant.setup(base / section, repeat, count)
                for op, seconds in _run_ops(ops, paths, PAYLOAD).items():
                    samples.add(section, op, variant.name, seconds)
        shutil.rmtree(base / "local", ignore_errors=True)


# -- 2. memory exists: O(1) vs O(n) ---------------------------------------------------


def clear_path_cache() -> None:
    """Forget flystore's memo of normalised paths (if it keeps one), so every path is new again."""
    cache_clear = getattr(getattr(flystore_paths, "_normalize", None), "cache_clear", None)
    if cache_clear is not None:
        cache_clear()


def bench_memory_scaling(samples: Samples, sizes: Sequence[int], calls: int, fsspec_calls: int, repeats: int) -> None:
    """exists() on hits; "cold" = paths not seen lately (path memo cleared), "warm" = the same probes again.

    Every size is built first, then the sizes are timed in a shuffled order inside each repeat.
    """
    loops: list[tuple[int, dict[str, tuple[Callable[[], None], int]]]] = []
    for size in sizes:
        names = [f"d{index % 50:02d}/f{index:06d}.bin" for index in range(size)]
        disk = FilesystemAdapter(MemoryBackend(), name="mem")
        fs = fresh_memory_fs()
        for name in names:
            disk.put(name, b"x")
            fs.pipe_file(f"/{name}", b"x")
        # The same probes at every size (files written first): only the number of other files changes.
        probes = random.Random(0).sample(names[: min(sizes)], min(calls, min(sizes)))
        fs_probes = [f"/{name}" for name in probes[:fsspec_calls]]
        for probe in probes[:10]:
            assert disk.exists(probe) and fs.exists(f"/{probe}")

        def fly_loop(probes: list[str] = probes, exists: Callable[[str], bool] = disk.exists) -> None:
            for probe in probes:
                exists(probe)

        def fs_loop(probes: list[str] = fs_probes, exists: Callable[[str], bool] = fs.exists) -> None:
            for probe in probes:
                exists(probe)

        def set_loop(probes: list[str] = probes, exists: Callable[[object], bool] = set(names).__contains__) -> None:
            for probe in probes:
                exists(probe)

        loops.append(
            (
                size,
                {
                    "flystore": (fly_loop, len(probes)),
                    "fsspec": (fs_loop, len(fs_probes)),
                    "set lookup": (set_loop, len(probes)),
                },
            )
        )
    for repeat in range(repeats):
        order = list(loops)
        random.Random(repeat).shuffle(order)
        for size, variants in order:
            key = f"exists@{size}"
            run, count = variants["flystore"]
            clear_path_cache()
            samples.add("scaling", key, "flystore cold", timed(run) / count)
            samples.add("scaling", key, "flystore warm", timed(run) / count)
            for name in ("fsspec", "set lookup"):
                run, count = variants[name]
                samples.add("scaling", key, name, timed(run) / count)


# -- 3. listing a big tree --------------------------------------------------------------


def make_tree(root: Path, directories: int, files_per_directory: int) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for directory in range(directories):
        folder = root / f"dir{directory:03d}"
        folder.mkdir(parents=True)
        prefix = str(folder) + os.sep
        for index in range(files_per_directory):
            os.close(os.open(f"{prefix}file{index:05d}.txt", flags, 0o644))
    return directories * files_per_directory


def walk_files(root: str) -> list[str]:
    """os.walk, producing what all_files() returns: relative '/' paths, sorted."""
    cut = len(root) + 1
    found: list[str] = []
    for directory, _subdirectories, files in os.walk(root):
        relative = directory[cut:].replace(os.sep, "/")
        prefix = relative + "/" if relative else ""
        found.extend(prefix + name for name in files)
    found.sort()
    return found


def scandir_files(root: str) -> list[str]:
    """os.scandir recursion, producing what all_files() returns."""
    found: list[str] = []

    def scan(directory: str, prefix: str) -> None:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    scan(entry.path, prefix + entry.name + "/")
                elif entry.is_file(follow_symlinks=False):
                    found.append(prefix + entry.name)

    scan(root, "")
    found.sort()
    return found


def bench_listing(samples: Samples, base: Path, directories: int, files_per_directory: int, repeats: int) -> int:
    root = base / "tree"
    total = make_tree(root, directories, files_per_directory)
    disk = LocalFilesystemAdapter(root)
    fs = LocalFileSystem()
    text_root = str(root)
    variants: dict[str, Callable[[], list[str]]] = {
        "flystore": disk.all_files,
        "os.walk": lambda: walk_files(text_root),
        "os.scandir": lambda: scandir_files(text_root),
        "fsspec.find": lambda: fs.find(text_root),
    }
    expected = walk_files(text_root)
    for name, run in variants.items():  # warm-up and a correctness check
        listed = run()
        assert len(listed) == total, (name, len(listed), total)
        if name != "fsspec.find":
            assert listed == expected, name
    for repeat in range(repeats):
        order = list(variants.items())
        random.Random(repeat).shuffle(order)
        for name, run in order:
            samples.add("listing", "all_files", name, timed(run))
    shutil.rmtree(root, ignore_errors=True)
    return total


# -- report ---------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def fmt_us(value: float) -> str:
    return f"{value:9.2f}"


def report(samples: Samples, args: argparse.Namespace, tree_files: int | None) -> list[str]:
    lines: list[str] = []
    out = lines.append
    out(
        f"flystore {flystore.__version__}  fsspec {fsspec.__version__}  Python {platform.python_version()}  "
        f"{platform.system()} {platform.machine()}  cpus={os.cpu_count()}"
    )
    out(f"N={args.n} ops x {args.repeats} repeats, 1 KiB payload; medians in microseconds per op")
    out("")
    header = (
        f"{'section':8} {'op':7} {'flystore':>9} {'fsspec':>9} {'os':>9} {'fly/fsspec':>10} {'fly/os':>8}  "
        f"target (<= {TARGET_VS_FSSPEC:.2f}x fsspec; stretch <= {STRETCH_VS_OS:.1f}x os)"
    )
    out(header)
    out("-" * len(header))
    missed: list[str] = []
    for section in ("local", "memory"):
        for op in OPS:
            fly = samples.us(section, op, "flystore")
            fss = samples.us(section, op, "fsspec")
            ratio_fsspec = fly / fss
            main_ok = ratio_fsspec <= TARGET_VS_FSSPEC
            if not main_ok:
                missed.append(f"{section} {op}")
            if section == "local":
                raw = samples.us(section, op, "os")
                ratio_os = fly / raw
                os_cols = fmt_us(raw)
                stretch = f"  stretch {verdict(ratio_os <= STRETCH_VS_OS)}"
                ratio_os_text = f"{ratio_os:7.2f}x"
            else:
                os_cols = f"{'-':>9}"
                stretch = ""
                ratio_os_text = f"{'-':>8}"
            out(
                f"{section:8} {op:7} {fmt_us(fly)} {fmt_us(fss)} {os_cols} {ratio_fsspec:9.2f}x {ratio_os_text}  "
                f"{verdict(main_ok)}{stretch}"
            )
    out("")
    small, large = args.sizes
    out(
        f"memory exists, per call (us): same probes, {small:,} vs {large:,} files on the disk. O(1) = PASS when "
        f"flystore grows <= {TARGET_O1_GROWTH:.1f}x, or its extra time is within 2x of a bare set lookup's extra "
        "(CPU-cache effect, not work)"
    )
    floor_small = samples.us("scaling", f"exists@{small}", "set lookup")
    floor_extra = samples.us("scaling", f"exists@{large}", "set lookup") - floor_small
    for variant in ("flystore cold", "flystore warm", "fsspec", "set lookup"):
        at_small = samples.us("scaling", f"exists@{small}", variant)
        at_large = samples.us("scaling", f"exists@{large}", variant)
        growth = at_large / at_small
        extra = at_large - at_small
        if variant.startswith("flystore"):
            ok = growth <= TARGET_O1_GROWTH or extra <= 2 * max(floor_extra, 0.0)
            tag = verdict(ok)
            if not ok:
                missed.append(f"memory exists O(1) ({variant.split()[1]})")
        elif variant == "fsspec":
            tag = "(O(n) reference)"
        else:
            tag = "(O(1) floor: `in` on a set of the same names)"
        out(f"  {variant:14} {at_small:10.2f} -> {at_large:10.2f}   x{growth:6.2f}  {extra:+10.2f} us/call  {tag}")
    if tree_files is not None:
        out("")
        out(
            f"all_files() on a {tree_files:,}-file local tree ({args.tree_dirs} dirs x {args.tree_files} files), "
            f"ms per call (target: <= {TARGET_LIST_VS_WALK:.1f}x os.walk)"
        )
        walk = samples.us("listing", "all_files", "os.walk")
        for variant in ("flystore", "os.walk", "os.scandir", "fsspec.find"):
            value = samples.us("listing", "all_files", variant)
            ratio = value / walk
            tag = ""
            if variant == "flystore":
                tag = verdict(ratio <= TARGET_LIST_VS_WALK)
                if ratio > TARGET_LIST_VS_WALK:
                    missed.append("all_files vs os.walk")
            out(f"  {variant:12} {value / 1000:9.1f} ms   {ratio:5.2f}x os.walk  {tag}")
    out("")
    out("targets missed: " + (", ".join(missed) if missed else "none"))
    return lines


# -- profiling ------------------------------------------------------------------------

PROFILE_TARGETS = (
    "local-put",
    "local-get",
    "local-exists",
    "local-delete",
    "memory-put",
    "memory-get",
    "memory-exists",
    "memory-delete",
    "all-files",
)


def profile(target: str, base: Path, count: int, tree: tuple[int, int]) -> None:
    """cProfile the flystore side of one measurement; prints the top functions by own time."""
    profiler = cProfile.Profile()
    if target == "all-files":
        root = base / "tree"
        make_tree(root, *tree)
        disk = LocalFilesystemAdapter(root)
        disk.all_files()
        profiler.runcall(disk.all_files)
    else:
        section, op = target.split("-")
        setup = setup_flystore_local if section == "local" else setup_flystore_memory
        ops, paths = setup(base / "profile", 0, count)
        run: dict[str, Callable[[], None]] = {}
        for name in OPS:

            def loop(function: Callable[..., Any] = ops[name], name: str = name) -> None:
                for path in paths:
                    if name == "put":
                        function(path, PAYLOAD)
                    else:
                        function(path)

            run[name] = loop
        for name in OPS:  # everything before ``op`` sets up its state
            if name == op:
                profiler.runcall(run[name])
                break
            run[name]()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)


# -- main ------------------------------------------------------------------------------


def parse(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short run: smaller N, fewer repeats, smaller tree")
    parser.add_argument("-n", type=int, default=None, help="operations per op and repeat (default 2000)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats; the median is reported (default 7)")
    parser.add_argument(
        "--sizes",
        type=int,
        nargs=2,
        default=(2000, 20000),
        metavar=("SMALL", "LARGE"),
        help="memory-disk file counts for the exists scaling check",
    )
    parser.add_argument("--tree-dirs", type=int, default=None, help="directories in the listing tree (default 50)")
    parser.add_argument("--tree-files", type=int, default=None, help="files per directory (default 1000)")
    parser.add_argument("--no-listing", action="store_true", help="skip the 50k-file tree")
    parser.add_argument("--tmpdir", default=None, help="where to create the temporary files (default: system temp)")
    parser.add_argument(
        "--profile",
        choices=PROFILE_TARGETS,
        default=None,
        help="cProfile the flystore side of one measurement instead of benchmarking",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    args.n = args.n or (300 if args.quick else 2000)
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.tree_dirs = args.tree_dirs or (10 if args.quick else 50)
    args.tree_files = args.tree_files or 1000
    args.sizes = tuple(args.sizes)
    return args


def main(argv: Iterable[str] | None = None) -> int:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="flystore-bench-", dir=args.tmpdir) as temp:
        base = Path(temp)
        if args.profile:
            profile(args.profile, base, args.n, (args.tree_dirs, args.tree_files))
            return 0
        samples = Samples()
        started = time.perf_counter()
        print(f"per-op: N={args.n}, {args.repeats} repeats ...", file=sys.stderr, flush=True)
        bench_ops(samples, base, args.n, args.repeats)
        print("memory exists scaling ...", file=sys.stderr, flush=True)
        fsspec_calls = max(50, args.n // 10)
        bench_memory_scaling(samples, args.sizes, args.n, fsspec_calls, args.repeats)
        tree_files = None
        if not args.no_listing:
            print(f"listing {args.tree_dirs * args.tree_files:,} files ...", file=sys.stderr, flush=True)
            tree_files = bench_listing(samples, base, args.tree_dirs, args.tree_files, max(3, args.repeats // 2 + 1))
        lines = report(samples, args, tree_files)
        print("\n".join(lines))
        print(f"\n(total {time.perf_counter() - started:.1f} s)")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
