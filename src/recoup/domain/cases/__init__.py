"""Cases: owned work items with an SLA clock, and how findings open or join them."""
