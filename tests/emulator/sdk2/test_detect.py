"""Which SDK generation an app is written for."""

from types import SimpleNamespace

from emulator.worker.sdk2 import SdkGeneration, app_generation


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
