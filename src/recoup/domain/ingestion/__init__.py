"""The canonical event and how raw records become one."""
