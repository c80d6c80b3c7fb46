"""Identity and access: the console's user accounts and the API keys."""

from __future__ import annotations

import typing as t

from singer_sdk import SchemaDirectory, StreamSchema

from tap_visionone import schemas
from tap_visionone.client import FullTableStream

IAM_PAGE_SIZES = (50, 100, 200)


class IamAccountsStream(FullTableStream):
    """User accounts, with role and status: half of the inactive-account report."""

    name = "iam_accounts"
    path = "/v3.0/iam/accounts"
    primary_keys = ("id",)
    schema = StreamSchema(SchemaDirectory(schemas))
    filter_header = "TMV1-Filter"
    page_sizes = IAM_PAGE_SIZES
    options: t.ClassVar[dict[str, str]] = {
        "filter": "TMV1-Filter expression, e.g. `status eq 'enabled'`.",
    }


class ApiKeysStream(FullTableStream):
    """API keys' metadata (name, role, expiry, last use); the list never returns key values."""

    name = "api_keys"
    path = "/v3.0/iam/apiKeys"
    primary_keys = ("id",)
    schema = StreamSchema(SchemaDirectory(schemas))
    filter_header = "TMV1-Filter"
    page_sizes = IAM_PAGE_SIZES
    options: t.ClassVar[dict[str, str]] = {
        "filter": "TMV1-Filter expression, e.g. `status eq 'enabled'`.",
    }
