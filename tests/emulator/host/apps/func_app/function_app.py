"""The app `func start` serves in the func tests: one route, one setting from local.settings.json,
one activity that reports its interpreter."""

import os
import sys

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="hello/{name}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"hello {req.route_params['name']} "
                             f"{os.environ.get('BASIC_APP_SETTING', '')}", status_code=201)


@app.route(route="python", methods=["GET"])
def python(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"{sys.version.split()[0]} {os.getpid()}")
