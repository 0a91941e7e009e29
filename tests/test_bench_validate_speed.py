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


def test_editing_one_slo_changes_only_its_service_files(tmp_path):
    from bench.specs import mixed_specs, write_specs
    from bench.validate_speed import edit_one_slo
    from generator.pipeline import load_model
    from generator.targets import render_all

    specs = write_specs(mixed_specs(20), tmp_path / "specs")
    before = render_all(load_model(specs))
    edit_one_slo(specs)
    after = render_all(load_model(specs))
    changed_tests = {path for path in before if path.endswith(".test.yaml") and before[path] != after[path]}
    all_tests = {path for path in before if path.endswith(".test.yaml")}
    assert changed_tests and len(changed_tests) < len(all_tests)
    services = {path.rsplit("/", 1)[1].split(".")[0] for path in changed_tests}
    assert len(services) == 1, services
