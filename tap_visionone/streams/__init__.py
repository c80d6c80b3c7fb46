"""Every stream of the tap, in the order the SDK syncs and ``--discover`` lists them."""

from __future__ import annotations

from tap_visionone.client import VisionOneStream
from tap_visionone.streams.audit import AuditLogsStream
from tap_visionone.streams.endpoints import EndpointsStream
from tap_visionone.streams.iam import ApiKeysStream, IamAccountsStream
from tap_visionone.streams.oat import OatDetectionsStream
from tap_visionone.streams.response import CustomScriptsStream, ResponseTasksStream
from tap_visionone.streams.search import SEARCH_STREAMS
from tap_visionone.streams.threatintel import ExceptionObjectsStream, SuspiciousObjectsStream
from tap_visionone.streams.workbench import WorkbenchAlertsStream

STREAMS: tuple[type[VisionOneStream], ...] = (
    *SEARCH_STREAMS,
    WorkbenchAlertsStream,
    OatDetectionsStream,
    AuditLogsStream,
    ResponseTasksStream,
    IamAccountsStream,
    ApiKeysStream,
    CustomScriptsStream,
    SuspiciousObjectsStream,
    ExceptionObjectsStream,
    EndpointsStream,
)
STREAM_NAMES: tuple[str, ...] = tuple(stream.name for stream in STREAMS)
