"""A test app with timer, queue, blob and Service Bus triggers, storage bindings and durable
client bindings on non-HTTP triggers (the local host's trigger sources, end to end).

Settings: NIGHTLY (the timer's schedule), ORDERS (the queue), MARKERS (a folder where the
Service Bus function and the slow queue function write what they saw).
"""

import json
import os
import time
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def echo(context: df.DurableOrchestrationContext):
    return context.get_input()


@app.timer_trigger(arg_name="timer", schedule="%NIGHTLY%")
@app.durable_client_input(client_name="client")
async def nightly(timer: func.TimerRequest, client) -> None:
    occurrence = timer.schedule_status["Next"]
    await client.start_new("echo", f"nightly-{occurrence}",
                           {"pastDue": timer.past_due, "status": timer.schedule_status})


@app.queue_trigger(arg_name="msg", queue_name="%ORDERS%", connection="AzureWebJobsStorage")
@app.durable_client_input(client_name="client")
@app.blob_output(arg_name="receipt", path="receipts/{ref}.json",
                 connection="AzureWebJobsStorage")
async def on_order(msg: func.QueueMessage, client, receipt: func.Out[str]) -> None:
    order = msg.get_json()
    if order.get("bad"):
        raise ValueError(f"order {order.get('ref')} is invalid")
    await client.start_new("echo", msg.id, {"order": order, "dequeueCount": msg.dequeue_count})
    receipt.set(json.dumps({"messageId": msg.id, **order}))


@app.blob_trigger(arg_name="blob", path="receipts/{name}.json",
                  connection="AzureWebJobsStorage")
@app.table_output(arg_name="row", table_name="receipts", partition_key="r",
                  connection="AzureWebJobsStorage")
def on_receipt(blob: func.InputStream, row: func.Out[str]) -> None:
    data = json.loads(blob.read())
    row.set(json.dumps({"RowKey": data["ref"], "messageId": data["messageId"],
                        "bytes": blob.length}))


@app.queue_trigger(arg_name="msg", queue_name="slow-work", connection="AzureWebJobsStorage")
def slow_work(msg: func.QueueMessage) -> None:
    """Appends each message it runs to MARKERS/slow.log (fsynced), then takes a while."""
    with open(Path(os.environ["MARKERS"]) / "slow.log", "a") as log:
        log.write(msg.get_body().decode() + "\n")
        log.flush()
        os.fsync(log.fileno())
    time.sleep(0.2)


@app.service_bus_queue_trigger(arg_name="message", queue_name="bus-orders", connection="SB")
def on_bus(message: func.ServiceBusMessage) -> None:
    (Path(os.environ["MARKERS"]) / "bus.txt").write_bytes(message.get_body())


@app.route(route="orders/{ref}", methods=["POST"])
@app.queue_output(arg_name="out", queue_name="%ORDERS%", connection="AzureWebJobsStorage")
@app.blob_input(arg_name="previous", path="receipts/{ref}.json",
                connection="AzureWebJobsStorage")
@app.table_input(arg_name="rows", table_name="receipts", partition_key="r",
                 connection="AzureWebJobsStorage")
def http_order(req: func.HttpRequest, out: func.Out[str], previous: str | None,
               rows: str) -> func.HttpResponse:
    """HTTP with storage bindings: queues the order; answers what the blob and table hold."""
    body = req.get_json()
    out.set(json.dumps({"ref": req.route_params["ref"], **body}))
    return func.HttpResponse(json.dumps({"previous": previous, "rows": len(json.loads(rows))}),
                             mimetype="application/json")
