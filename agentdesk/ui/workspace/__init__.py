"""Customer 360 workspace: header, contact points, masked PII, edit, history; tabs and docks."""
