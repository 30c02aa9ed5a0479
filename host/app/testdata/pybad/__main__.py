"""A Python plugin whose output breaks its own schema, for the host's output validation."""

import switchboard

switchboard.serve(switchboard.Action("pyBad")
                  .output({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]})
                  .handle(lambda req: {"message": 42}))
