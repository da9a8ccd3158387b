"""Telephony: the Asterisk Manager Interface (AMI) codec, client and server, and the PBX simulator.

Nothing here imports Qt or the database. The desktop talks to a PBX through
:class:`agentdesk.telephony.client.AmiClient`; the simulator in
:mod:`agentdesk.telephony.sim` is an AMI server that behaves like Asterisk 20.
"""
