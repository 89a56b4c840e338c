"""Redis connections (single, Cluster, Sentinel, TLS), command counting, the Lua helper."""
