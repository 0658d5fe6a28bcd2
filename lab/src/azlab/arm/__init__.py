"""HTTP/ARM layer: parse requests, route them to the models, serialise the answers."""
