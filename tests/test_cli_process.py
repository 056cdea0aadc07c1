"""``python -m flystore`` as a real process: exit codes, the shape of stderr, config resolution,
and the fallback that keeps ``demo``/``disks`` working without the cli extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Blocks click and rich as if the cli extra were not installed, then runs ``python -m flystore``.
WITHOUT_CLI_EXTRA = (
    "import runpy, sys; sys.modules['click'] = None; sys.modules['rich'] = None; "
    "runpy.run_module('flystore', run_name='__main__', alter_sys=True)"
)


def run_all(
    commands: list[list[str]], cwd: Path, extra_env: dict[str, str] | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """Run ``python ARGS`` for every command at once (each its own process); results in order."""
    return run_each([(args, cwd, extra_env or {}) for args in commands])


def run_each(commands: list[tuple[list[str], Path, dict[str, str]]]) -> list[subprocess.CompletedProcess[str]]:
    """Like ``run_all``, each command with its own working directory and extra environment."""
    running = []
    for args, cwd, extra_env in commands:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(ROOT), **extra_env}
        running.append((args, subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, text=True,
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
    done = []
    for args, process in running:
        stdout, stderr = process.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(args, process.returncode, stdout, stderr))
    return done


def test_exit_codes_and_one_line_errors_unless_debug(tmp_path: Path) -> None:
    config = tmp_path / "filesystems.py"
    disks = {"local": {"driver": "local", "root": str(tmp_path / "a")}}
    config.write_text(f"FILESYSTEMS = {{'disks': {disks!r}}}\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "here.txt").write_text("here")
    flystore = ["-m", "flystore", "--config", str(config)]
    ok, missing, debug, usage, unknown_disk, traversal, failed = run_all([
        [*flystore, "cat", "local://here.txt"],
        [*flystore, "cat", "local://missing.txt"],
        [*flystore, "--debug", "cat", "local://missing.txt"],
        [*flystore, "ls", "--no-such-option"],
        [*flystore, "ls", "nowhere://"],
        [*flystore, "cat", "local://../../etc/passwd"],
        [*flystore, "put", str(tmp_path / "a" / "here.txt"), "local://here.txt/under-a-file.txt"],
    ], tmp_path)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "here", "")
    assert missing.returncode == 3 and missing.stdout == ""
    assert missing.stderr.splitlines() == [
        "Error: Unable to find file at location: missing.txt on disk 'local'. no file exists at this path"]
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "FileNotFound" in debug.stderr
    assert usage.returncode == 2 and "No such option '--no-such-option'" in usage.stderr
    assert unknown_disk.returncode == 2
    assert unknown_disk.stderr.splitlines() == [
        "Error: disk 'nowhere' is not configured; configured disks: 'local'"]
    assert traversal.returncode == 2 and len(traversal.stderr.splitlines()) == 1
    assert "root" not in traversal.stdout and "Traceback" not in traversal.stderr
    assert failed.returncode == 1 and len(failed.stderr.splitlines()) == 1
    assert failed.stderr.startswith("Error: ") and "'local'" in failed.stderr


def test_the_configuration_comes_from_the_same_places_as_the_librarys(tmp_path: Path) -> None:
    named = tmp_path / "named.py"
    named.write_text("FILESYSTEMS = {'default': 'n', 'disks': {'n': {'driver': 'memory'}}}\n")
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "config" / "filesystems.py").write_text(textwrap.dedent("""\
        FILESYSTEMS = {"default": "files", "disks": {"files": {"driver": "local", "root": "files"},
                                                     "tmp": {"driver": "memory"}}}
    """))
    bare = tmp_path / "bare"
    bare.mkdir()
    disks = ["-m", "flystore", "disks"]
    conventional, option_wins, from_env, built_in, broken = run_each([
        (disks, project, {}),
        (["-m", "flystore", "--config", str(named), "disks"], project, {}),
        (disks, project, {"FLYSTORE_CONFIG": str(named)}),
        (disks, bare, {}),
        (["-m", "flystore", "--config", str(tmp_path / "missing.py"), "disks"], bare, {}),
    ])
    assert conventional.stdout.splitlines() == ["* files: local", "  tmp: memory"]
    assert option_wins.stdout.splitlines() == ["* n: memory"]
    assert from_env.stdout.splitlines() == ["* n: memory"]
    assert built_in.stdout.splitlines() == ["* local: local", "  public: local"]
    assert broken.returncode == 2 and "missing.py" in broken.stderr


def test_demo_and_disks_work_without_click_and_rich_and_the_rest_names_the_extra(tmp_path: Path) -> None:
    demo, disks, ls, help_page = run_all([
        ["-c", WITHOUT_CLI_EXTRA, "demo"],
        ["-c", WITHOUT_CLI_EXTRA, "disks"],
        ["-c", WITHOUT_CLI_EXTRA, "ls", "local://"],
        ["-c", WITHOUT_CLI_EXTRA, "--help"],
    ], tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "real disk untouched: True" in demo.stdout
    assert disks.stdout.splitlines() == ["* local: local", "  public: local"]
    assert ls.returncode == 1
    assert ls.stderr.strip().endswith('Install it with: pip install "flystore[cli]"')
    assert help_page.returncode == 0 and 'pip install "flystore[cli]"' in help_page.stdout
