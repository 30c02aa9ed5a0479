"""Run an action in process, as a plugin's tests do: switchboard.testing.invoke(action, input).

The host validates inputs and outputs against the schemas; this runs the handler on an input and
checks that what it returns is a JSON object, that typed errors are Error, and gives connections
test handlers: invoke(action, input, connections={"genesys": handler}) where handler(method, path)
returns (status, body).
"""

import json

from ._action import Error, Request, Response


class _Context:
    def time_remaining(self):
        return None

    def is_active(self):
        return True


class _Host:
    def __init__(self, connections):
        self._connections = connections

    def outbound(self, req, connection, method, path, template, headers, body):
        handler = self._connections.get(connection)
        if handler is None:
            raise Error(403, "outbound_refused", "connection %r: no test handler" % connection)
        status, answer = handler(method, path)
        if isinstance(answer, (dict, list)):
            answer = json.dumps(answer)
        if isinstance(answer, str):
            answer = answer.encode()
        return Response(status, {}, answer, 1)


def invoke(action, input, connections=None, request_id="test", metadata=None):
    """The action's output (a dict) for input, or the Error it raised."""
    problems = action.check()
    if problems:
        raise AssertionError("; ".join(problems))
    req = Request(action.name, request_id, metadata or {}, json.dumps(input).encode(), 1, _Context(), _Host(connections or {}))
    out = action._handler(req)
    if out is None:
        out = {}
    if isinstance(out, (str, bytes)):
        out = json.loads(out)
    if not isinstance(out, dict):
        raise AssertionError("action %r returned %r, not a JSON object" % (action.name, out))
    return out
