"""Deployable units of the reference architecture, one Pulumi ComponentResource per module."""
