"""The CLI entry point: argument handling, help, and that --help stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from acuity.cli.main import COMMANDS, build_parser, main


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_missing_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from acuity.cli.main import build_parser; build_parser(); "
        "heavy = [m for m in ('torch', 'monai', 'SimpleITK', 'skimage') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_every_command_has_a_runner() -> None:
    parser = build_parser()
    required = {
        "analyze": ["x", "-o", "y"],
        "segment": ["x", "-o", "y.nii.gz"],
        "batch": ["x", "-o", "y"],
        "listen": ["--spool", "x"],
    }
    for name in COMMANDS:
        args = parser.parse_args([name, *required.get(name, ["x"])])
        assert callable(args.run)


def test_missing_folder_is_a_clear_error(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    status = main(["info", str(tmp_path / "nope")])
    assert status == 1
    err = capsys.readouterr().err
    assert "nope" in err and "error" in err
