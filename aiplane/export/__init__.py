"""Exports of the resource graph in the shapes checkov reads: a Terraform plan and Kubernetes manifests."""
