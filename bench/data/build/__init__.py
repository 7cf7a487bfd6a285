"""Scripts that rebuild shipped data files from the package registries."""
