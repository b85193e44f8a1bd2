"""`make bench`: synthesis and planner figures (`synthesis`), then the gate at scale (`scale`)."""
