"""The durable client binding of a 2.x app: the JSON document the SDK's
``DurableFunctionsClient`` parses (``_parse_client_configuration``). ``rpcBaseUrl`` names the
host's gRPC endpoint, where the client sends every management call; ``baseUrl`` /
``httpBaseUrl`` build the HTTP management URLs of ``create_check_status_response``."""

from __future__ import annotations

import json

__all__ = ["client_binding_json"]


def client_binding_json(*, task_hub: str, rpc_base_url: str, http_base_url: str,
                        connection_name: str = "Storage",
                        required_query: str = "") -> str:
    """``http_base_url``: the management API root, e.g.
    ``http://127.0.0.1:7071/runtime/webhooks/durabletask``."""
    return json.dumps({
        "taskHubName": task_hub,
        "connectionName": connection_name,
        "creationUrls": {},
        "managementUrls": {},
        "baseUrl": http_base_url,
        "httpBaseUrl": http_base_url,
        "requiredQueryStringParameters": required_query,
        "rpcBaseUrl": rpc_base_url,
        "useForwardedHost": False,
        "maxGrpcMessageSizeInBytes": 0,
        "grpcHttpClientTimeout": "00:01:40",
    })
