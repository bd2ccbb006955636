"""`kanal sms info` prints what the engine decided, with visible part boundaries."""

import json

from typer.testing import CliRunner

from kanal.cli import app

runner = CliRunner()


def test_sms_info_shows_parts_and_the_reason_for_unicode() -> None:
    result = runner.invoke(app, ["sms", "info", "Zażółć gęślą jaźń " * 5])
    assert result.exit_code == 0, result.output
    assert "UCS-2" in result.output and "2 SMS" in result.output
    assert result.output.count("⟦") == 2
    assert "Unicode because of: ż ó ł ć ę ś ą ź ń" in result.output


def test_sms_info_json_with_options() -> None:
    result = runner.invoke(
        app, ["sms", "info", "Zażółć – „gęślą”", "--transliterate", "--smart", "--json"]
    )
    data = json.loads(result.output)
    assert (data["text"], data["encoding"], data["segments"]) == ('Zazolc - "gesla"', "GSM-7", 1)
