import azure.functions as func

app = func.FunctionApp()
raise RuntimeError("this app does not import")
