"""One typed argument class per mutation, shared by the services that build mutations and
the mutators that apply them (desktop and centre alike). ``base`` holds the field types."""
