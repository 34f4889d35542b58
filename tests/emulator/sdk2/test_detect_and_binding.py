"""Which SDK generation an app is written for, and the client binding a 2.x app gets."""

import json
from types import SimpleNamespace

from emulator.sdk2 import SdkGeneration, app_generation, client_binding_json


def _binding(kind, name="x", **extra):
    return SimpleNamespace(type=kind, name=name, **extra)


def _function(trigger, *bindings):
    return SimpleNamespace(get_trigger=lambda: trigger,
                           get_bindings=lambda: [trigger, *bindings])


def test_a_durable_trigger_marked_for_grpc_makes_the_app_2x():
    functions = [_function(_binding("httpTrigger")),
                 _function(_binding("orchestrationTrigger", durable_requires_grpc=True))]
    assert app_generation(functions) == SdkGeneration.V2


def test_a_client_binding_alone_decides_too():
    http = _function(_binding("httpTrigger"), _binding("durableClient",
                                                       durable_requires_grpc=True))
    assert app_generation([http]) == SdkGeneration.V2


def test_unmarked_durable_triggers_and_apps_without_durable_functions_are_1x():
    assert app_generation([_function(_binding("activityTrigger"))]) == SdkGeneration.V1
    assert app_generation([_function(_binding("httpTrigger"))]) == SdkGeneration.V1
    assert app_generation([]) == SdkGeneration.V1


def test_the_client_binding_names_the_grpc_endpoint_and_the_management_api():
    body = json.loads(client_binding_json(
        task_hub="Hub", rpc_base_url="http://127.0.0.1:4001",
        http_base_url="http://127.0.0.1:7071/runtime/webhooks/durabletask"))
    assert body["rpcBaseUrl"] == "http://127.0.0.1:4001" and body["taskHubName"] == "Hub"
    assert body["httpBaseUrl"] == body["baseUrl"]
    assert body["maxGrpcMessageSizeInBytes"] == 0  # keep the gRPC library's limits
