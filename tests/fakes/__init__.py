"""In-process fakes of the CRM APIs the connectors talk to, served over local HTTP for tests and benchmarks."""
