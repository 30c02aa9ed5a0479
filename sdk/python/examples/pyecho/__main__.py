"""pyecho: two actions of the Python SDK's example plugin.

pyEcho returns its input; pyUser returns {id, name, email} of a Genesys Cloud user, through the
host's genesys connection (the plugin holds no credential).
"""

import switchboard

echo = (switchboard.Action("pyEcho")
        .description("Returns its input object")
        .version("1.0.0")
        .input({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]})
        .output({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]})
        .handle(lambda req: req.input))


def fetch_user(req):
    resp = req.http("genesys").get("/api/v2/users/{userId}", req.input["userId"])
    if resp.status == 404:
        raise switchboard.Error(404, "user_not_found", "no such user")
    if resp.status != 200:
        raise switchboard.Error(502, "genesys_error", "Genesys Cloud answered %d" % resp.status)
    u = resp.json()
    req.logger.info("user fetched", attempts=resp.attempts)
    return {"id": u["id"], "name": u.get("name", ""), "email": u.get("email", "")}


user = (switchboard.Action("pyUser")
        .description("A Genesys Cloud user's id, name and email")
        .input({"type": "object", "properties": {"userId": {"type": "string", "minLength": 1}}, "required": ["userId"]})
        .output({"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "email": {"type": "string"}},
                 "required": ["id", "name", "email"]})
        .uses("genesys")
        .timeout(8)
        .handle(fetch_user))

switchboard.serve(echo, user)
