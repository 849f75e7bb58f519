"""PSP and commerce webhook payloads, and their signature checks."""
