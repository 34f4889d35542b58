"""The queue-drain benchmark's app: one trivial queue-triggered function (DRAIN_QUEUE)."""

import azure.functions as func

app = func.FunctionApp()


@app.queue_trigger(arg_name="msg", queue_name="%DRAIN_QUEUE%", connection="AzureWebJobsStorage")
def drain(msg: func.QueueMessage) -> None:
    msg.get_body()
