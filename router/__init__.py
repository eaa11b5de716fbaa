"""The preconfigured crossbar node: config, authentication and authorization code, launcher."""
