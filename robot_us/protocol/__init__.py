"""The wire protocol of the robot-side server (docs/protocol.md): message bodies
(``messages``), the catalogue of types (``catalogue``), envelope and decoding (``codec``),
session rules (``sessions``), the server's sockets (``server_sockets``), CurveZMQ keys
(``security``), ports and the bind rule (``endpoints``), link statistics (``link_stats``),
the Python client (``client``) and the impairment proxy for tests (``impairment``).

Imports nothing of the control stack (import-linter contract): the console uses it."""
