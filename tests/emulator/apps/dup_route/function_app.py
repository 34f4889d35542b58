import azure.functions as func

app = func.FunctionApp()


@app.route(route="items/{id}", methods=["GET"])
def first(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("first")


@app.route(route="items/{key}", methods=["GET", "POST"])
def second(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("second")
