"""abc_verl.files, the one atomic writer: concurrent writers of one path, interruption, and the file mode; the
one JSON-lines reader."""

import stat
import subprocess
import sys
import threading

import pytest

from abc_verl.files import atomic_open, atomic_write_bytes, atomic_write_json, read_jsonl


def current_umask() -> int:
    """The process umask, read without changing it (Linux's /proc)."""
    for line in open("/proc/self/status"):
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    pytest.skip("no Umask in /proc/self/status")


def test_two_threads_writing_one_path_never_leave_a_partial_or_foreign_mode_file(tmp_path):
    target = tmp_path / "summary.json"
    contents = [bytes([65 + i]) * 1_000_000 for i in range(2)]  # 1 MB each: a torn write would show
    expected_mode = 0o666 & ~current_umask()
    stop, seen, bad = threading.Event(), set(), []

    def writer(data: bytes) -> None:
        for _ in range(40):
            atomic_write_bytes(target, data)

    def reader() -> None:
        while not stop.is_set():
            try:
                data = target.read_bytes()
            except FileNotFoundError:
                continue
            seen.add(data[:1])
            if data not in contents:
                bad.append(len(data))

    threads = [threading.Thread(target=writer, args=(c,)) for c in contents]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert bad == [] and seen  # every read saw one whole file
    assert target.read_bytes() in contents
    assert stat.S_IMODE(target.stat().st_mode) == expected_mode
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary file left


def test_the_mode_follows_the_umask_like_any_new_file(tmp_path):
    """In a process of its own: a test must not change this process's umask under other threads."""
    code = (
        "import os, sys; from pathlib import Path; from abc_verl.files import atomic_write_text; os.umask(0o027);"
        "d = Path(sys.argv[1]); atomic_write_text(d / 'a.txt', 'x'); (d / 'plain.txt').write_text('x')"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640


def test_an_error_while_writing_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "table.md"
    atomic_write_json(target, {"old": 1})
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(target) as fh:
            fh.write("half a tab")
            raise KeyboardInterrupt
    assert target.read_text() == '{\n  "old": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["table.md"]


def test_only_whole_file_modes(tmp_path):
    with pytest.raises(ValueError, match="mode 'w' or 'wb', not 'a'"):
        with atomic_open(tmp_path / "x", "a"):
            pass


def test_read_jsonl_skips_blank_lines_and_returns_the_objects(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n  \n{"b": [2]}\n')
    assert read_jsonl(path) == [{"a": 1}, {"b": [2]}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1}\n{"a": \n', "line 2: not valid JSON"),
        ('{"a": 1}\n\n[1, 2]\n', "line 3: expected a JSON object, got list"),
    ],
)
def test_read_jsonl_names_the_file_and_line_of_a_bad_line(tmp_path, text, message):
    path = tmp_path / "rows.jsonl"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"^{path}, {message}"):
        read_jsonl(path)


def test_read_jsonl_names_the_line_of_bytes_that_are_not_utf8(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": "\xff"}\n')
    with pytest.raises(ValueError, match=f"^{path}: not UTF-8 text"):
        read_jsonl(path)
