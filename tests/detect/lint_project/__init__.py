"""A small async service for the lint's tests: blocking calls 0 to 3 calls deep.

The lint must find exactly the calls marked ``# FINDING`` and nothing else.
ruff's ASYNC rules look only inside ``async def`` bodies, so on this project
they would report only the direct ``time.sleep`` in ``app.direct`` (which
carries a ``noqa`` for that reason): every other finding is reached through
one or more plain functions or methods.
"""
