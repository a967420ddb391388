"""Stacks: one regional stack class, instantiated for the primary and the standby."""
