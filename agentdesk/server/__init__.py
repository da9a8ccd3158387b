"""``agentdesk server``: the trusted tier (DESIGN.md §2).

The only process with the database login. Desktops sign in here, push their
mutations and pull their feed over HTTPS, get live pokes over a WebSocket,
look customers up and reveal protected fields through it. Every request is
authorised against the session's agent, role and scope; nothing a client
sends decides who acted.

Rooms: ``app.py`` composes everything (the server's composition root),
``api/`` holds one router per concern, ``auth.py`` turns a bearer token into
a :class:`~agentdesk.server.auth.Principal`, ``problems.py`` answers every
failure as ``application/problem+json``, ``live.py`` fans database pokes out
to WebSockets, ``run.py`` starts uvicorn with the site's certificate.
"""
