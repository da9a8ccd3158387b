"""The server's CTI gateway: the only AMI login, per PBX, and need-to-know fan-out to desktops.

``config`` reads the ``[[pbx]]`` tables, ``lines`` the agents' PBX lines from
the ``agent`` table, ``gateway`` keeps one PBX's link and its agents' calls,
``hub`` ties the gateways to the desktops' sockets and call requests
(``server/api/cti.py``). The wire is ``docs/cti.md``.
"""
