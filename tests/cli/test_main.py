"""``multicam.cli.main``: usage mistakes end with click's message and its exit code, never a traceback."""

from __future__ import annotations

import pytest

from multicam.cli import main


@pytest.mark.parametrize(
    "args, code, message",
    [
        ([], 2, "Usage:"),  # no command: the help, as a usage error
        (["process", "--bogus"], 2, "No such option: --bogus"),
        (["no-such-command"], 2, "No such command"),
        (["sync"], 2, "Missing argument"),
        (["--help"], 0, "Usage:"),
    ],
)
def test_usage_errors_print_the_message_and_exit_with_its_code(monkeypatch, capsys, args, code, message):
    monkeypatch.setattr("sys.argv", ["multicam", *args])
    with pytest.raises(SystemExit) as excinfo:
        main()
    out = capsys.readouterr()
    assert excinfo.value.code == code
    assert message in out.out + out.err
    assert "Traceback" not in out.err
