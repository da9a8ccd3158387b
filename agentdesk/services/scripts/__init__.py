"""Agent scripts (issue 13 item 2): guided steps per IVR intent, run beside the call.

``model`` (what a script is), ``loader`` (strict validation of
``resources/scripts/*.toml``), ``engine`` (one call's run: steps, answers, the ID&V
rule), ``calls`` (the runs of this desk's calls, read by the wrap-up). Qt-free.
"""
