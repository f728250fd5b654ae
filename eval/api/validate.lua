-- wrk script: POST the flow file named by $FLOW to /v1/validate as YAML.
local f = assert(io.open(os.getenv("FLOW"), "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/yaml"
