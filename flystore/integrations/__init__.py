"""Framework integrations (``flystore.integrations.fastapi``)."""
