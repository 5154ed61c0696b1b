"""The API simulator: a real HTTP server on loopback that speaks the Sharely contract, with scenarios and faults."""
