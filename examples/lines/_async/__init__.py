"""The lines client in the asyncio colour: the source ``_sync`` is generated from."""
