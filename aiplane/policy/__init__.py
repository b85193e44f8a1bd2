"""The policy gate: checkov itself, run on what a stack synthesizes, with aiplane's checks, profiles and waivers."""
