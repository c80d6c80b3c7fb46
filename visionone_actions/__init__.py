"""visionone-actions: the companion CLI that runs Vision One response actions through pytmv1.

:mod:`.table` lists every subcommand (options, permissions, pytmv1 call); :mod:`.cli` builds the click
commands from it; :mod:`.rows` turns options and ``--from-file`` rows into inputs; :mod:`.runner` makes
the pytmv1 calls (or, with ``--dry-run``, only shows them); :mod:`.settings` reads the tap's settings;
:mod:`.output` prints results; :mod:`.console_accounts` sends the console-account (IAM) requests pytmv1
lacks, on connector_kit's HTTP code.
"""
