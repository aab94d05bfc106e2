"""Bring-up of the real devices (``robot-us bringup ...``), one module per device: connect,
measure what the device delivers, and say what to check next. The command line is
``robot_us.commands.bringup``; the guide is docs/hardware.md."""
