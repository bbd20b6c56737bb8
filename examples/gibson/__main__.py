"""``python -m examples.gibson [--host H] [--port P]``: run a gibson server."""

from examples.gibson.server import main

main()
