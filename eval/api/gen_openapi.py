#!/usr/bin/env python3
"""Writes crates/api/openapi.json (OpenAPI 3.1), the description of the frontdesk HTTP API.

The route table in crates/api/src/router.rs is the router; a test in crates/api checks that
every route is described here and every described operation is routed. Edit this script, run
it, and commit both files.
"""
import json
import pathlib

S = lambda t, **kw: {"type": t, **kw}
NULL = lambda t, **kw: {"type": [t, "null"], **kw}
REF = lambda n: {"$ref": f"#/components/schemas/{n}"}
TIME = S("string", format="date-time")
TIME_OR_NULL = NULL("string", format="date-time")


def obj(props, required=None, extra=False):
    return {"type": "object", "properties": props, "required": required if required is not None else list(props),
            "additionalProperties": extra}


def ext(base, props):
    """`base` (an obj) with more required properties (flat: allOf cannot extend a closed object)."""
    return obj({**base["properties"], **props}, base["required"] + list(props))


TARGET = S("string", pattern=r"^(sips?:[!-~]+|\+?[0-9]{3,20})$", description="sip:user@host or a number such as +15551234567")
FLOW_VERSION = obj({"name": S("string"), "version": S("integer", minimum=1), "sha256": S("string", pattern="^[0-9a-f]{64}$"),
                        "status": S("string", enum=["draft", "published"]), "created_at": TIME,
                        "published_at": TIME_OR_NULL})
CALL_OBJ = obj({"id": S("string"), "direction": S("string", enum=["inbound", "outbound"]), "transport": S("string"),
                 "from": S("string"), "to": S("string"), "flow": NULL("string"), "flow_version": NULL("integer"),
                 "started_at": TIME, "ended_at": TIME_OR_NULL, "status": S("string", enum=["live", "ended"]),
                 "disposition": NULL("string"), "duration_ms": NULL("integer")})

WEBHOOK_EVENTS = ["call.started", "call.turn", "call.ended", "call.transferred", "appointment.booked",
                  "appointment.cancelled", "appointment.rescheduled"]
WEBHOOK_OBJ = obj({"id": S("integer", minimum=1), "url": S("string"), "events": S("array", items=S("string")),
                   "created_at": TIME})

schemas = {
    "Error": obj({"error": obj({"code": S("string"), "message": S("string"), "details": S("object")},
                               ["code", "message"])}),
    "Diagnostic": obj({"line": S("integer", minimum=0), "column": S("integer", minimum=0), "code": S("string"),
                       "message": S("string"), "hint": S("string")}),
    "FlowVersion": FLOW_VERSION,
        "FlowVersionWithYaml": ext(FLOW_VERSION, {"yaml": S("string")}),
    "FlowDraft": ext(FLOW_VERSION, {"valid": S("boolean"), "diagnostics": S("array", items=REF("Diagnostic"))}),
    "FlowRolledBack": ext(FLOW_VERSION, {"rolled_back_to": S("integer", minimum=1)}),
    "FlowSummary": obj({"name": S("string"), "latest_version": S("integer", minimum=1),
                        "published_version": NULL("integer", minimum=1), "versions": S("integer", minimum=1),
                        "updated_at": TIME}),
    "FlowList": obj({"flows": S("array", items=REF("FlowSummary"))}),
    "Flow": obj({"name": S("string"), "latest_version": S("integer", minimum=1),
                 "published_version": NULL("integer", minimum=1),
                 "published": {"oneOf": [REF("FlowVersionWithYaml"), S("null")]},
                 "versions": S("array", items=REF("FlowVersion"))}),
    "FlowVersions": obj({"versions": S("array", items=REF("FlowVersion"))}),
    "Validation": obj({"valid": S("boolean"), "diagnostics": S("array", items=REF("Diagnostic"))}),
    "Rollback": obj({"version": S("integer", minimum=1, maximum=2**53 - 1)}),
    "Call": CALL_OBJ,
    "CallList": obj({"calls": S("array", items=REF("Call")), "next_cursor": NULL("string")}),
    "Turn": obj({"index": S("integer", minimum=0), "kind": S("string"), "text": S("string"),
                 "confidence": NULL("number"), "at": TIME,
                 "latencies_ms": {"type": "object", "additionalProperties": S("integer", minimum=0)}}),
    "TranscriptLine": obj({"speaker": S("string", enum=["caller", "agent"]), "text": S("string"), "at": TIME}),
    "CallDetail": ext(CALL_OBJ, {"timeline": S("array", items=REF("Turn")),
                                 "transcript": obj({"lines": S("array", items=REF("TranscriptLine")), "text": S("string")})}),
    "Transcript": obj({"call_id": S("string"), "lines": S("array", items=REF("TranscriptLine")), "text": S("string")}),
    "Originate": obj({"to": TARGET,
                      "flow": S("string", minLength=1), "from": S("string"),
                      "variables": {"type": "object", "additionalProperties": S("string")}}, ["to", "flow"]),
    "Originated": obj({"call_id": S("string"), "to": S("string"), "flow": S("string"), "flow_version": S("integer"),
                       "status": S("string", enum=["dialing"])}),
    "Say": obj({"text": S("string", minLength=1, maxLength=2000), "interrupt": S("boolean")}, ["text"]),
    "Transfer": obj({"target": TARGET}),
    "Accepted": obj({"call_id": S("string"), "action": S("string", enum=["say", "transfer", "hangup"]),
                     "status": S("string", enum=["accepted"])}),
    "Ready": obj({"ready": S("boolean"), "checks": {"type": "object", "additionalProperties": S("string")}}),
    # Webhooks (crates/api/src/handlers/webhooks.rs; event types: frontdesk_store::EVENT_TYPES).
    "WebhookCreate": obj({"url": S("string", minLength=1, maxLength=2048, pattern="^http://[^/?#]+",
                                   description="http:// only (https:// is refused: no TLS in the webhook client yet)"),
                          "events": S("array", minItems=1, items=REF("EventType"))}),
    "EventType": S("string", enum=["*", *WEBHOOK_EVENTS]),
    "Webhook": WEBHOOK_OBJ,
    "WebhookCreated": ext(WEBHOOK_OBJ, {"secret": S("string", pattern="^whsec_[0-9a-f]{64}$",
                                                    description="HMAC-SHA256 key for X-Frontdesk-Signature; shown only here")}),
    "WebhookList": obj({"webhooks": S("array", items=REF("Webhook"))}),
    "Delivery": obj({"id": S("string", pattern="^dlv_[0-9]+$", description="Also sent as X-Frontdesk-Delivery"),
                     "event_id": S("string", pattern="^evt_[0-9]+$"), "event_type": S("string"),
                     "call_id": NULL("string"), "status": S("string", enum=["pending", "delivered", "failed"]),
                     "attempts": S("integer", minimum=0), "next_attempt_at": TIME_OR_NULL,
                     "last_attempt_at": TIME_OR_NULL, "last_status": NULL("integer"),
                     "last_error": NULL("string"), "created_at": TIME}),
    "DeliveryList": obj({"deliveries": S("array", items=REF("Delivery")), "next_cursor": NULL("string")}),
}

ERR = {"description": "Error", "content": {"application/json": {"schema": REF("Error")}}}
responses = {n: {**ERR, "description": d} for n, d in [
    ("BadRequest", "Malformed request (JSON syntax, fields, parameters)"),
    ("Unauthorized", "Missing, unknown or revoked API key"),
    ("NotFound", "No such record"),
    ("Conflict", "Conflicts with the current state"),
    ("TooLarge", "Body over the size limit"),
    ("UnsupportedMediaType", "Wrong Content-Type"),
    ("Unprocessable", "Well-formed but not acceptable"),
]}


def ok(schema, status="200", desc="OK"):
    return {status: {"description": desc, "content": {"application/json": {"schema": REF(schema)}}}}


def errs(*names):
    codes = {"BadRequest": "400", "Unauthorized": "401", "NotFound": "404", "Conflict": "409",
             "TooLarge": "413", "UnsupportedMediaType": "415", "Unprocessable": "422"}
    return {codes[n]: {"$ref": f"#/components/responses/{n}"} for n in names}


def json_body(schema):
    return {"required": True, "content": {"application/json": {"schema": REF(schema)}}}


YAML_BODY = {"required": True, "description": "The flow file's text",
             "content": {"application/yaml": {"schema": {"description": "A flow document (see flows/schema.json); any YAML is accepted and checked"}}}}
NAME = {"name": "name", "in": "path", "required": True, "schema": S("string", pattern="^[A-Za-z0-9._-]{1,100}$")}
VERSION = {"name": "version", "in": "path", "required": True, "schema": S("integer", minimum=1, maximum=2**53 - 1)}
CALL_ID = {"name": "id", "in": "path", "required": True, "schema": S("string", minLength=1)}
WEBHOOK_ID = {"name": "id", "in": "path", "required": True, "schema": S("integer", minimum=1, maximum=2**53 - 1)}
COMMON = ("BadRequest", "Unauthorized")


def op(op_id, summary, responses_, params=None, body=None, tag=None, public=False):
    o = {"operationId": op_id, "summary": summary, "responses": responses_}
    if tag:
        o["tags"] = [tag]
    if params:
        o["parameters"] = params
    if body:
        o["requestBody"] = body
    if public:
        o["security"] = []
    return o


paths = {
    "/openapi.json": {"get": op("getOpenApi", "This description", {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": S("object")}}}}, tag="operations", public=True)},
    "/metrics": {"get": op("getMetrics", "Prometheus text exposition", {"200": {"description": "Metrics", "content": {"text/plain": {"schema": S("string")}}}}, tag="operations", public=True)},
    "/readyz": {"get": op("getReady", "Ready to take calls: store writable, models loaded", {**ok("Ready"), "503": {"description": "Not ready", "content": {"application/json": {"schema": REF("Ready")}}}}, tag="operations", public=True)},
    "/v1/flows": {"get": op("listFlows", "Flows with their newest and published versions", {**ok("FlowList"), **errs(*COMMON)}, tag="flows")},
    "/v1/validate": {"post": op("validateFlow", "Check a flow (the flow check diagnostics, with line and column)", {**ok("Validation"), **errs(*COMMON, "TooLarge", "UnsupportedMediaType")}, body=YAML_BODY, tag="flows")},
    "/v1/flows/{name}": {"get": op("getFlow", "A flow: versions and the published one", {**ok("Flow"), **errs(*COMMON, "NotFound")}, [NAME], tag="flows")},
    "/v1/flows/{name}/draft": {"put": op("putFlowDraft", "Create or update the draft (the newest unpublished version is replaced in place)", {**ok("FlowDraft"), **errs(*COMMON, "TooLarge", "UnsupportedMediaType")}, [NAME], YAML_BODY, tag="flows")},
    "/v1/flows/{name}/versions": {"get": op("listFlowVersions", "All versions, oldest first", {**ok("FlowVersions"), **errs(*COMMON, "NotFound")}, [NAME], tag="flows")},
    "/v1/flows/{name}/versions/{version}": {"get": op("getFlowVersion", "One version with its YAML", {**ok("FlowVersionWithYaml"), **errs(*COMMON, "NotFound")}, [NAME, VERSION], tag="flows")},
    "/v1/flows/{name}/versions/{version}/publish": {"post": op("publishFlowVersion", "Publish a version (checked first; immutable afterwards; new calls run it)", {**ok("FlowVersion"), **errs(*COMMON, "NotFound", "Conflict")}, [NAME, VERSION], tag="flows")},
    "/v1/flows/{name}/rollback": {"post": op("rollbackFlow", "Publish the text of an earlier published version as the newest version", {**ok("FlowRolledBack"), **errs(*COMMON, "NotFound", "Conflict", "TooLarge", "UnsupportedMediaType")}, [NAME], json_body("Rollback"), tag="flows")},
    "/v1/calls": {
        "get": op("listCalls", "Calls, newest first, with filters and cursor pagination", {**ok("CallList"), **errs(*COMMON)}, [
            {"name": "direction", "in": "query", "schema": S("string", enum=["inbound", "outbound"])},
            {"name": "status", "in": "query", "schema": S("string", enum=["live", "ended"])},
            {"name": "flow", "in": "query", "schema": S("string")},
            {"name": "phone", "in": "query", "description": "Calls from or to this number", "schema": S("string")},
            {"name": "since", "in": "query", "description": "Started at or after", "schema": TIME},
            {"name": "until", "in": "query", "description": "Started before", "schema": TIME},
            {"name": "limit", "in": "query", "schema": S("integer", minimum=1, maximum=1000, default=50)},
            {"name": "cursor", "in": "query", "description": "next_cursor of the previous page", "schema": S("string", pattern=r"^[0-9]{1,15}\.([0-9a-f]{2}){0,256}$")},
        ], tag="calls"),
        "post": op("originateCall", "Place an outbound call running a flow's published version", {**ok("Originated", "202", "Dialing"), **errs(*COMMON, "Conflict", "TooLarge", "UnsupportedMediaType")}, body=json_body("Originate"), tag="calls"),
    },
    "/v1/calls/{id}": {"get": op("getCall", "A call with its timeline and transcript", {**ok("CallDetail"), **errs(*COMMON, "NotFound")}, [CALL_ID], tag="calls")},
    "/v1/calls/{id}/transcript": {"get": op("getCallTranscript", "A call's transcript", {**ok("Transcript"), **errs(*COMMON, "NotFound")}, [CALL_ID], tag="calls")},
    "/v1/calls/{id}/say": {"post": op("sayOnCall", "Speak text on a live call", {**ok("Accepted", "202", "Accepted"), **errs(*COMMON, "NotFound", "Conflict", "TooLarge", "UnsupportedMediaType")}, [CALL_ID], json_body("Say"), tag="calls")},
    "/v1/calls/{id}/transfer": {"post": op("transferCall", "Blind-transfer a live call", {**ok("Accepted", "202", "Accepted"), **errs(*COMMON, "NotFound", "Conflict", "TooLarge", "UnsupportedMediaType")}, [CALL_ID], json_body("Transfer"), tag="calls")},
    "/v1/calls/{id}/hangup": {"post": op("hangupCall", "Hang up a live call", {**ok("Accepted", "202", "Accepted"), **errs(*COMMON, "NotFound", "Conflict", "TooLarge")}, [CALL_ID], tag="calls")},
    "/v1/webhooks": {
        "get": op("listWebhooks", "Webhook subscriptions", {**ok("WebhookList"), **errs(*COMMON)}, tag="webhooks"),
        "post": op("createWebhook", "Subscribe an http:// URL to event types (the signing secret is in this answer only)", {**ok("WebhookCreated", "201", "Created"), **errs(*COMMON, "TooLarge", "UnsupportedMediaType")}, body=json_body("WebhookCreate"), tag="webhooks"),
    },
    "/v1/webhooks/{id}": {
        "get": op("getWebhook", "A webhook subscription", {**ok("Webhook"), **errs(*COMMON, "NotFound")}, [WEBHOOK_ID], tag="webhooks"),
        "delete": op("deleteWebhook", "Delete a subscription and its deliveries (pending ones are not sent)", {"204": {"description": "Deleted"}, **errs(*COMMON, "NotFound")}, [WEBHOOK_ID], tag="webhooks"),
    },
    "/v1/webhooks/{id}/deliveries": {"get": op("listWebhookDeliveries", "A subscription's deliveries, newest first: status, attempts, last error", {**ok("DeliveryList"), **errs(*COMMON, "NotFound")}, [
        WEBHOOK_ID,
        {"name": "status", "in": "query", "schema": S("string", enum=["pending", "delivered", "failed"])},
        {"name": "limit", "in": "query", "schema": S("integer", minimum=1, maximum=1000, default=50)},
        {"name": "cursor", "in": "query", "description": "next_cursor of the previous page", "schema": S("string", pattern="^dlv_[0-9]{1,18}$")},
    ], tag="webhooks")},
}

# Scheduling (crates/api/src/handlers/{resources,appointments}.rs).
HOURS = S("string", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
          description="Wall-clock interval HH:MM-HH:MM on the resource's clock, end after start (24:00 = midnight)")
DAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SCHED_ID = S("string", pattern=r"^[A-Za-z0-9._-]{1,64}$")
LABEL = S("string", minLength=1, maxLength=200, pattern=r"\S")
DATE = S("string", format="date")
EXCEPTION = obj({"date": DATE, "hours": S("array", items=HOURS, description="Open hours that day; [] = closed")})
RESOURCE_FIELDS = {"name": LABEL, "kind": S("string", enum=["provider", "room"], default="provider"),
                   "time_zone": S("string", description="IANA zone name, e.g. America/New_York"),
                   "weekly_hours": obj({d: S("array", items=HOURS) for d in DAY_KEYS}, [],
                                       ) | {"description": "Open intervals per weekday; a missing day is closed"},
                   "exceptions": S("array", items=REF("HoursException")), "holidays": S("array", items=DATE)}
TYPE_FIELDS = {"name": LABEL, "duration_minutes": S("integer", minimum=1, maximum=1440),
               "buffer_before_minutes": S("integer", minimum=0, maximum=1440, default=0),
               "buffer_after_minutes": S("integer", minimum=0, maximum=1440, default=0)}
SLOT = obj({"resource": S("string"), "resource_name": S("string"), "type": S("string"),
            "start": TIME, "end": TIME, "time_zone": S("string")})
schemas.update({
    "HoursException": EXCEPTION,
    "Resource": obj({"id": S("string"), "name": S("string"), "kind": S("string", enum=["provider", "room"]),
                     "time_zone": S("string"), "weekly_hours": obj({d: S("array", items=HOURS) for d in DAY_KEYS}),
                     "exceptions": S("array", items=REF("HoursException")), "holidays": S("array", items=DATE)}),
    "ResourceCreate": obj({"id": SCHED_ID, **RESOURCE_FIELDS}, ["id", "name", "time_zone"]),
    "ResourcePut": obj(RESOURCE_FIELDS, ["name", "time_zone"]) | {
        "description": "Replaces the whole resource (the id is the path's; an id in the body must equal it)"},
    "ResourceList": obj({"resources": S("array", items=REF("Resource"))}),
    "AppointmentType": obj({"id": S("string"), "name": S("string"), "duration_minutes": S("integer"),
                            "buffer_before_minutes": S("integer"), "buffer_after_minutes": S("integer")}),
    "AppointmentTypeCreate": obj({"id": SCHED_ID, **TYPE_FIELDS}, ["id", "name", "duration_minutes"]),
    "AppointmentTypePut": obj(TYPE_FIELDS, ["name", "duration_minutes"]) | {
        "description": "Replaces the appointment type (the id is the path's; an id in the body must equal it)"},
    "AppointmentTypeList": obj({"appointment_types": S("array", items=REF("AppointmentType"))}),
    "Slot": SLOT,
    "Availability": obj({"type": S("string"), "resource": NULL("string"), "from": TIME, "to": TIME,
                         "slots": S("array", items=REF("Slot"))}),
    "Appointment": obj({"id": S("integer", minimum=1), "status": S("string", enum=["booked", "cancelled", "rescheduled"]),
                        "type": S("string"), "resource": S("string"), "start": TIME, "end": TIME, "time_zone": S("string"),
                        "caller": obj({"phone": S("string"), "name": NULL("string")}), "notes": NULL("string"),
                        "created_at": TIME, "ended_at": TIME_OR_NULL, "replaces": NULL("integer"),
                        "replaced_by": NULL("integer")}),
    "AppointmentList": obj({"appointments": S("array", items=REF("Appointment")), "next_cursor": NULL("string")}),
    "AppointmentCreate": obj({"type": SCHED_ID, "resource": SCHED_ID,
                              "start": S("string", format="date-time", description="RFC 3339 with an offset"),
                              "caller": obj({"phone": S("string", pattern=r"^\+?[0-9]{3,20}$"),
                                             "name": S("string", maxLength=200)}, ["phone"]),
                              "notes": S("string", maxLength=2000)}, ["type", "start", "caller"]),
    "AppointmentPatch": obj({"start": S("string", format="date-time", description="RFC 3339 with an offset"),
                             "resource": SCHED_ID, "notes": NULL("string", maxLength=2000)}, []) | {"minProperties": 1},
})
RES_ID = {"name": "id", "in": "path", "required": True, "schema": SCHED_ID}
APPT_ID = {"name": "id", "in": "path", "required": True, "schema": S("integer", minimum=1, maximum=2**53 - 1)}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "description": "Retrying with the same key and body returns the same appointment; another body is 409",
               "schema": S("string", pattern=r"^[!-~]([ -~]{0,253}[!-~])?$")}
WRITE_ERRS = ("TooLarge", "UnsupportedMediaType")
paths.update({
    "/v1/resources": {
        "get": op("listResources", "Resources (providers, rooms) with hours, exceptions and holidays", {**ok("ResourceList"), **errs(*COMMON)}, tag="scheduling"),
        "post": op("createResource", "Create a resource (409 when the id exists)", {**ok("Resource", "201", "Created"), **errs(*COMMON, "Conflict", *WRITE_ERRS)}, body=json_body("ResourceCreate"), tag="scheduling"),
    },
    "/v1/resources/{id}": {
        "get": op("getResource", "A resource", {**ok("Resource"), **errs(*COMMON, "NotFound")}, [RES_ID], tag="scheduling"),
        "put": op("putResource", "Replace a resource's name, kind, zone, hours, exceptions and holidays (creates it when absent; appointments are kept)", {**ok("Resource"), **ok("Resource", "201", "Created"), **errs(*COMMON, *WRITE_ERRS)}, [RES_ID], json_body("ResourcePut"), tag="scheduling"),
    },
    "/v1/appointment-types": {
        "get": op("listAppointmentTypes", "Appointment types", {**ok("AppointmentTypeList"), **errs(*COMMON)}, tag="scheduling"),
        "post": op("createAppointmentType", "Create an appointment type (409 when the id exists)", {**ok("AppointmentType", "201", "Created"), **errs(*COMMON, "Conflict", *WRITE_ERRS)}, body=json_body("AppointmentTypeCreate"), tag="scheduling"),
    },
    "/v1/appointment-types/{id}": {
        "get": op("getAppointmentType", "An appointment type", {**ok("AppointmentType"), **errs(*COMMON, "NotFound")}, [RES_ID], tag="scheduling"),
        "put": op("putAppointmentType", "Replace an appointment type (creates it when absent; booked appointments keep their times)", {**ok("AppointmentType"), **ok("AppointmentType", "201", "Created"), **errs(*COMMON, *WRITE_ERRS)}, [RES_ID], json_body("AppointmentTypePut"), tag="scheduling"),
    },
    "/v1/availability": {"get": op("getAvailability", "Open slots (the flows' slot search: 15-minute grid, at most limit, spread over the range, earliest first)", {**ok("Availability"), **errs(*COMMON, "Unprocessable")}, [
        {"name": "type", "in": "query", "required": True, "schema": SCHED_ID},
        {"name": "resource", "in": "query", "description": "One resource (default: all)", "schema": SCHED_ID},
        {"name": "from", "in": "query", "description": "Earliest start, RFC 3339 with an offset (default: now)", "schema": TIME},
        {"name": "to", "in": "query", "description": "Latest start, exclusive (default: from + 7 days; at most 31 days after from)", "schema": TIME},
        {"name": "limit", "in": "query", "schema": S("integer", minimum=1, maximum=50, default=20)},
    ], tag="scheduling")},
    "/v1/appointments": {
        "get": op("listAppointments", "Appointments by start (earliest first), with filters and cursor pagination", {**ok("AppointmentList"), **errs(*COMMON)}, [
            {"name": "phone", "in": "query", "description": "The caller's number", "schema": S("string", pattern=r"^\+?[0-9]{3,20}$")},
            {"name": "resource", "in": "query", "schema": S("string")},
            {"name": "from", "in": "query", "description": "Starting at or after", "schema": TIME},
            {"name": "to", "in": "query", "description": "Starting before", "schema": TIME},
            {"name": "status", "in": "query", "schema": S("string", enum=["booked", "cancelled", "rescheduled"])},
            {"name": "limit", "in": "query", "schema": S("integer", minimum=1, maximum=1000, default=50)},
            {"name": "cursor", "in": "query", "description": "next_cursor of the previous page", "schema": S("string", pattern=r"^-?[0-9]{1,18}\.[0-9]{1,18}$")},
        ], tag="scheduling"),
        "post": op("createAppointment", "Book a slot (hold and book in one transaction); 409 slot_taken with alternatives in error.details", {**ok("Appointment", "201", "Booked (or the same booking again for a repeated Idempotency-Key)"), **errs(*COMMON, "Conflict", "Unprocessable", *WRITE_ERRS)}, [IDEMPOTENCY], json_body("AppointmentCreate"), tag="scheduling"),
    },
    "/v1/appointments/{id}": {
        "get": op("getAppointment", "An appointment (any status)", {**ok("Appointment"), **errs(*COMMON, "NotFound")}, [APPT_ID], tag="scheduling"),
        "patch": op("patchAppointment", "Reschedule (start and/or resource: a new appointment replaces this one, in one transaction) and/or set notes", {**ok("Appointment"), **errs(*COMMON, "NotFound", "Conflict", "Unprocessable", *WRITE_ERRS)}, [APPT_ID], json_body("AppointmentPatch"), tag="scheduling"),
    },
    "/v1/appointments/{id}/cancel": {"post": op("cancelAppointment", "Cancel (idempotent: a cancelled appointment is returned as it is; 409 for a past or rescheduled one)", {**ok("Appointment"), **errs(*COMMON, "NotFound", "Conflict")}, [APPT_ID], tag="scheduling")},
})

# Links from a booking to the operations on it (schemathesis follows them in its stateful phase).
paths["/v1/appointments"]["post"]["responses"]["201"]["links"] = {
    name: {"operationId": op_id, "parameters": {"id": "$response.body#/id"}}
    for name, op_id in [("GetAppointment", "getAppointment"), ("PatchAppointment", "patchAppointment"),
                        ("CancelAppointment", "cancelAppointment")]
}

doc = {
    "openapi": "3.1.0",
    "info": {"title": "frontdesk API", "version": "0.1.0",
             "description": "Manage flows, read calls and their timelines, control live calls. "
                            "Authenticate with `Authorization: Bearer <key>` (`frontdesk apikey create`). "
                            "Errors are `{\"error\": {\"code\", \"message\"}}`."},
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "paths": paths,
    "components": {"schemas": schemas, "responses": responses,
                   "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
}

out = pathlib.Path(__file__).resolve().parents[2] / "crates/api/openapi.json"
out.write_text(json.dumps(doc, indent=2) + "\n")
print(f"wrote {out}")
