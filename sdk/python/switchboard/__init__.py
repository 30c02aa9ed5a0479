"""Switchboard plugins in Python: the Go SDK's shape over Debian's python3-grpcio.

    import switchboard

    echo = (switchboard.Action("pyEcho")
            .description("Returns its input")
            .input({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]})
            .handle(lambda req: req.input))

    if __name__ == "__main__":
        switchboard.serve(echo)

A plugin ships as one executable zipapp file (`python3 -m zipapp`), which the host pins and runs in
its sandbox. docs/PROTOCOL.md is what this package implements.
"""

from ._action import Action, CachePolicy, Error, Request, Response
from ._serve import serve

__all__ = ["Action", "CachePolicy", "Error", "Request", "Response", "serve"]
