"""The local stack: emulator boot, provisioning, seed data, local HTTP auth, WebSocket
gateway and event pump. Never shipped to Lambda (``chalice package`` only takes app.py,
chalicelib/ and requirements.txt)."""
