"""The write and by-id endpoints (response actions, tasks, sandbox, scripts, API keys, threat-intel lists,
workbench alert and notes, the eiqs endpoint search): method + path template -> handler.

The list endpoints of :data:`tests.simulator.world.PATHS` stay GET routes of their own; a path may have
both (``GET /v3.0/iam/apiKeys`` lists, ``POST`` creates). Templates name their variable segments
``{...}``; rate limits and :meth:`Simulator.forbid` count a template as one API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.simulator import actions, endpoints, iam, response, sandbox, threatintel, workbench
from tests.simulator.common import Answer, Call

Handler = Callable[[Any, Call], Answer]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        regex = "".join(
            "([^/]+)" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", self.template)
            if part
        )
        object.__setattr__(self, "pattern", re.compile(regex))


def _json(handler: Callable[[Any, Call], dict[str, Any]]) -> Handler:
    return lambda world, call: Answer(200, handler(world, call))


V = "/v3.0"
ROUTES: tuple[Route, ...] = (
    # response actions -> 207 + tasks
    Route("POST", f"{V}/response/endpoints/isolate", actions.isolate),
    Route("POST", f"{V}/response/endpoints/restore", actions.restore),
    Route("POST", f"{V}/response/endpoints/collectFile", actions.collect_file),
    Route("POST", f"{V}/response/endpoints/terminateProcess", actions.terminate_process),
    Route("POST", f"{V}/response/endpoints/runScript", actions.run_script),
    Route("POST", f"{V}/response/suspiciousObjects", actions.add_block),
    Route("POST", f"{V}/response/suspiciousObjects/delete", actions.remove_block),
    Route("POST", f"{V}/response/emails/quarantine", actions.quarantine_email),
    Route("POST", f"{V}/response/emails/delete", actions.delete_email),
    Route("POST", f"{V}/response/emails/restore", actions.restore_email),
    Route("POST", f"{V}/response/domainAccounts/disable", actions.disable_account),
    Route("POST", f"{V}/response/domainAccounts/enable", actions.enable_account),
    Route("POST", f"{V}/response/domainAccounts/signOut", actions.sign_out_account),
    Route("POST", f"{V}/response/domainAccounts/resetPassword", actions.reset_password),
    Route("GET", f"{V}/response/tasks/{{id}}", actions.get_task),
    # custom scripts (the list is a PATHS route)
    Route("POST", f"{V}/response/customScripts", response.add_script),
    Route("GET", f"{V}/response/customScripts/{{id}}", response.download_script),
    Route("DELETE", f"{V}/response/customScripts/{{id}}", response.delete_script),
    Route("POST", f"{V}/response/customScripts/{{id}}/update", response.update_script),
    # sandbox
    Route("POST", f"{V}/sandbox/files/analyze", sandbox.submit_file),
    Route("POST", f"{V}/sandbox/urls/analyze", sandbox.submit_urls),
    Route("GET", f"{V}/sandbox/tasks/{{id}}", sandbox.get_status),
    Route("GET", f"{V}/sandbox/analysisResults/{{id}}", sandbox.get_result),
    Route("GET", f"{V}/sandbox/analysisResults/{{id}}/report", sandbox.get_report),
    Route("GET", f"{V}/sandbox/analysisResults/{{id}}/investigationPackage", sandbox.get_package),
    Route("GET", f"{V}/sandbox/analysisResults/{{id}}/suspiciousObjects", sandbox.get_suspicious),
    # IAM API keys (the list is a PATHS route)
    Route("POST", f"{V}/iam/apiKeys", iam.create_api_keys),
    Route("POST", f"{V}/iam/apiKeys/delete", iam.delete_api_keys),
    Route("GET", f"{V}/iam/apiKeys/{{id}}", iam.get_api_key),
    Route("PATCH", f"{V}/iam/apiKeys/{{id}}", iam.update_api_key),
    # IAM console accounts (the list is a PATHS route)
    Route("GET", f"{V}/iam/accounts/{{id}}", iam.get_account),
    Route("PATCH", f"{V}/iam/accounts/{{id}}", iam.update_account),
    Route("DELETE", f"{V}/iam/accounts/{{id}}", iam.delete_account),
    # threat intel lists (the lists are PATHS routes)
    Route("POST", f"{V}/threatintel/suspiciousObjects", threatintel.add_suspicious),
    Route("POST", f"{V}/threatintel/suspiciousObjects/delete", threatintel.delete_suspicious),
    Route("POST", f"{V}/threatintel/suspiciousObjectExceptions", threatintel.add_exception),
    Route("POST", f"{V}/threatintel/suspiciousObjectExceptions/delete", threatintel.delete_exception),
    # workbench alert + notes (the alert list is a PATHS route)
    Route("GET", f"{V}/workbench/alerts/{{id}}", workbench.get_alert),
    Route("PATCH", f"{V}/workbench/alerts/{{id}}", workbench.update_alert),
    Route("POST", f"{V}/workbench/alerts/{{id}}/notes", workbench.add_note),
    Route("GET", f"{V}/workbench/alerts/{{id}}/notes", workbench.list_notes),
    Route("POST", f"{V}/workbench/alerts/{{id}}/notes/delete", workbench.delete_notes),
    Route("GET", f"{V}/workbench/alerts/{{id}}/notes/{{noteId}}", workbench.get_note),
    Route("PATCH", f"{V}/workbench/alerts/{{id}}/notes/{{noteId}}", workbench.update_note),
    # legacy endpoint search
    Route("GET", endpoints.EIQS_PATH, _json(endpoints.list_eiqs)),
)
TEMPLATES: tuple[str, ...] = tuple(dict.fromkeys(r.template for r in ROUTES))


def match(method: str, path: str) -> tuple[Route | None, tuple[str, ...], list[str]]:
    """(the route for ``method`` on ``path`` or None, its URL-decoded arguments, every method ``path`` takes).

    A literal route wins over a template (``/iam/apiKeys/delete`` is not the key ``delete``).
    """
    found: list[tuple[Route, tuple[str, ...]]] = []
    for route in ROUTES:
        m = route.pattern.fullmatch(path)
        if m:
            found.append((route, tuple(unquote(g) for g in m.groups())))
    methods = list(dict.fromkeys(r.method for r, _ in found))
    for route, args in sorted(found, key=lambda f: len(f[1])):
        if route.method == method:
            return route, args, methods
    return None, (), methods
