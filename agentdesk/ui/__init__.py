"""The only PySide6 code in agentdesk: windows, item models, delegates and the thread bridge.

Subpackages ``workspace``, ``timeline``, ``tickets`` and ``search`` hold the
customer workspace; the rest of this package is the agent desktop shell
(main window, login, agent state, screen pop, call controls, wrap-up).
"""
