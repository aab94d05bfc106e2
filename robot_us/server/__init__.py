"""The robot-side server (``robot-us serve``): the configured cell in real time, driven by
clients over the wire protocol (``robot_us.protocol``, docs/protocol.md).

Five processes (docs/architecture.md "Processes"): the control process owns the 1 kHz
loop and the backend (``control_process.py``); the server process holds the sockets, the
sessions and the published streams (``robot_server.py``); the imaging process holds the
ultrasound source and quality inference (``imaging_process.py``); two helper processes of
the server keep slow work off its interpreter: planning, with snapshots and stroke mapping
(``planning_service.py``), and recording (``recording_process.py``). They exchange
fixed-layout data, the shared-memory state stream (``robot_us.state_log.StateLog``) and
status record (``control_status.py``), and small typed messages over ZeroMQ ``ipc``
(``links.py``).

This package module imports nothing heavy: ``robot_us.config`` reads ``server.config``.
"""
