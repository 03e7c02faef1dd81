"""The closed loop: alert rules open cases for owners, with SLA, history, notifications and recovery reports."""
