"""Actions, requests, typed errors and the host's Outbound, as a handler sees them."""

import json
import re
import sys
import time
import urllib.parse

MAX_TIMEOUT = 60.0
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,127}$")


class Error(Exception):
    """A typed failure: the host answers it as it is (status 400-599, code, message)."""

    def __init__(self, status, code, message, retryable=None, retry_after=0.0):
        super().__init__(message)
        self.status = int(status)
        self.code = code
        self.message = message
        self.retryable = status in (429, 502, 503, 504) if retryable is None else bool(retryable)
        self.retry_after = float(retry_after)  # seconds; 0: not said

    def __repr__(self):
        return "Error(%d, %r, %r)" % (self.status, self.code, self.message)


class CachePolicy:
    """The cache policy an action suggests; the host's config decides."""

    def __init__(self, ttl, stale_while_revalidate=0.0, stale_if_error=0.0, key=()):
        self.ttl = float(ttl)
        self.stale_while_revalidate = float(stale_while_revalidate)
        self.stale_if_error = float(stale_if_error)
        self.key = list(key)


class Action:
    """One data action; chain the setters, then give it to serve()."""

    def __init__(self, name):
        self.name = name
        self._description = ""
        self._version = ""
        self._input = None
        self._output = None
        self._uses = []
        self._timeout = 0.0
        self._idempotent = False
        self._secure = False
        self._cache = None
        self._handler = None

    def description(self, text):
        self._description = text
        return self

    def version(self, v):
        self._version = v
        return self

    def input(self, schema):
        """The input's JSON Schema (a dict or a JSON string); the host validates every input."""
        self._input = schema if isinstance(schema, str) else json.dumps(schema)
        return self

    def output(self, schema):
        """The output's JSON Schema; the host validates every output."""
        self._output = schema if isinstance(schema, str) else json.dumps(schema)
        return self

    def uses(self, *connections):
        """The host connections the action calls (req.http(name))."""
        self._uses.extend(connections)
        return self

    def timeout(self, seconds):
        self._timeout = float(seconds)
        return self

    def idempotent(self):
        self._idempotent = True
        return self

    def secure(self):
        self._secure = True
        return self

    def cache(self, policy):
        self._cache = policy
        return self

    def handle(self, fn):
        """fn(req) returns the output (a dict, or a JSON string) or raises Error."""
        self._handler = fn
        return self

    def check(self):
        """The mistakes that would make the host refuse the action."""
        errs = []
        if not _NAME.match(self.name or ""):
            errs.append("name %r: starts with a letter, holds letters, digits, '.', '-', '_'" % self.name)
        if self._handler is None:
            errs.append("no handler: call handle")
        for what, s in (("input", self._input), ("output", self._output)):
            if s is not None:
                try:
                    if not isinstance(json.loads(s), dict):
                        errs.append(what + " schema: not a JSON object")
                except ValueError as e:
                    errs.append("%s schema: %s" % (what, e))
        if not 0 <= self._timeout <= MAX_TIMEOUT:
            errs.append("timeout %ss: between 0 (the host's default) and %ss" % (self._timeout, MAX_TIMEOUT))
        return ["action %r: %s" % (self.name, e) for e in errs]


class Response:
    """A downstream answer, through the host."""

    def __init__(self, status, headers, body, attempts):
        self.status = status
        self.headers = headers  # lower-case name -> [values]
        self.body = body
        self.attempts = attempts

    def json(self):
        return json.loads(self.body)


class _HTTP:
    """Calls on one host connection; paths are relative to its base URL."""

    def __init__(self, req, connection):
        self._req = req
        self._connection = connection

    def get(self, path, *args, headers=None):
        return self.request("GET", path, *args, headers=headers)

    def post(self, path, *args, body=b"", headers=None):
        return self.request("POST", path, *args, body=body, headers=headers)

    def request(self, method, path, *args, body=b"", headers=None):
        """path may be a template, "/users/{userId}", filled from args (each escaped as one
        segment); the audit log records the template, not the values."""
        template = path if args else ""
        if args:
            parts = re.split(r"(\{[^}/]*\})", path)
            holes = [i for i, p in enumerate(parts) if p.startswith("{")]
            if len(holes) != len(args):
                raise ValueError("%s has %d placeholders for %d arguments" % (path, len(holes), len(args)))
            for i, a in zip(holes, args):
                parts[i] = urllib.parse.quote(str(a), safe="")
            path = "".join(parts)
        if isinstance(body, str):
            body = body.encode()
        return self._req._outbound(self._connection, method, path, template, headers or {}, body)


class Request:
    """One invocation of an action."""

    def __init__(self, action, request_id, metadata, raw_input, invocation_id, context, host):
        self.action = action
        self.request_id = request_id
        self.metadata = dict(metadata)
        self.raw_input = raw_input
        self.input = json.loads(raw_input or b"{}")
        self.invocation_id = invocation_id
        self._context = context
        self._host = host
        self.logger = Logger(request_id=request_id, action=action)

    def remaining(self):
        """Seconds left of the invocation's deadline; None without one."""
        return self._context.time_remaining()

    def cancelled(self):
        return not self._context.is_active()

    def http(self, connection):
        return _HTTP(self, connection)

    def _outbound(self, connection, method, path, template, headers, body):
        return self._host.outbound(self, connection, method, path, template, headers, body)


class Logger:
    """JSON lines on standard error, which the host logs under the plugin's name. Never log
    an input or output value."""

    _LEVELS = {"trace": 0, "debug": 1, "info": 2, "warn": 3, "error": 4}
    level = "info"

    def __init__(self, **fields):
        self._fields = fields

    def with_fields(self, **fields):
        return Logger(**{**self._fields, **fields})

    def _log(self, level, message, fields):
        if self._LEVELS[level] < self._LEVELS.get(Logger.level, 2):
            return
        line = {"@level": level, "@message": message, "@timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        line.update(self._fields)
        line.update(fields)
        sys.stderr.write(json.dumps(line, default=str) + "\n")
        sys.stderr.flush()

    def trace(self, message, **fields):
        self._log("trace", message, fields)

    def debug(self, message, **fields):
        self._log("debug", message, fields)

    def info(self, message, **fields):
        self._log("info", message, fields)

    def warn(self, message, **fields):
        self._log("warn", message, fields)

    def error(self, message, **fields):
        self._log("error", message, fields)
