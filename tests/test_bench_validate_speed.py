"""bench/validate_speed.py's report: its own section, every other section kept."""

from __future__ import annotations

from bench.validate_speed import TITLE, ValidateTiming, replace_section, section


def _timing(slos: int, seconds: float, failed: int = 0) -> ValidateTiming:
    return ValidateTiming(slos, slos // 2, slos * 9, failed, seconds, seconds * 2, 1.0, 2.0, 2)


def test_the_section_replaces_only_itself_and_says_whether_the_target_is_met():
    lines = section([_timing(100, 20.0), _timing(1000, 150.0)], "Measured now.")
    assert lines[0] == TITLE and "**met**" in "\n".join(lines)
    previous = (
        "# sloforge benchmarks\n\n## Render throughput\n\nold render\n\n" + TITLE + "\n\nold\n\n## Later\n\nkept\n"
    )
    text = replace_section(previous, lines)
    assert "old render" in text and "## Later\n\nkept\n" in text and "\nold\n" not in text
    assert text.count(TITLE) == 1 and replace_section(text, lines) == text
    slow = section([_timing(1000, 600.0)], "Measured now.")
    assert "**NOT met**" in "\n".join(slow)
    assert "**NOT met**" in "\n".join(section([_timing(1000, 100.0, failed=1)], "Measured now."))


def test_a_results_file_without_the_section_gets_it_at_the_end():
    lines = section([_timing(100, 20.0)], "Measured now.")
    text = replace_section("# sloforge benchmarks\n\n## Render throughput\n\nx\n", lines)
    assert text.endswith("\n".join(lines)) and "## Render throughput\n\nx\n" in text
