"""``visionone-actions``: one click command per entry of :data:`visionone_actions.table.ACTIONS`.

Exit codes: 0 every item succeeded; 1 an item failed, or the run stopped (key refused, no permission, API
unreachable, not confirmed); 2 the inputs or settings are wrong and nothing was sent. Errors are one line on
stderr, ``visionone-actions: error: ...``, and never contain the API key.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from connector_kit.errors import SettingsError
from connector_kit.visionone_regions import REGIONS
from visionone_actions.output import render
from visionone_actions.rows import InputError, build_rows
from visionone_actions.runner import FatalError, Runner, one_line
from visionone_actions.settings import PREFIX, read_settings
from visionone_actions.table import ACTIONS, Action, Kind, Option

PROG = "visionone-actions"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


class NotConfirmedError(Exception):
    pass


def _click_option(option: Option) -> click.Option:
    notes = []
    if option.required:
        notes.append("required")
    if option.default is not None and option.type != "bool":
        notes.append(f"default: {option.default}")
    help_text = option.help + (f" [{'; '.join(notes)}]" if notes else "")
    dest = f"opt_{option.name}"
    if option.type == "bool":
        flag = option.flag
        default = "" if option.default is None else f" [default: {'on' if option.default else 'off'}]"
        return click.Option([f"{flag}/--no-{flag[2:]}", dest], default=None, help=help_text + default)
    types: dict[str, Any] = {
        "int": click.INT,
        "float": click.FLOAT,
        "choice": click.Choice(option.choices, case_sensitive=False),
        "file": click.Path(dir_okay=False, path_type=str),
    }
    metavar = {"json": "JSON", "csv": "A,B", "file": "FILE"}.get(option.type)
    return click.Option(
        [option.flag, dest],
        type=types.get(option.type, click.STRING),
        multiple=option.multiple,
        metavar=metavar,
        help=help_text,
    )


def _common_options(action: Action) -> list[click.Option]:
    options = [
        click.Option(
            ["--from-file", "from_file"],
            type=click.Path(dir_okay=False, path_type=Path),
            help="Run once per row of a .csv (header line) or .jsonl file; columns are named after the "
            "options (case-insensitive, - or _). Options given here fill what a row leaves empty."
            + (
                f" Rows are sent together, {action.batch_size} per request."
                if action.kind is Kind.MULTI
                else ""
            ),
        ),
        click.Option(
            ["--dry-run", "dry_run"],
            is_flag=True,
            help="Print every request that would be sent (host, method, path, query, headers with the "
            "key as Bearer ***, body) and send nothing; needs no API key.",
        ),
        click.Option(
            ["--output", "-o", "output"],
            type=click.Choice(["json", "table"]),
            default="json",
            show_default=True,
            help="JSON for scripts, table for people.",
        ),
        click.Option(
            ["--config", "config"],
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"The tap's JSON config (api_key, region or api_url, verify_ssl). Default: {PREFIX}* "
            "environment variables, then a .env file in the working directory.",
        ),
    ]
    if action.items_input:
        flag = "--" + action.items_input.replace("_", "-")
        options.append(
            click.Option(
                [flag, "items_json"],
                metavar="JSON",
                help="Several items at once as a JSON array of objects with the option names as keys "
                f"(the replaced integration's `{action.items_input}` input).",
            )
        )
    if action.destructive:
        options.append(
            click.Option(["--yes", "-y", "yes"], is_flag=True, help="Do not ask for confirmation.")
        )
    if action.wait:
        what = "task" if action.wait == "task" else "sandbox submission"
        options += [
            click.Option(
                ["--wait", "wait"],
                is_flag=True,
                help=f"Poll each {what} started until it is done or --timeout passes (progress on stderr); "
                "an item whose task did not succeed counts as failed.",
            ),
            click.Option(
                ["--timeout", "timeout"],
                type=click.FloatRange(min=0),
                default=600.0,
                show_default=True,
                help="Seconds --wait waits at most.",
            ),
            click.Option(
                ["--poll-interval", "poll_interval"],
                type=click.FloatRange(min=0.1),
                default=2.0,
                show_default=True,
                help="Seconds between two polls of --wait.",
            ),
        ]
    if action.kind is Kind.DOWNLOAD and action.filename:
        placeholder = action.filename({o.name: "<" + o.name + ">" for o in action.options})
        options.append(
            click.Option(
                ["--output-file", "output_file"],
                type=click.Path(path_type=Path),
                help="Where to write the file (a directory: the default name inside it). Default: "
                f"{placeholder} in the working directory.",
            )
        )
    return options


def _help(action: Action) -> str:
    batch = " Items go to the API together (one multi-status request)." if action.kind is Kind.MULTI else ""
    if action.kind is Kind.CONSOLE:
        call = (
            f"Request: {action.call} (not in pytmv1: sent with the taps' throttled, retried HTTP code); "
            "--email first costs one GET /v3.0/iam/accounts with TMV1-Filter: email eq '...'."
        )
    else:
        call = f"pytmv1 call: client.{action.call}(...)."
    return f"{action.help}{batch}\n\nAPI key role permissions: {action.permissions}.\n\n{call}" + (
        "\n\nDestructive: asks for confirmation unless --yes." if action.destructive else ""
    )


def _short(text: str, limit: int = 64) -> str:
    first = text.split(". ")[0].split(" (")[0].split("; ")[0].rstrip(".")
    return first if len(first) <= limit else first[: limit - 3].rsplit(" ", 1)[0] + "..."


def _command(action: Action) -> click.Command:
    def callback(**params: Any) -> int:
        return run_action(action, params)

    return click.Command(
        action.name,
        callback=callback,
        params=[_click_option(option) for option in action.options] + _common_options(action),
        help=_help(action),
        short_help=_short(action.help),
        context_settings=CONTEXT,
    )


def _confirm(action: Action, rows: list[dict[str, Any]]) -> None:
    shown = "; ".join(
        ", ".join(f"{k}={v}" for k, v in row.items() if k != "description" and not isinstance(v, dict))
        for row in rows[:3]
    )
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    try:
        confirmed = click.confirm(f"{action.name}: {len(rows)} item(s): {shown}{more}. Continue?", err=True)
    except click.Abort:
        confirmed = False
    if not confirmed:
        raise NotConfirmedError(
            f"{action.name} not confirmed; nothing was sent (pass --yes to skip the question)"
        )


def run_action(action: Action, params: dict[str, Any]) -> int:
    given = {
        option.name: params[f"opt_{option.name}"]
        for option in action.options
        if params.get(f"opt_{option.name}") not in (None, ())
    }
    dry_run = bool(params.get("dry_run"))
    rows, ignored = build_rows(action, given, params.get("from_file"), params.get("items_json"))
    if ignored:
        click.echo(f"{PROG}: note: ignoring column(s) that match no option: {', '.join(ignored)}", err=True)
    settings = read_settings(params.get("config"), need_key=not dry_run)
    output_file = params.get("output_file")
    if output_file is not None and len(rows) > 1 and not output_file.is_dir():
        raise InputError(f"--output-file {output_file} must be a directory when there are {len(rows)} rows")
    if action.destructive and not dry_run and not params.get("yes"):
        _confirm(action, rows)
    if action.kind is Kind.CONSOLE:  # not in pytmv1; imported here, as it loads the Singer SDK
        from visionone_actions.console_accounts import ConsoleAccounts

        result = ConsoleAccounts(action, settings, dry_run=dry_run).run(rows)
        click.echo(render(action.name, result, len(rows), params.get("output") or "json"))
        return 1 if isinstance(result, list) and any(not outcome.ok for outcome in result) else 0
    runner = Runner(action, settings, dry_run=dry_run, output_file=output_file)
    result = runner.run(rows)
    if isinstance(result, list) and params.get("wait"):
        runner.wait(result, params["timeout"], params["poll_interval"])
    click.echo(render(action.name, result, len(rows), params.get("output") or "json"))
    if isinstance(result, list) and any(not outcome.ok for outcome in result):
        return 1
    return 0


GROUP_HELP = f"""Trend Vision One response actions (isolate, block, collect, ...) through pytmv1.

One subcommand per action of the integration this replaces, plus its three triggers as one-shot poll-*
commands, plus the console-account (IAM) commands pytmv1 lacks (*-console-account: Vision One's own
users, where disable-account acts on directory accounts); `visionone-actions COMMAND --help` shows a
command's options and the API key role permissions it needs.

Settings are the tap's: --config FILE (its JSON config), else the environment variables
TAP_VISIONONE_API_KEY, TAP_VISIONONE_API_URL or TAP_VISIONONE_REGION ({", ".join(REGIONS)}) and
TAP_VISIONONE_VERIFY_SSL, else the same names in a .env file in the working directory.

Exit codes: 0 all items succeeded, 1 an item failed or the run stopped, 2 wrong inputs (nothing sent).
"""


@click.group(context_settings=CONTEXT, help=GROUP_HELP)
@click.version_option(package_name="visionone-connectors", prog_name=PROG)
def cli() -> None:
    pass


for _action in ACTIONS:
    cli.add_command(_command(_action))


def _scrub(message: str) -> str:
    key = os.environ.get(PREFIX + "API_KEY", "").strip()
    message = one_line(message)
    return message.replace(key, "***") if len(key) >= 4 else message


def _fail(message: str, code: int) -> None:
    click.echo(f"{PROG}: error: {_scrub(message)}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console script entry point."""
    try:
        code = cli.main(args=argv, prog_name=PROG, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "")
        sys.exit(0)
    except click.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except click.Abort:
        _fail("aborted", 1)
    except (InputError, SettingsError) as exc:
        _fail(str(exc), 2)
    except (FatalError, NotConfirmedError) as exc:
        _fail(str(exc), 1)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
