"""A 2.x app whose large payloads live in Blob Storage: the 2.x SDK's ``BlobPayloadStore``
(``configure_large_payloads``) with a 1 KiB threshold, its connection string from the
``PayloadStorage`` setting (Azurite in the tests). Both activities report what they received."""

import os

import azure.durable_functions as df
import azure.functions as func
from durabletask import task
from durabletask.extensions.azure_blob_payloads import BlobPayloadStore, BlobPayloadStoreOptions

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.configure_large_payloads(payload_store=BlobPayloadStore(BlobPayloadStoreOptions(
    connection_string=os.environ["PayloadStorage"], threshold_bytes=1024)))


@app.activity_trigger(input_name="text")
def measure_sync(text: str) -> dict:
    return {"length": len(text), "echo": text}


@app.activity_trigger(input_name="text")
async def measure_async(text: str) -> dict:
    return {"length": len(text), "echo": text}


@app.orchestration_trigger(context_name="ctx")
def relay(ctx: task.OrchestrationContext, text: str):
    sync = yield ctx.call_activity("measure_sync", input=text)
    async_ = yield ctx.call_activity("measure_async", input=text)
    return {"input": len(text), "sync": sync["length"], "async": async_["length"],
            "echoed": sync["echo"] == text and async_["echo"] == text}
